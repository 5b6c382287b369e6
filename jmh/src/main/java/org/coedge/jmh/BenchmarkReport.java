package org.coedge.jmh;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link ConvVsSgemmBenchmark} and {@link ModelLatencyBenchmark} through the JMH Runner API and prints the ratios
 * they exist for: per layer conv / sgemm and conv / ONNX Runtime GFLOP/s, per model and thread count engine / ONNX
 * Runtime latency. Both sides of a ratio come from the same run, one after the other, on the same machine.
 * <pre>
 * java -cp jmh/target/benchmarks.jar org.coedge.jmh.BenchmarkReport [quick] [conv] [models]
 * </pre>
 * {@code quick} measures a few layers and two models briefly (a smoke test of the numbers, minutes); without it every
 * layer and model is measured with the benchmarks' own settings. {@code conv} or {@code models} picks one of the two
 * suites (both by default). Single-threaded command-line tool.
 */
public final class BenchmarkReport
{
    /** Goal for a dense layer's conv / sgemm GFLOP/s. */
    private static final double CONV_GOAL = 0.85;
    /** Goal for engine / ONNX Runtime latency. */
    private static final double LATENCY_GOAL = 1.0;

    private static final String[] QUICK_LAYERS = {
        "r18_c3_28x28x128_128", "r18_c1_28x28x128_256_s2", "vgg_c3_28x28x512_512", "mv2_c1_28x28x32_192",
        "mv2_dw_56x56x144",
    };
    private static final String[] QUICK_MODELS = { "resnet18", "mobilenetv2" };

    private BenchmarkReport()
    {
    }

    public static void main(final String[] args) throws RunnerException
    {
        boolean quick = false;
        boolean conv = false;
        boolean models = false;
        for (final String arg : args)
        {
            switch (arg)
            {
                case "quick":
                    quick = true;
                    break;
                case "conv":
                    conv = true;
                    break;
                case "models":
                    models = true;
                    break;
                default:
                    System.err.println("usage: BenchmarkReport [quick] [conv] [models]; unknown argument '" + arg +
                        "'");
                    System.exit(2);
            }
        }
        if (!conv && !models)
        {
            conv = true;
            models = true;
        }

        final List<String> tables = new ArrayList<>();
        if (conv)
        {
            tables.add(convTable(run(convOptions(quick))));
        }
        if (models)
        {
            tables.add(latencyTable(run(modelOptions(quick))));
        }
        final PrintStream out = System.out;
        out.println();
        tables.forEach(out::println);
    }

    private static ChainedOptionsBuilder convOptions(final boolean quick)
    {
        final ChainedOptionsBuilder options = new OptionsBuilder()
            .include(pattern(ConvVsSgemmBenchmark.class));
        if (quick)
        {
            options.param("layer", QUICK_LAYERS)
                .warmupIterations(1).warmupTime(TimeValue.seconds(1))
                .measurementIterations(2).measurementTime(TimeValue.seconds(1));
        }
        return options;
    }

    private static ChainedOptionsBuilder modelOptions(final boolean quick)
    {
        final ChainedOptionsBuilder options = new OptionsBuilder()
            .include(pattern(ModelLatencyBenchmark.class));
        if (quick)
        {
            options.param("model", QUICK_MODELS)
                .warmupIterations(1).warmupTime(TimeValue.seconds(1))
                .measurementIterations(2).measurementTime(TimeValue.seconds(2));
        }
        return options;
    }

    private static String pattern(final Class<?> benchmark)
    {
        return "^" + benchmark.getName().replace(".", "\\.") + "\\.";
    }

    private static Collection<RunResult> run(final ChainedOptionsBuilder options) throws RunnerException
    {
        return new Runner(options.build()).run();
    }

