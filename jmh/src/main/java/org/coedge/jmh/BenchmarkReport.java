package org.coedge.jmh;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs {@link ConvVsSgemmBenchmark} and {@link ModelLatencyBenchmark} through the JMH Runner API and prints the ratios
 * they exist for: per layer conv / sgemm and conv / ONNX Runtime GFLOP/s, per model and thread count engine / ONNX
 * Runtime latency.
 * <p>
 * On a shared machine the speed drifts over minutes, and plain JMH would run every layer of one benchmark before the
 * next benchmark. So the report runs the two (or three) sides of a ratio one right after the other, each in its own
 * fork, group by group (a layer, or a model and thread count), rotating which side goes first from round to round;
 * a ratio is taken within one group of one round, and the table shows its median over rounds. Besides the ratio of
 * means it shows the ratio of best iterations, the least disturbed estimate when the machine is noisy.
 * <pre>
 * java -cp jmh/target/benchmarks.jar org.coedge.jmh.BenchmarkReport [quick] [conv] [models] [rounds=N] \
 *     [layer=a,b] [model=a,b] [threads=1,2]
 * </pre>
 * {@code quick} measures a few layers and two models briefly (one short fork each, a model's warmed up for 4 s;
 * minutes); without it every layer and
 * model of the benchmarks' {@code @Param} lists is measured with the benchmarks' own iteration settings. {@code conv}
 * or {@code models} picks one of the two suites (both by default); {@code rounds} defaults to 1; {@code layer},
 * {@code model} and {@code threads} replace a parameter's list. Single-threaded
 * command-line tool.
 */
public final class BenchmarkReport
{
    /** Goal for a dense layer's conv / sgemm GFLOP/s. */
    private static final double CONV_GOAL = 0.85;
    /** Goal for engine / ONNX Runtime latency. */
    private static final double LATENCY_GOAL = 1.0;

    private static final String[] CONV_METHODS = { "conv", "sgemm", "ort", "winograd", "plain" };
    private static final String[] MODEL_METHODS = { "engine", "ort" };
    private static final String[] QUICK_LAYERS = {
        "r18_c3_28x28x128_128", "r18_c1_28x28x128_256_s2", "vgg_c3_28x28x512_512", "mv2_c1_28x28x32_192",
        "mv2_dw_56x56x144",
    };
    private static final String[] QUICK_MODELS = { "resnet18", "mobilenetv2" };

    private final boolean quick;
    private final int rounds;
    private final Map<String, String[]> overrides;
    private final PrintStream log = System.out;

    private BenchmarkReport(final boolean quick, final int rounds, final Map<String, String[]> overrides)
    {
        this.quick = quick;
        this.rounds = rounds;
        this.overrides = overrides;
    }

    public static void main(final String[] args) throws RunnerException
    {
        boolean quick = false;
        boolean conv = false;
        boolean models = false;
        int rounds = 1;
        final Map<String, String[]> overrides = new LinkedHashMap<>();
        for (final String arg : args)
        {
            if ("quick".equals(arg))
            {
                quick = true;
            }
            else if ("conv".equals(arg))
            {
                conv = true;
            }
            else if ("models".equals(arg))
            {
                models = true;
            }
            else if (arg.startsWith("rounds=") && arg.length() > "rounds=".length())
            {
                rounds = Integer.parseInt(arg.substring("rounds=".length()));
            }
            else if (arg.matches("(layer|model|threads)=[^=]+"))
            {
                final int eq = arg.indexOf('=');
                overrides.put(arg.substring(0, eq), arg.substring(eq + 1).split(","));
            }
            else
            {
                System.err.println("usage: BenchmarkReport [quick] [conv] [models] [rounds=N] [layer=a,b] [model=a,b] " +
                    "[threads=1,2]; unknown argument '" +
                    arg + "'");
                System.exit(2);
            }
        }
        if (!conv && !models)
        {
            conv = true;
            models = true;
        }

        printBlasCore();
        final BenchmarkReport report = new BenchmarkReport(quick, Math.max(1, rounds), overrides);
        final List<String> tables = new ArrayList<>();
        if (conv)
        {
            tables.add(report.convTable(report.measureConv()));
        }
        if (models)
        {
            tables.add(report.latencyTable(report.measureModels()));
        }
        System.out.println();
        tables.forEach(System.out::println);
        printBlasCore();
    }

