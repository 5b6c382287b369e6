package org.coedge.engine.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.cluster.Coordinator;
import org.coedge.engine.cluster.JitClock;
import org.coedge.engine.cluster.Worker;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Stage;
import org.coedge.planner.Step;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;

/**
 * The coordinator side of {@code coedge run --peers} and {@code coedge demo}: starts a transport node and a
 * {@link Coordinator}, runs warm-up and timed requests, and reports the plan, each device's rows and times.
 */
final class ClusterRun implements AutoCloseable
{
    /**
     * Untimed requests after the warm-up while the policy chose among plans by measuring them, at most: three
     * candidates in two rounds take about 40, and a worker that joins again starts the trial over.
     */
    static final int MAX_SETTLE_REQUESTS = 200;
    /** Requests in a row during which the compiler may work at most {@value #QUIET_COMPILE_MS} ms each. */
    static final int QUIET_REQUESTS = 3;
    static final long QUIET_COMPILE_MS = 1;
    /** Requests run at most while waiting for the compiler to rest. */
    static final int MAX_QUIET_REQUESTS = 40;
    final TransportNode node;
    final Coordinator coordinator;
    final long[] latencyNs;
    /** Per timed request, the plan epoch it ran under. */
    final long[] epochs;
    /** Per timed request, the exit it answered from (-1: the model's outputs). */
    final int[] exits;
    /** Per timed request, the joules its devices spent under their stated power models (NaN without them). */
    final double[] energyJ;
    /** Where one line per timed request goes while the run goes on ({@code --progress}); null for none. */
    private PrintWriter progress;
    /** Per timed request, per device of the final plan: compute and wait (await + send) times. */
    private long[][] computeNs = new long[0][];
    private long[][] waitNs = new long[0][];
    private long[][] sendNs = new long[0][];
    private long[][] awaitNs = new long[0][];
    private int extraWarmup;
    private int settleRequests;
    private long settleNs;
    /** The last timed request's steps on every device. */
    private TraceTimeline timeline;

    ClusterRun(
        final Path modelFile, final Model model, final Map<String, long[]> dims, final List<String> peers,
        final ClusterKey key, final String listen, final int threads, final int fuse, final long peerTimeoutMs,
        final int repeat, final PrintWriter log)
    {
        this(modelFile, model, dims, peers, key, listen, threads, fuse, peerTimeoutMs, repeat, log,
            org.coedge.planner.policy.Planners.ADAPTIVE, null, c -> c);
    }

    /** @param profiler how the coordinator profiles itself; null for the machine's defaults. */
    ClusterRun(
        final Path modelFile, final Model model, final Map<String, long[]> dims, final List<String> peers,
        final ClusterKey key, final String listen, final int threads, final int fuse, final long peerTimeoutMs,
        final int repeat, final PrintWriter log, final String planner,
        final org.coedge.engine.cluster.DeviceProfiler profiler,
        final java.util.function.UnaryOperator<Coordinator> configure)
    {
        final TransportContext context = new TransportContext().listenEndpoint(listen)
            .peerTimeoutNs(peerTimeoutMs * 1_000_000L)
            .heartbeatIntervalNs(Math.max(1, peerTimeoutMs / 10) * 1_000_000L).conclude();
        this.node = new TransportNode(context);
        try
        {
            this.coordinator = new Coordinator(node, key, modelFile, model, dims, peers, threads, fuse,
                org.coedge.engine.exec.SplitExecutor.DEFAULT_TIMEOUT_NS, log).planner(planner).profiler(profiler);
            configure.apply(coordinator);
            coordinator.start();
        }
        catch (final RuntimeException e)
        {
            node.close();
            throw e;
        }
        this.latencyNs = new long[repeat];
        this.epochs = new long[repeat];
        this.exits = new int[repeat];
        this.energyJ = new double[repeat];
    }

    /**
     * Prints {@code request N latency_ms X epoch E} (N from 0) to {@code out} after each timed request, flushed, so
     * a process that started this one (the testbed) can follow the run; null for none.
     */
    ClusterRun progress(final PrintWriter out)
    {
        this.progress = out;
        return this;
    }

