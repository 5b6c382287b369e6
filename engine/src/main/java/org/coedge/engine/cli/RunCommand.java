package org.coedge.engine.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code coedge run}: one model on input files, on this machine; prints latency, writes outputs. */
@Command(name = "run", description = "Run a model on .npy / .pb inputs and write its outputs.")
final class RunCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "ONNX model file.")
    Path model;

    @Option(names = "--input", required = true, description = "Input tensor file (.npy or .pb, NCHW float32); " +
        "repeat in model input order.")
    List<Path> inputs;

    @Option(names = "--output", description = "Output tensor file (.npy or .pb); repeat in model output order.")
    List<Path> outputs;

    @Option(names = "--threads", defaultValue = "1", description = "Worker threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--repeat", defaultValue = "1", description = "Timed runs after the warm-up (default " +
        "${DEFAULT-VALUE}: a single run, no warm-up).")
    int repeat;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed runs before timing when --repeat > 1 " +
        "(default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Option(names = "--profile", description = "Also print the time of every layer, summed over the timed runs.")
    boolean profile;

    @Option(names = "--split", split = ",", description = "Split every feature map's rows over simulated devices " +
        "in this process by these shares, e.g. 0.5,0.3,0.2 (one thread per device; --threads is then ignored).")
    double[] split;

    @Option(names = "--fuse", defaultValue = "1", description = "With --split: layers per fused block (1: halo " +
        "exchange after every layer).")
    int fuse;

    @Override
    public Integer call() throws Exception
    {
        if (repeat < 1 || warmup < 0)
        {
            throw new IllegalArgumentException("--repeat must be >= 1 and --warmup >= 0");
        }
        final Model m = Model.load(model);
        final List<String> names = m.inputNames();
        if (inputs.size() != names.size())
        {
            throw new IllegalArgumentException("model has " + names.size() + " input(s) " + names + ", got " +
                inputs.size() + " --input");
        }
        if (outputs != null && outputs.size() > m.outputNames().size())
        {
            throw new IllegalArgumentException("model has " + m.outputNames().size() + " output(s), got " +
                outputs.size() + " --output");
        }
        final List<HostTensor> tensors = new ArrayList<>();
        final SessionOptions options = SessionOptions.threads(threads);
        for (int i = 0; i < names.size(); i++)
        {
            final HostTensor t = TensorFiles.read(inputs.get(i));
            tensors.add(t);
            options.withInputDims(names.get(i), t.dims());
        }
        if (split != null)
        {
            return runSplit(m, options, tensors);
        }
        final long[] latencyNs = new long[repeat];
        final Map<String, long[]> outDims = new LinkedHashMap<>();
        final var out = spec.commandLine().getOut();
        try (Session session = m.newSession(options))
        {
            final long[] layerNanos = new long[session.prepared().layers().size()];
            for (int i = 0; i < tensors.size(); i++)
            {
                session.setInput(i, tensors.get(i).data());
            }
            for (int i = 0; repeat > 1 && i < warmup; i++)
            {
                session.run();
            }
            for (int i = 0; i < repeat; i++)
            {
                final long start = System.nanoTime();
                if (profile)
                {
                    session.run(layerNanos);
                }
                else
                {
                    session.run();
                }
                latencyNs[i] = System.nanoTime() - start;
            }
            if (profile)
            {
                printProfile(out, session, layerNanos);
            }
            for (int i = 0; i < session.outputCount(); i++)
            {
                outDims.put(session.outputName(i), session.outputDims(i));
                if (outputs != null && i < outputs.size())
                {
                    TensorFiles.write(outputs.get(i),
                        new HostTensor(session.outputName(i), session.outputDims(i), session.output(i)));
                }
            }
        }
        Arrays.sort(latencyNs);
        final double minMs = latencyNs[0] / 1e6;
        final double medianMs = (latencyNs[(repeat - 1) / 2] + latencyNs[repeat / 2]) / 2e6;
        if (json)
        {
            final StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT,
                "{\"model\": \"%s\", \"threads\": %d, \"repeat\": %d, \"latency_ms\": {\"min\": %.4f, " +
                "\"median\": %.4f}, \"outputs\": [", Json.escape(model.toString()), threads, repeat, minMs,
                medianMs));
            int i = 0;
            for (final Map.Entry<String, long[]> e : outDims.entrySet())
            {
                sb.append(i > 0 ? ", " : "").append("{\"name\": \"").append(Json.escape(e.getKey()))
                    .append("\", \"dims\": ").append(Arrays.toString(e.getValue()));
                if (outputs != null && i < outputs.size())
                {
                    sb.append(", \"file\": \"").append(Json.escape(outputs.get(i).toString())).append('"');
                }
                sb.append('}');
                i++;
            }
            out.println(sb.append("]}"));
        }
        else
        {
            for (final Map.Entry<String, long[]> e : outDims.entrySet())
            {
                out.printf("output %s %s%n", e.getKey(), Arrays.toString(e.getValue()));
            }
            out.printf(Locale.ROOT, "latency ms: min %.3f median %.3f (%d run%s, %d thread%s)%n", minMs, medianMs,
                repeat, repeat == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
        }
        return 0;
    }

    /** Runs the model split over simulated devices with the in-process exchange. */
    private int runSplit(final Model m, final SessionOptions options, final List<HostTensor> tensors) throws Exception
    {
        if (profile)
        {
            throw new IllegalArgumentException("--profile is not supported with --split yet");
        }
        if (fuse < 1)
        {
            throw new IllegalArgumentException("--fuse must be >= 1: " + fuse);
        }
        final org.coedge.engine.exec.PreparedModel whole = m.prepare(options.inputDims());
        final org.coedge.planner.LayerGraph graph = org.coedge.engine.exec.PlanGraphs.of(whole);
        final org.coedge.planner.Plan plan = org.coedge.planner.Planner.uniform(graph, split, fuse);
        final long[] latencyNs = new long[repeat];
        final var out = spec.commandLine().getOut();
        try (org.coedge.engine.exec.SplitExecutor executor =
            org.coedge.engine.exec.SplitExecutor.create(m, options.inputDims(), whole, graph, plan))
        {
            for (int d = 0; d < split.length; d++)
            {
                out.printf(Locale.ROOT, "device %d: activation arena %.1f MiB (unsplit %.1f MiB)%n", d,
                    executor.arenaBytes(d) / 1048576.0, whole.arenaFloats() * 4.0 / 1048576.0);
            }
            for (int i = 0; i < tensors.size(); i++)
            {
                executor.setInput(i, tensors.get(i).data());
            }
            for (int i = 0; repeat > 1 && i < warmup; i++)
            {
                executor.run();
            }
            for (int i = 0; i < repeat; i++)
            {
                final long start = System.nanoTime();
                executor.run();
                latencyNs[i] = System.nanoTime() - start;
            }
            final org.coedge.engine.exec.PreparedModel p = executor.model();
            for (int i = 0; i < p.outputs().size(); i++)
            {
                final float[] data = new float[p.outputs().get(i).shape().size()];
                executor.outputInto(i, data);
                out.printf("output %s %s%n", p.outputs().get(i).name(), Arrays.toString(p.outputDims(i)));
                if (outputs != null && i < outputs.size())
                {
                    TensorFiles.write(outputs.get(i), new HostTensor(p.outputs().get(i).name(), p.outputDims(i), data));
                }
            }
        }
        Arrays.sort(latencyNs);
        out.printf(Locale.ROOT, "latency ms: min %.3f median %.3f (%d run%s, split over %d simulated devices, " +
            "fuse %d, %d stages)%n", latencyNs[0] / 1e6, (latencyNs[(repeat - 1) / 2] + latencyNs[repeat / 2]) / 2e6,
            repeat, repeat == 1 ? "" : "s", split.length, fuse, plan.stages().size());
        return 0;
    }

    private void printProfile(final java.io.PrintWriter out, final Session session, final long[] layerNanos)
    {
        final List<org.coedge.engine.exec.Layer> layers = session.prepared().layers();
        long total = 0;
        for (final long t : layerNanos)
        {
            total += t;
        }
        out.printf("%-4s %-22s %-34s %-14s %10s %6s %9s%n", "#", "op", "name", "output", "ms/run", "%", "GFLOP/s");
        for (int i = 0; i < layers.size(); i++)
        {
            final org.coedge.engine.exec.Layer l = layers.get(i);
            final double ms = layerNanos[i] / 1e6 / repeat;
            out.printf(Locale.ROOT, "%-4d %-22s %-34s %-14s %10.3f %6.1f %9.2f%n", i, l.opType(),
                l.name().length() > 34 ? l.name().substring(l.name().length() - 34) : l.name(), l.output().shape(), ms,
                100.0 * layerNanos[i] / Math.max(1, total), ms > 0 ? l.flops() / (ms * 1e6) : 0.0);
        }
    }
}