    private static boolean blasCorePrinted;

    /**
     * Prints which OpenBLAS kernels run ({@code openblas core: ...}) and the warning when the environment forces
     * older ones than the CPU supports: the report's ratios depend on it. Benchmarks call it from their setup, once
     * per JVM; the report prints it before and after its tables.
     */
    static synchronized void printBlasCore()
    {
        final org.coedge.kernels.BlasCore core = org.coedge.kernels.BlasCore.current();
        System.out.println("# openblas core: " + core.describe());
        // the benchmark forks run with ConvVsSgemmBenchmark.VECTOR; this JVM (the report's own) may not
        final boolean inJdk = java.lang.module.ModuleFinder.ofSystem().find("jdk.incubator.vector").isPresent();
        System.out.println("# depthwise loop: " + (org.coedge.kernels.DepthwiseConv2d.vectorByDefault() ?
            "Vector API" : inJdk ? "Vector API in the benchmark forks (" + ConvVsSgemmBenchmark.VECTOR + ")" :
            "plain Java (this JDK has no jdk.incubator.vector)"));
        if (core.warning() != null)
        {
            System.out.println("# " + core.warning());
        }
        blasCorePrinted = true;
    }

    /** As {@link #printBlasCore()}, unless this JVM printed it already. */
    static synchronized void printBlasCoreOnce()
    {
        if (!blasCorePrinted)
        {
            printBlasCore();
        }
    }