    /**
     * Runs {@code warmup} untimed requests (not learnt from), then, with {@code warmup > 0}, untimed requests while
     * the plan policy still measures plans against each other (at most {@value #MAX_SETTLE_REQUESTS}), then
     * {@code latencyNs.length} timed requests; the outputs are the last run's.
     */
    void run(final List<float[]> inputs, final List<float[]> outputs, final int warmup)
    {
        coordinator.learning(false);
        for (int i = 0; i < warmup; i++)
        {
            coordinator.infer(inputs, outputs);
        }
        extraWarmup = warmup > 0 ? untilCompilerQuiet(inputs, outputs) : 0;
        coordinator.learning(true);
        final long settleStart = System.nanoTime();
        settleRequests = 0;
        while (warmup > 0 && coordinator.exploring() && settleRequests < MAX_SETTLE_REQUESTS)
        {
            coordinator.infer(inputs, outputs);
            settleRequests++;
        }
        if (settleRequests > 0)
        {
            settleRequests += untilCompilerQuiet(inputs, outputs);
        }
        settleNs = System.nanoTime() - settleStart;
        computeNs = new long[latencyNs.length][];
        waitNs = new long[latencyNs.length][];
        sendNs = new long[latencyNs.length][];
        awaitNs = new long[latencyNs.length][];
        for (int i = 0; i < latencyNs.length; i++)
        {
            coordinator.infer(inputs, outputs);
            // up to its answer: what follows it (learning, a link probe) is on the overhead line
            latencyNs[i] = coordinator.lastLatencyNs();
            epochs[i] = coordinator.epoch();
            exits[i] = coordinator.exit();
            if (progress != null)
            {
                progress.printf(java.util.Locale.ROOT, "request %d latency_ms %.4f epoch %d%n", i, latencyNs[i] / 1e6,
                    epochs[i]);
                progress.flush();
            }
            final List<Worker> ws = coordinator.planWorkers();
            computeNs[i] = new long[ws.size() + 1];
            waitNs[i] = new long[ws.size() + 1];
            sendNs[i] = new long[ws.size() + 1];
            awaitNs[i] = new long[ws.size() + 1];
            computeNs[i][0] = coordinator.computeNs();
            sendNs[i][0] = coordinator.sendNs();
            awaitNs[i][0] = coordinator.awaitNs();
            for (int d = 1; d <= ws.size(); d++)
            {
                computeNs[i][d] = ws.get(d - 1).computeNs();
                sendNs[i][d] = ws.get(d - 1).sendNs();
                awaitNs[i][d] = ws.get(d - 1).awaitNs();
            }
            for (int d = 0; d <= ws.size(); d++)
            {
                waitNs[i][d] = sendNs[i][d] + awaitNs[i][d];
            }
            energyJ[i] = org.coedge.planner.policy.MeasuredEnergy.of(coordinator.powers(), coordinator.programs(),
                computeNs[i], sendNs[i], latencyNs[i]);
        }
        timeline = TraceTimeline.of(coordinator);
    }

    /**
     * Runs requests until {@value #QUIET_REQUESTS} in a row ran while this JVM's compiler (nearly) did not work (for
     * at most {@value #MAX_QUIET_REQUESTS}): timed requests that share the device's cores, or its quota, with the
     * compiler measure the compiler.
     *
     * @return the requests run.
     */
    private int untilCompilerQuiet(final List<float[]> inputs, final List<float[]> outputs)
    {
        return untilCompilerQuiet(() -> coordinator.infer(inputs, outputs));
    }

    /**
     * Runs {@code request} until {@value #QUIET_REQUESTS} runs in a row left this JVM's compiler (nearly) idle, at
     * most {@value #MAX_QUIET_REQUESTS} times; a run alone ({@code coedge run --repeat}) warms up the same way.
     *
     * @return the runs it took.
     */
    static int untilCompilerQuiet(final Runnable request)
    {
        int n = 0;
        int quiet = 0;
        long before = JitClock.compiledMs();
        while (n < MAX_QUIET_REQUESTS && quiet < QUIET_REQUESTS)
        {
            request.run();
            n++;
            final long after = JitClock.compiledMs();
            quiet = after - before <= QUIET_COMPILE_MS ? quiet + 1 : 0;
            before = after;
        }
        return n;
    }

    /** @return requests the warm-up ran past its count until the compiler was quiet. */
    int extraWarmup()
    {
        return extraWarmup;
    }

    /** @return the untimed requests the policy measured plans with after the warm-up, and how long they took. */
    int settleRequests()
    {
        return settleRequests;
    }

    long settleNs()
    {
        return settleNs;
    }

    org.coedge.planner.LayerGraph graph()
    {
        return coordinator.graph();
    }

    /**
     * @return the adaptive planner's choice for the current plan, or null under another planner.
     */
    org.coedge.planner.PlanChoice choice()
    {
        return coordinator.planPolicy() instanceof org.coedge.planner.policy.AdaptivePlanPolicy ?
            ((org.coedge.planner.policy.AdaptivePlanPolicy)coordinator.planPolicy()).choice() : null;
    }

