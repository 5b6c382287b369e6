package org.coedge.jmh;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.Layouts;
import org.coedge.engine.exec.LocalExecutor;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.Value;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.kernels.Blas;

/**
 * Where a zoo model's single-thread time goes: runs each layer of the prepared model alone on the calling thread
 * ({@link LocalExecutor#runLayer(int)}) and prints its best time of several runs, its GFLOP/s and its share, then the
 * totals per operator type. Not a JMH benchmark (no forks, no blackholes): a quick profile that says which layer to
 * look at when {@link ModelLatencyBenchmark} shows a bad ratio.
 * <pre>
 * java --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -cp jmh/target/benchmarks.jar \
 *     org.coedge.jmh.LayerProfile resnet18 [runs] [fraction]      (or ppocr_det_v4)
 * </pre>
 * With a {@code fraction} (say 0.5) it also times the first {@code fraction} of each layer's units (output rows, the
 * share one device of a row split computes) and prints the part's time over the whole's: a layer whose ratio stays
 * near 1 costs as much on every device of a split as on one device alone.
 * Single-threaded command-line tool.
 */
public final class LayerProfile
{
    private static final int WARMUP_RUNS = 5;

    private LayerProfile()
    {
    }

    public static void main(final String[] args)
    {
        if (args.length < 1)
        {
            System.err.println("usage: LayerProfile <" + String.join("|", ModelZoo.names()) + "|" +
                ModelLatencyBenchmark.PP_OCR_DET + "> [runs] [fraction]");
            System.exit(2);
        }
        final String name = args[0];
        final int runs = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        final double fraction = args.length > 2 ? Double.parseDouble(args[2]) : 0;
        if (args.length > 2 && !(fraction > 0 && fraction < 1))
        {
            System.err.println("fraction must be in (0, 1), got " + args[2]);
            System.exit(2);
        }
        // a zoo model, or PP-OCRv4 det at 640x640 (ModelLatencyBenchmark's real-model row)
        final ModelLatencyBenchmark.EngineState state = new ModelLatencyBenchmark.EngineState();
        state.model = name;
        final byte[] bytes = state.load();
        final PreparedModel prepared = Model.load(bytes, name + ".onnx").prepare(Map.of(state.inputName,
            state.inputDims));
        Blas.setThreads(1);
        try (LocalExecutor executor = new LocalExecutor(prepared, 1))
        {
            final Value input = prepared.inputs().get(0);
            Layouts.nchwToNhwc(state.input, 0, executor.arena().floats(), input.offset(), input.shape());
            final List<Layer> layers = prepared.layers();
            final long[] bestNs = new long[layers.size()];
            final long[] partNs = new long[layers.size()];
            Arrays.fill(bestNs, Long.MAX_VALUE);
            Arrays.fill(partNs, Long.MAX_VALUE);
            for (int run = 0; run < WARMUP_RUNS + runs; run++)
            {
                for (int i = 0; i < layers.size(); i++)
                {
                    final long t0 = System.nanoTime();
                    executor.runLayer(i);
                    final long ns = System.nanoTime() - t0;
                    if (run >= WARMUP_RUNS)
                    {
                        bestNs[i] = Math.min(bestNs[i], ns);
                    }
                }
                if (fraction > 0)
                {
                    timeParts(executor, layers, fraction, run >= WARMUP_RUNS ? partNs : null);
                }
            }
            print(name, layers, bestNs);
            if (fraction > 0)
            {
                printParts(layers, fraction, bestNs, partNs);
            }
        }
    }

    private static void timeParts(
        final LocalExecutor executor, final List<Layer> layers, final double fraction, final long[] partNs)
    {
        for (int i = 0; i < layers.size(); i++)
        {
            final Layer layer = layers.get(i);
            final int to = layer.isGlobal() ? layer.units() : Math.max(1, (int)Math.round(layer.units() * fraction));
            final long t0 = System.nanoTime();
            executor.runLayer(i, 0, to);
            final long ns = System.nanoTime() - t0;
            if (partNs != null)
            {
                partNs[i] = Math.min(partNs[i], ns);
            }
        }
    }

    private static void printParts(
        final List<Layer> layers, final double fraction, final long[] bestNs, final long[] partNs)
    {
        System.out.printf(Locale.ROOT, "%nfirst %.3f of each layer's units against the whole layer:%n", fraction);
        System.out.printf(Locale.ROOT, "%4s %-22s %-16s %9s %9s %6s %10s%n",
            "#", "op", "output", "whole ms", "part ms", "ratio", "weights KB");
        long whole = 0;
        long part = 0;
        for (int i = 0; i < layers.size(); i++)
        {
            final Layer layer = layers.get(i);
            whole += bestNs[i];
            part += partNs[i];
            System.out.printf(Locale.ROOT, "%4d %-22s %-16s %9.3f %9.3f %6.2f %10d%n", i, layer.opType(),
                layer.output().shape(), bestNs[i] / 1e6, partNs[i] / 1e6, partNs[i] / (double)bestNs[i],
                layer.weightBytes() / 1024);
        }
        System.out.printf(Locale.ROOT, "total: whole %.2f ms, part %.2f ms, ratio %.3f (ideal %.3f)%n",
            whole / 1e6, part / 1e6, part / (double)whole, fraction);
    }

    private static void print(final String name, final List<Layer> layers, final long[] bestNs)
    {
        final long totalNs = Arrays.stream(bestNs).sum();
        System.out.printf(Locale.ROOT, "%s: %d layers, sum of best per-layer times %.2f ms (1 thread)%n",
            name, layers.size(), totalNs / 1e6);
        System.out.printf(Locale.ROOT, "%4s %-22s %-28s %-16s %9s %8s %6s%n",
            "#", "op", "name", "output", "ms", "GFLOP/s", "share");
        final Map<String, long[]> byOp = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++)
        {
            final Layer layer = layers.get(i);
            System.out.printf(Locale.ROOT, "%4d %-22s %-28s %-16s %9.3f %8.2f %5.1f%%%n",
                i, layer.opType(), abbreviate(layer.name()), layer.output().shape(), bestNs[i] / 1e6,
                layer.flops() / (double)bestNs[i], 100.0 * bestNs[i] / totalNs);
            final long[] sums = byOp.computeIfAbsent(layer.opType(), ignored -> new long[2]);
            sums[0] += bestNs[i];
            sums[1] += layer.flops();
        }
        System.out.printf(Locale.ROOT, "%nper operator:%n%-22s %9s %8s %6s%n", "op", "ms", "GFLOP/s", "share");
        byOp.entrySet().stream()
            .sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]))
            .forEach(e -> System.out.printf(Locale.ROOT, "%-22s %9.3f %8.2f %5.1f%%%n", e.getKey(),
                e.getValue()[0] / 1e6, e.getValue()[1] / (double)e.getValue()[0], 100.0 * e.getValue()[0] / totalNs));
    }

    private static String abbreviate(final String s)
    {
        return s.length() <= 28 ? s : s.substring(0, 12) + "…" + s.substring(s.length() - 15);
    }
}