    /** Rows: layers in run order; columns: GFLOP/s of conv, sgemm and ort, then the ratios. */
    static String convTable(final Collection<RunResult> results)
    {
        final Map<String, Map<String, Result<?>>> byLayer = group(results, "layer");
        final StringBuilder sb = new StringBuilder();
        sb.append("Convolution, 1 thread, GFLOP/s = flops x ops/s (conv: engine ConvKernel incl. bias+ReLU; sgemm: " +
            "Blas.sgemm per group; ort: ONNX Runtime Conv+Relu alone)\n");
        sb.append(String.format(Locale.ROOT, "%-26s %14s %14s %14s %10s %9s%n",
            "layer", "conv", "sgemm", "ort", "conv/sgemm", "conv/ort"));
        for (final Map.Entry<String, Map<String, Result<?>>> row : byLayer.entrySet())
        {
            final ConvLayerShape shape = ConvLayerShape.parse(row.getKey());
            final double gflop = shape.flops() / 1e9;
            final Result<?> conv = row.getValue().get("conv");
            final Result<?> sgemm = row.getValue().get("sgemm");
            final Result<?> ort = row.getValue().get("ort");
            final double convOverSgemm = ratio(conv, sgemm);
            sb.append(String.format(Locale.ROOT, "%-26s %14s %14s %14s %10s %9s%s%n",
                row.getKey(), scaled(conv, gflop), scaled(sgemm, gflop), scaled(ort, gflop),
                format(convOverSgemm), format(ratio(conv, ort)),
                shape.isDepthwise() ? "  (dw: sgemm = grouped N=1 GEMMs)" :
                    convOverSgemm < CONV_GOAL ? "  below " + CONV_GOAL : ""));
        }
        return sb.toString();
    }

    /** Rows: model and thread count; columns: mean latency of engine and ort, then their ratio. */
    static String latencyTable(final Collection<RunResult> results)
    {
        final Map<String, Map<String, Result<?>>> byModel = group(results, "model", "threads");
        final StringBuilder sb = new StringBuilder();
        sb.append("End-to-end latency, ms/inference (mean ± 99.9% CI), engine vs ONNX Runtime\n");
        sb.append(String.format(Locale.ROOT, "%-22s %18s %18s %11s%n", "model threads", "engine", "ort",
            "engine/ort"));
        for (final Map.Entry<String, Map<String, Result<?>>> row : byModel.entrySet())
        {
            final double r = ratio(row.getValue().get("engine"), row.getValue().get("ort"));
            sb.append(String.format(Locale.ROOT, "%-22s %18s %18s %11s%s%n",
                row.getKey(), scaled(row.getValue().get("engine"), 1), scaled(row.getValue().get("ort"), 1),
                format(r), r > LATENCY_GOAL ? "  above " + LATENCY_GOAL : ""));
        }
        return sb.toString();
    }

    /** Groups primary results by the values of {@code keys} (in run order), then by benchmark method name. */
    private static Map<String, Map<String, Result<?>>> group(final Collection<RunResult> results,
        final String... keys)
    {
        final Map<String, Map<String, Result<?>>> rows = new LinkedHashMap<>();
        for (final RunResult result : results)
        {
            final StringBuilder key = new StringBuilder();
            for (final String k : keys)
            {
                key.append(key.length() == 0 ? "" : " ").append(result.getParams().getParam(k));
            }
            final String benchmark = result.getParams().getBenchmark();
            final String method = benchmark.substring(benchmark.lastIndexOf('.') + 1);
            rows.computeIfAbsent(key.toString(), ignored -> new LinkedHashMap<>())
                .put(method, result.getPrimaryResult());
        }
        return rows;
    }

    private static double ratio(final Result<?> numerator, final Result<?> denominator)
    {
        return numerator == null || denominator == null ? Double.NaN :
            numerator.getScore() / denominator.getScore();
    }

    private static String scaled(final Result<?> result, final double factor)
    {
        if (result == null)
        {
            return "-";
        }
        final double error = result.getScoreError();
        return Double.isNaN(error) ?
            String.format(Locale.ROOT, "%.2f", result.getScore() * factor) :
            String.format(Locale.ROOT, "%.2f ± %.2f", result.getScore() * factor, error * factor);
    }

    private static String format(final double ratio)
    {
        return Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.2f", ratio);
    }
}