    /**
     * Prints the explain table of the current plan against the last request's measured step times and the median
     * of the timed latencies; says so when the planner makes no predictions.
     */
    void explain(final PrintWriter out, final org.coedge.planner.LayerGraph graph)
    {
        final org.coedge.planner.PlanChoice choice = choice();
        if (choice == null || choice.plan() != coordinator.plan())
        {
            out.println("explain: planner " + coordinator.planner() + " makes no predictions (the adaptive planner " +
                "does)");
            return;
        }
        final org.coedge.planner.policy.RequestTimes times = coordinator.requestTimes();
        final long[][] stepNs = new long[times.deviceCount()][];
        for (int d = 0; d < stepNs.length; d++)
        {
            stepNs[d] = new long[times.stepCount(d)];
            for (int i = 0; i < stepNs[d].length; i++)
            {
                stepNs[d][i] = times.stepNs(d, i);
            }
        }
        final long[] sorted = latencyNs.clone();
        java.util.Arrays.sort(sorted);
        org.coedge.engine.cluster.Explain.print(out, graph, choice.prediction(), choice.description(),
            org.coedge.engine.cluster.Explain.measuredByStage(graph, choice.plan(), coordinator.programs(), stepNs),
            sorted.length == 0 ? -1 : median(sorted) / 1e6);
    }

    /** @return the last timed request's time line (null before {@link #run}). */
    TraceTimeline timeline()
    {
        return timeline;
    }

    /** @return the rows device {@code d} computes of the first layer of {@code first}. */
    private static org.coedge.planner.RowRange firstRows(final Stage first, final int d)
    {
        return first.hasLayerRows() ? first.layerRows(0, d) : first.deviceRows(d);
    }

    /**
     * Appends one JSON object per device of the final plan: the throughput it reported, the rows it computes of the
     * first layer, its memory, and its median compute, send and wait times over the timed requests; the memory
     * limit it stated and the samples of its profile (0 if it has none).
     */
    void appendDevicesJson(final StringBuilder sb)
    {
        final List<Worker> ws = coordinator.planWorkers();
        final int n = ws.size() + 1;
        final Stage first = coordinator.plan().stages().get(0);
        for (int d = 0; d < n; d++)
        {
            final Worker w = d == 0 ? null : ws.get(d - 1);
            final org.coedge.planner.DeviceProfile profile = d == 0 ? coordinator.profile(0) : w.profile();
            sb.append(d > 0 ? ", " : "").append(String.format(java.util.Locale.ROOT,
                "{\"device\": %d, \"role\": \"%s\", \"endpoint\": \"%s\", \"gflops\": %.3f, \"steps\": %d, " +
                "\"rows\": %d, " +
                "\"first_row\": %d, \"memory_bytes\": %d, \"compute_ms\": %.4f, \"send_ms\": %.4f, " +
                "\"wait_ms\": %.4f, \"rtt_us\": %.1f, \"link_mbytes_per_s\": %.3f, \"memory_limit_bytes\": %d, " +
                "\"profile_samples\": %d}",
                d, d == 0 ? "coordinator" : "worker", Json.escape(d == 0 ? node.endpoint() : w.endpoint()),
                (d == 0 ? coordinator.selfFlopsPerSecond() : w.flopsPerSecond()) / 1e9,
                coordinator.programs().get(d).steps().size(), firstRows(first, d).rows(), firstRows(first, d).start(),
                d == 0 ? coordinator.memoryBytes() : w.memoryBytes(), medianOf(computeNs, d, n) / 1e6,
                medianOf(sendNs, d, n) / 1e6, medianOf(awaitNs, d, n) / 1e6, d == 0 ? 0 : w.rttNs() / 1e3,
                d == 0 ? 0 : w.bytesPerSecond() / 1e6, profile == null ? 0 : profile.memoryBytes(),
                profile == null ? 0 : profile.sampleCount()));
        }
    }

    /**
     * Appends {@code "requests": [{"latency_ms": ..., "epoch": ...}, ...]}, one object per timed request in order.
     */
    void appendRequestsJson(final StringBuilder sb)
    {
        sb.append("\"requests\": [");
        for (int i = 0; i < latencyNs.length; i++)
        {
            sb.append(i > 0 ? ", " : "").append(String.format(java.util.Locale.ROOT,
                "{\"latency_ms\": %.4f, \"epoch\": %d, \"exit\": %d%s}", latencyNs[i] / 1e6, epochs[i], exits[i],
                Double.isNaN(energyJ[i]) ? "" : String.format(java.util.Locale.ROOT, ", \"energy_j\": %.6f",
                energyJ[i])));
        }
        sb.append(']');
    }

