package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.Lowering;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.RowRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The lowering folds every residual {@code Add} (and the ReLU after it) of ResNet-18 and MobileNetV2 into the
 * convolution before it: no Add layer is left, each fused layer reads its residual operand row for row (identity row
 * map, so a split slices it like the output), and the model still matches ONNX Runtime on the same file and input
 * within max abs error / max |reference| <= 1e-4. With {@code -Dcoedge.fuseResidual=false} the Adds stay layers.
 * Split against unsplit with the fused layers is {@link SplitMatchesUnsplitTest}'s job (it runs these models).
 */
class ResidualFusionTest
{
    @ParameterizedTest
    @CsvSource({"resnet18, 8, 1", "mobilenetv2, 10, 2"})
    void shouldFuseEveryResidualAddAndMatchOnnxRuntime(final String name, final int adds, final int threads)
    {
        final byte[] bytes = ModelZoo.build(name);
        final PreparedModel fused = Model.load(bytes, name).prepare(Map.of(), Lowering.RowWindows.FULL, true);
        int count = 0;
        for (final Layer layer : fused.layers())
        {
            assertTrue(!layer.opType().startsWith("Add"), layer + " is left unfused");
            if (layer.opType().contains("+Add"))
            {
                count++;
                assertEquals(2, layer.inputs().size(), layer + " inputs");
                assertEquals(layer.output().shape(), layer.inputs().get(1).shape(), layer + " residual shape");
                final int h = layer.output().shape().height();
                final RowRange rows = RowRange.of(h / 3, h / 3 + Math.max(1, h / 4));
                assertEquals(rows, layer.inputRows(1, rows), layer + " residual row map");
            }
        }
        assertEquals(adds, count, "fused residual Adds in " + name);

        final String previous = System.getProperty(Lowering.RESIDUAL_FUSION_PROPERTY);
        System.setProperty(Lowering.RESIDUAL_FUSION_PROPERTY, "false");
        try
        {
            final PreparedModel unfused = Model.load(bytes, name).prepare(Map.of(), Lowering.RowWindows.FULL, true);
            assertEquals(adds, unfused.layers().stream().filter(l -> l.opType().startsWith("Add")).count(),
                "Add layers with the fusion off");
            assertEquals(fused.layers().size() + adds, unfused.layers().size(), "layers with the fusion off");
        }
        finally
        {
            if (previous == null)
            {
                System.clearProperty(Lowering.RESIDUAL_FUSION_PROPERTY);
            }
            else
            {
                System.setProperty(Lowering.RESIDUAL_FUSION_PROPERTY, previous);
            }
        }

        final double rel = OracleSupport.assertMatchesOrt(bytes, name, new long[] {1, 3, 224, 224}, threads);
        System.out.printf("%s with %d fused residual Adds: max abs error / max |ref| = %.3g%n", name, adds, rel);
    }
}
