package org.coedge.engine.cli;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.PreparedModel;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coedge info}: inputs, outputs, and every layer with its output shape and FLOPs. */
@Command(name = "info", description = "Print a model's inputs, outputs and layers with output shapes and FLOPs.")
final class InfoCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "ONNX model file.")
    Path model;

    @Option(names = "--shape", description = "Input dims NAME=1x3xHxW (or just 1x3xHxW for the first input); " +
        "needed where the model leaves dims dynamic.")
    List<String> shapes;

    @picocli.CommandLine.Mixin
    KernelOptions kernelOptions = new KernelOptions();

    @Override
    public Integer call()
    {
        kernelOptions.apply();
        final Model m = Model.load(model);
        final Map<String, long[]> dims = Shapes.parse(shapes, m.inputNames(), m);
        final PreparedModel p = m.prepare(dims);
        final var out = spec.commandLine().getOut();
        out.printf("model: %s (%s)%n", model, m.name());
        BlasReport.print(out, spec.commandLine().getErr());
        for (int i = 0; i < p.inputs().size(); i++)
        {
            out.printf("input  %-24s %s%n", p.inputs().get(i).name(), Arrays.toString(p.inputDims(i)));
        }
        for (int i = 0; i < p.outputs().size(); i++)
        {
            out.printf("output %-24s %s%n", p.outputs().get(i).name(), Arrays.toString(p.outputDims(i)));
        }
        out.printf("%-4s %-22s %-34s %-16s %12s%n", "#", "op", "name", "output (HxWxC)", "MFLOPs");
        int index = 0;
        for (final Layer layer : p.layers())
        {
            out.printf("%-4d %-22s %-34s %-16s %12.2f%n", index++, layer.opType(), clip(layer.name(), 34),
                layer.output().shape(), layer.flops() / 1e6);
        }
        out.printf("total: %d layers, %.3f GFLOPs, weights %.1f MiB, activation arena %.1f MiB " +
            "(%.1f MiB without reuse)%n", p.layers().size(), p.flops() / 1e9, p.weightBytes() / 1048576.0,
            p.arenaFloats() * 4.0 / 1048576.0, p.arenaFloatsWithoutReuse() * 4.0 / 1048576.0);
        return 0;
    }

    private static String clip(final String s, final int n)
    {
        return s.length() <= n ? s : "..." + s.substring(s.length() - n + 3);
    }
}