    /** @return per layer, per method, one measure per round. */
    private Map<String, Map<String, List<Measure>>> measureConv() throws RunnerException
    {
        final String[] layers = overrides.getOrDefault("layer",
            quick ? QUICK_LAYERS : params(ConvVsSgemmBenchmark.LayerState.class, "layer"));
        final Map<String, Map<String, List<Measure>>> table = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++)
        {
            for (final String layer : layers)
            {
                for (final String method : rotate(CONV_METHODS, round))
                {
                    if (method.equals("winograd") &&
                        !org.coedge.kernels.WinogradConv2d.supports(ConvLayerShape.parse(layer).params()))
                    {
                        continue;
                    }
                    if (method.equals("plain") && !ConvLayerShape.parse(layer).isDepthwise())
                    {
                        continue;
                    }
                    final Measure m = measure(ConvVsSgemmBenchmark.class, method, true, round,
                        new String[]{ "layer", layer });
                    table.computeIfAbsent(layer, ignored -> new LinkedHashMap<>())
                        .computeIfAbsent(method, ignored -> new ArrayList<>()).add(m);
                }
            }
        }
        return table;
    }

    /** @return per "model threads", per method, one measure per round. */
    private Map<String, Map<String, List<Measure>>> measureModels() throws RunnerException
    {
        final String[] models = overrides.getOrDefault("model",
            quick ? QUICK_MODELS : params(ModelLatencyBenchmark.ModelState.class, "model"));
        final String[] threads = overrides.getOrDefault("threads",
            params(ModelLatencyBenchmark.ModelState.class, "threads"));
        final Map<String, Map<String, List<Measure>>> table = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++)
        {
            for (final String model : models)
            {
                for (final String t : threads)
                {
                    for (final String method : rotate(MODEL_METHODS, round))
                    {
                        final Measure m = measure(ModelLatencyBenchmark.class, method, false, round,
                            new String[]{ "model", model, "threads", t });
                        table.computeIfAbsent(model + " " + t, ignored -> new LinkedHashMap<>())
                            .computeIfAbsent(method, ignored -> new ArrayList<>()).add(m);
                    }
                }
            }
        }
        return table;
    }

    /** Runs one benchmark method for one parameter combination in one fork. */
    private Measure measure(
        final Class<?> benchmark, final String method, final boolean higherIsBetter, final int round,
        final String[] keyValues) throws RunnerException
    {
        final ChainedOptionsBuilder options = new OptionsBuilder()
            .include("^" + benchmark.getName().replace(".", "\\.") + "\\." + method + "$")
            .verbosity(VerboseMode.SILENT)
            .shouldFailOnError(true);
        for (int i = 0; i < keyValues.length; i += 2)
        {
            options.param(keyValues[i], keyValues[i + 1]);
        }
        if (quick)
        {
            // a model fork warms up for 4 s: after 1 s the engine's Java loops (the Vector API depthwise loop above
            // all) were still short of C2 and MobileNetV2 ran at twice its warm time (21 ms against the 11 ms that
            // LayerProfile's warm layers add up to), which ONNX Runtime's native code does not suffer
            options.warmupIterations(higherIsBetter ? 1 : 2).warmupTime(TimeValue.seconds(higherIsBetter ? 1 : 2))
                .measurementIterations(2).measurementTime(TimeValue.seconds(higherIsBetter ? 1 : 2));
        }
        final RunResult run = single(new Runner(options.build()).run());
        final Result<?> primary = run.getPrimaryResult();
        double best = higherIsBetter ? 0 : Double.MAX_VALUE;
        for (final BenchmarkResult fork : run.getBenchmarkResults())
        {
            for (final IterationResult iteration : fork.getIterationResults())
            {
                final double score = iteration.getPrimaryResult().getScore();
                best = higherIsBetter ? Math.max(best, score) : Math.min(best, score);
            }
        }
        final Measure m = new Measure(primary.getScore(), primary.getScoreError(), best);
        log.printf(Locale.ROOT, "[round %d/%d] %s.%s %s: %.3f ± %.3f %s (best %.3f)%n", round + 1, rounds,
            benchmark.getSimpleName(), method, String.join(" ", keyValues), m.mean, m.error,
            primary.getScoreUnit(), m.best);
        return m;
    }

    private String convTable(final Map<String, Map<String, List<Measure>>> table)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("Convolution, 1 thread. GFLOP/s = flops x ops/s (median over rounds of the mean). conv: engine " +
            "ConvKernel.forward incl. bias+ReLU; sgemm: Blas.sgemm of the same GEMM shape, per group; ort: ONNX " +
            "Runtime Conv+Relu alone; wino: Winograd F(4x4, 3x3) (3x3 stride-1 layers), GFLOP/s of the direct " +
            "conv's flops; plain: the depthwise kernel's plain-Java loop (conv runs the Vector API loop where the JVM " +
            "has it). Ratios: median over " + rounds + " round(s); 'best' = ratio of best iterations.\n");
        sb.append(String.format(Locale.ROOT, "%-25s %7s %7s %7s %7s %7s %10s %6s %9s %6s %9s %10s%n",
            "layer", "conv", "sgemm", "ort", "wino", "plain", "conv/sgemm", "best", "conv/ort", "best", "wino/ort",
            "plain/ort"));
        for (final Map.Entry<String, Map<String, List<Measure>>> row : table.entrySet())
        {
            final ConvLayerShape shape = ConvLayerShape.parse(row.getKey());
            final double gflop = shape.flops() / 1e9;
            final List<Measure> conv = row.getValue().get("conv");
            final List<Measure> sgemm = row.getValue().get("sgemm");
            final List<Measure> ort = row.getValue().get("ort");
            final List<Measure> wino = row.getValue().get("winograd");
            final List<Measure> plain = row.getValue().get("plain");
            final double convOverSgemm = medianRatio(conv, sgemm, false);
            sb.append(String.format(Locale.ROOT,
                "%-25s %7.1f %7.1f %7.1f %7s %7s %10.2f %6.2f %9.2f %6.2f %9s %10s%s%n",
                row.getKey(), medianMean(conv) * gflop, medianMean(sgemm) * gflop, medianMean(ort) * gflop,
                wino == null ? "-" : String.format(Locale.ROOT, "%.1f", medianMean(wino) * gflop),
                plain == null ? "-" : String.format(Locale.ROOT, "%.1f", medianMean(plain) * gflop),
                convOverSgemm, medianRatio(conv, sgemm, true), medianRatio(conv, ort, false),
                medianRatio(conv, ort, true),
                wino == null ? "-" : String.format(Locale.ROOT, "%.2f", medianRatio(wino, ort, false)),
                plain == null ? "-" : String.format(Locale.ROOT, "%.2f", medianRatio(plain, ort, false)),
                shape.isDepthwise() ? "  dw: sgemm = Cin GEMMs of N=1, K=9" :
                    convOverSgemm < CONV_GOAL ? "  < " + CONV_GOAL : ""));
        }
        return sb.toString();
    }

    private String latencyTable(final Map<String, Map<String, List<Measure>>> table)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("End-to-end latency, ms per inference (median over rounds of the mean), engine vs ONNX Runtime. " +
            "Ratios: median over " + rounds + " round(s); 'best' = ratio of best iterations.\n");
        sb.append(String.format(Locale.ROOT, "%-15s %8s %9s %8s %11s %6s%n",
            "model", "threads", "engine", "ort", "engine/ort", "best"));
        for (final Map.Entry<String, Map<String, List<Measure>>> row : table.entrySet())
        {
            final String[] key = row.getKey().split(" ");
            final List<Measure> engine = row.getValue().get("engine");
            final List<Measure> ort = row.getValue().get("ort");
            final double ratio = medianRatio(engine, ort, false);
            sb.append(String.format(Locale.ROOT, "%-15s %8s %9.2f %8.2f %11.2f %6.2f%s%n",
                key[0], key[1], medianMean(engine), medianMean(ort), ratio, medianRatio(engine, ort, true),
                ratio > LATENCY_GOAL ? "  > " + LATENCY_GOAL : ""));
        }
        return sb.toString();
    }

    /** @return the values of a benchmark state's {@code @Param} field: the lists the benchmarks run by default. */
    private static String[] params(final Class<?> state, final String field)
    {
        try
        {
            return state.getField(field).getAnnotation(Param.class).value();
        }
        catch (final NoSuchFieldException ex)
        {
            throw new IllegalStateException(state.getName() + " has no @Param field '" + field + "'", ex);
        }
    }

    private static String[] rotate(final String[] methods, final int round)
    {
        final String[] rotated = new String[methods.length];
        for (int i = 0; i < methods.length; i++)
        {
            rotated[i] = methods[(i + round) % methods.length];
        }
        return rotated;
    }

    private static RunResult single(final Collection<RunResult> results)
    {
        if (results.size() != 1)
        {
            throw new IllegalStateException("expected one benchmark run, got " + results.size());
        }
        return results.iterator().next();
    }

    private static double medianMean(final List<Measure> measures)
    {
        return median(measures.stream().mapToDouble(m -> m.mean).toArray());
    }

    private static double medianRatio(final List<Measure> numerator, final List<Measure> denominator,
        final boolean best)
    {
        final double[] ratios = new double[numerator.size()];
        for (int i = 0; i < ratios.length; i++)
        {
            ratios[i] = best ? numerator.get(i).best / denominator.get(i).best :
                numerator.get(i).mean / denominator.get(i).mean;
        }
        return median(ratios);
    }

    private static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** One fork's result: mean score, its 99.9% error (NaN with too few iterations) and the best iteration. */
    private static final class Measure
    {
        final double mean;
        final double error;
        final double best;

        Measure(final double mean, final double error, final double best)
        {
            this.mean = mean;
            this.error = error;
            this.best = best;
        }
    }
}
