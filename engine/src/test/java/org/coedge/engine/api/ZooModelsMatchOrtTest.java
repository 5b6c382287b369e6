package org.coedge.engine.api;

import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ZooModelsMatchOrtTest
{
    @ParameterizedTest
    @ValueSource(strings = {"alexnet", "resnet18", "googlenet", "mobilenetv2", "vgg16"})
    void shouldMatchOnnxRuntimeOnEveryZooModel(final String name)
    {
        final double rel = OracleSupport.assertMatchesOrt(ModelZoo.build(name), name, new long[] {1, 3, 224, 224}, 2);
        System.out.printf("%s: max abs error / max |ref| = %.3g%n", name, rel);
    }
}