    /**
     * Appends {@code "objective"}, the exit the final plan answers from ({@code "exit"}, -1: the model's outputs),
     * and where the devices stated power models, {@code "energy_j"} (median, min and max over the timed requests,
     * measured times under the stated models) and {@code "predicted_energy_j"} (the final plan's).
     */
    void appendObjectiveJson(final StringBuilder sb)
    {
        sb.append(String.format(java.util.Locale.ROOT, ", \"objective\": \"%s\", \"exit\": %d",
            Json.escape(coordinator.objective().toString()), coordinator.exit()));
        final double[] sorted = energyJ.clone();
        Arrays.sort(sorted);
        if (sorted.length > 0 && !Double.isNaN(sorted[sorted.length - 1]))
        {
            sb.append(String.format(java.util.Locale.ROOT, ", \"energy_j\": {\"median\": %.6f, \"min\": %.6f, " +
                "\"max\": %.6f}", median(sorted), sorted[0], sorted[sorted.length - 1]));
        }
        final double predicted = coordinator.predictedJoules();
        if (!Double.isNaN(predicted))
        {
            sb.append(String.format(java.util.Locale.ROOT, ", \"predicted_energy_j\": %.6f", predicted));
        }
    }

    static double median(final long[] ns)
    {
        final double[] v = new double[ns.length];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = ns[i];
        }
        return median(v);
    }

    static double median(final double[] values)
    {
        final double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    /** @return the median over the timed requests (of the final plan's device count) of device {@code d}'s time. */
    private double medianOf(final long[][] perRequest, final int d, final int devices)
    {
        final long[] v = new long[perRequest.length];
        int n = 0;
        for (final long[] r : perRequest)
        {
            if (r != null && r.length == devices)
            {
                v[n++] = r[d];
            }
        }
        return n == 0 ? 0 : median(Arrays.copyOf(v, n));
    }

    /** Prints the plan, each device's rows, and its median compute and wait times over the timed requests. */
    void report(final PrintWriter out)
    {
        final List<Worker> ws = coordinator.planWorkers();
        out.printf("plan epoch %d: %d device(s), fuse %d, %d stage(s)%n", coordinator.epoch(), ws.size() + 1,
            coordinator.fuseDepth(), coordinator.plan().stages().size());
        out.printf("%-6s %-22s %9s %-26s %6s %10s %8s %8s %8s%n", "device", "node", "GFLOP/s", "rows (first | last " +
            "split)", "steps", "rtt us", "MB/s", "comp ms", "wait ms");
        final Stage first = coordinator.plan().stages().get(0);
        Stage last = first;
        for (final Stage s : coordinator.plan().stages())
        {
            if (s.mode() != org.coedge.planner.Mode.SINGLE_DEVICE && s.mode() != org.coedge.planner.Mode.FEATURES)
            {
                last = s;
            }
        }
        for (int d = 0; d <= ws.size(); d++)
        {
            final DeviceProgram p = coordinator.programs().get(d);
            final String rows = first.deviceRows(d) + " | " + last.deviceRows(d);
            if (d == 0)
            {
                out.printf("%-6d %-22s %9.1f %-26s %6d %10s %8s %8.2f %8.2f%n", d, "coordinator " +
                    node.endpoint(), coordinator.selfFlopsPerSecond() / 1e9, rows, p.steps().size(), "-", "-",
                    medianOf(computeNs, 0, ws.size() + 1) / 1e6, medianOf(waitNs, 0, ws.size() + 1) / 1e6);
            }
            else
            {
                final Worker w = ws.get(d - 1);
                out.printf("%-6d %-22s %9.1f %-26s %6d %10.0f %8.0f %8.2f %8.2f%n", d, "worker " + w.endpoint(),
                    w.flopsPerSecond() / 1e9, rows, p.steps().size(), w.rttNs() / 1e3, w.bytesPerSecond() / 1e6,
                    medianOf(computeNs, d, ws.size() + 1) / 1e6, medianOf(waitNs, d, ws.size() + 1) / 1e6);
            }
        }
        long bytes = 0;
        int messages = 0;
        for (final DeviceProgram p : coordinator.programs())
        {
            for (final Step s : p.steps())
            {
                if (s.kind() == Step.Kind.SEND)
                {
                    bytes += s.bytes();
                    messages++;
                }
            }
        }
        if (Boolean.getBoolean("coedge.debug.steps"))
        {
            final List<Step> steps = coordinator.programs().get(0).steps();
            for (int i = 0; i < steps.size(); i++)
            {
                out.printf("  %8.3f ms  %s%n", coordinator.stepNs(i) / 1e6, steps.get(i));
            }
        }
        out.printf("rows moved per request: %.1f KiB in %d messages%n", bytes / 1024.0, messages);
    }

    static List<float[]> allocate(final List<long[]> dims)
    {
        final List<float[]> out = new ArrayList<>();
        for (final long[] d : dims)
        {
            long n = 1;
            for (final long x : d)
            {
                n *= x;
            }
            out.add(new float[(int)n]);
        }
        return out;
    }

    @Override
    public void close()
    {
        coordinator.close();
        node.close();
    }
}
