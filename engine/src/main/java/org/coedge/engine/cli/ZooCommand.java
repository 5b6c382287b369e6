package org.coedge.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import java.util.SplittableRandom;

import org.coedge.engine.exits.ExitTable;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.zoo.ModelZoo;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code coedge zoo}: writes the built-in models (deterministic random weights) as ONNX files. */
@Command(name = "zoo", description = "Write the built-in zoo models (alexnet, vgg16, resnet18, googlenet, " +
    "mobilenetv2; with --name also the multi-exit branchy-resnet18 and its exit sidecar) as ONNX files with " +
    "deterministic random weights, and a sample input.npy.")
final class ZooCommand implements Callable<Integer>
{
    /** @return the sample input written beside the models: uniform in [-1, 1), fixed seed. */
    static float[] sampleInput()
    {
        final SplittableRandom random = new SplittableRandom(INPUT_SEED);
        final float[] x = new float[3 * 224 * 224];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)(random.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static final long[] INPUT_DIMS = {1, 3, 224, 224};
    private static final long INPUT_SEED = 20261124L;

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, description = "Directory to write into (created if missing).")
    Path out;

    @Option(names = "--name", description = "Only these models (repeatable).")
    List<String> names;

    @Override
    public Integer call() throws Exception
    {
        Files.createDirectories(out);
        final List<String> chosen = names == null ? ModelZoo.names() : names;
        for (final String name : chosen)
        {
            if (!ModelZoo.isKnown(name))
            {
                throw new IllegalArgumentException("unknown zoo model '" + name + "'; known: " + ModelZoo.names() +
                    " and the multi-exit " + ModelZoo.multiExitNames());
            }
            final Path file = out.resolve(name + ".onnx");
            Files.write(file, ModelZoo.build(name));
            spec.commandLine().getOut().printf("wrote %s (%.1f MiB)%n", file, Files.size(file) / 1048576.0);
            if (ModelZoo.multiExitNames().contains(name))
            {
                final Path sidecar = ExitTable.sidecarOf(file);
                ModelZoo.exitTable(name).write(sidecar);
                spec.commandLine().getOut().printf("wrote %s (%d exits, random weights: no accuracy)%n", sidecar,
                    ModelZoo.exitTable(name).size());
            }
        }
        final Path input = out.resolve("input.npy");
        TensorFiles.write(input, new HostTensor("input", INPUT_DIMS, sampleInput()));
        spec.commandLine().getOut().printf("wrote %s (a deterministic 1x3x224x224 input)%n", input);
        return 0;
    }
}
