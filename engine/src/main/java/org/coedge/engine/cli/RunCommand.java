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
import org.coedge.engine.cluster.DeviceFacts;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Planner;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;

import org.coedge.planner.policy.PlanObjective;

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

    @Option(names = "--exit", description = "Multi-exit model: compute only what exit K (0 = the earliest, as its " +
        "sidecar M.exits.json lists them) needs, and write only that exit's output.")
    Integer exit;

    @Option(names = "--profile", description = "Also print the time of every layer, summed over the timed runs.")
    boolean profile;

    @Option(names = "--split", split = ",", description = "Split every feature map's rows over simulated devices " +
        "in this process by these shares, e.g. 0.5,0.3,0.2 (one thread per device; --threads is then ignored).")
    double[] split;

    @picocli.CommandLine.Mixin
    FuseOptions fuseOptions = new FuseOptions();

    @Option(names = "--peers", split = ",", description = "Run cooperatively with these workers (HOST:PORT,...; " +
        "each runs `coedge worker`); this process is the coordinator and computes a slice too.")
    List<String> peers;

    @Option(names = "--key-file", description = "Pre-shared cluster key file (needed with --peers).")
    Path keyFile;

    @Option(names = "--listen", defaultValue = "0.0.0.0:0", description = "HOST:PORT the coordinator receives on " +
        "with --peers (default ${DEFAULT-VALUE}: any address, a free port).")
    String listen;

    @Option(names = "--peer-timeout-ms", defaultValue = "1000", description = "With --peers: a worker silent this " +
        "long is declared failed and the request is re-planned and re-run without it (default ${DEFAULT-VALUE}).")
    long peerTimeoutMs;

    @Option(names = "--planner", defaultValue = "adaptive", description = "With --peers: adaptive (default: the " +
        "plan predicted fastest from each device's measured layer times and the links), or a fixed share rule for " +
        "comparison: head-aware (rows by throughput, the coordinator's head time accounted for), proportional or " +
        "equal.")
    String planner;

    @Option(names = "--explain", description = "With --peers: print the adaptive planner's predicted and the " +
        "measured compute, send and wait per stage and device, and end to end.")
    boolean explain;

    @Option(names = "--progress", description = "With --peers: print `request N latency_ms X epoch E` to stderr " +
        "after each timed request (N from 0), as it happens; the testbed follows a run by it.")
    boolean progress;

    @Option(names = "--trace", description = "With --peers: write the last timed request's steps on every device " +
        "as a Chrome trace-event JSON file (Perfetto, chrome://tracing).")
    Path trace;

    /** What the adaptive planner optimises, from --objective and --deadline-ms. */
    private PlanObjective objective = PlanObjective.LATENCY;

    /** The fusion actually used by a split run, for the report. */
    private String fuseUsed = "";

    /** What one device running the model alone holds: arena, weights and one thread's scratch. */
    private long unsplitBytes;

    /** Runs the warm-up took past {@code --warmup} until the compiler rested. */
    private int extraWarmup;

    @picocli.CommandLine.Mixin
    ObjectiveOptions objectiveOptions = new ObjectiveOptions();

    @Option(names = "--power", paramLabel = "pi4|minipc|ACTIVE_W:IDLE_W:NJ_PER_BYTE", description = "With --peers: " +
        "this device's power model, for --objective energy and the energy reported (each worker states its own).")
    String power;

    @picocli.CommandLine.Mixin
    KernelOptions kernelOptions = new KernelOptions();

    @picocli.CommandLine.Mixin
    ProfileOptions profileOptions = new ProfileOptions();

    @Override
    public Integer call() throws Exception
    {
        kernelOptions.apply();
        if (repeat < 1 || warmup < 0)
        {
            throw new IllegalArgumentException("--repeat must be >= 1 and --warmup >= 0");
        }
        objective = objectiveOptions.objective();
        if (power != null)
        {
            org.coedge.planner.PowerModel.parse(power);
        }
        if (peers == null && (objective.kind() != PlanObjective.Kind.LATENCY || power != null))
        {
            throw new IllegalArgumentException("--objective and --power plan a cooperative run: they need --peers");
        }
        if (exit != null && peers != null)
        {
            throw new IllegalArgumentException("--exit does not go with --peers: under --objective accuracy the " +
                "coordinator chooses the exit and tells the workers");
        }
        final Model loaded = exit == null ? Model.load(model) :
            org.coedge.engine.exits.ExitTable.forModel(model).upTo(Model.load(model), exit);
        final List<String> all = loaded.inputNames();
        if (inputs.size() != all.size())
        {
            throw new IllegalArgumentException("model has " + all.size() + " input(s) " + all + ", got " +
                inputs.size() + " --input");
        }
        // Inputs that set the output shape (Resize scales given as graph inputs) are fixed from their files.
        // Integer inputs (a sample rate, a shape) only feed shape arithmetic and are folded for their files' values.
        final Map<String, HostTensor> bound = new LinkedHashMap<>();
        final Map<String, org.coedge.engine.io.HostIntTensor> boundIntegers = new LinkedHashMap<>();
        final List<java.nio.file.Path> dataInputs = new ArrayList<>();
        for (int i = 0; i < all.size(); i++)
        {
            if (loaded.integerInputs().contains(all.get(i)))
            {
                boundIntegers.put(all.get(i), TensorFiles.readIntegers(inputs.get(i)));
            }
            else if (loaded.shapeInputs().contains(all.get(i)))
            {
                bound.put(all.get(i), TensorFiles.read(inputs.get(i)));
            }
            else
            {
                dataInputs.add(inputs.get(i));
            }
        }
        final Model withIntegers = boundIntegers.isEmpty() ? loaded : loaded.bindIntegerInputs(boundIntegers);
        final Model m = bound.isEmpty() ? withIntegers : withIntegers.bindInputs(bound);
        final List<String> names = m.inputNames();
        if (outputs != null && outputs.size() > m.outputNames().size())
        {
            throw new IllegalArgumentException("model has " + m.outputNames().size() + " output(s), got " +
                outputs.size() + " --output");
        }
        final List<HostTensor> tensors = new ArrayList<>();
        final SessionOptions options = SessionOptions.threads(threads);
        for (int i = 0; i < names.size(); i++)
        {
            final HostTensor t = TensorFiles.read(dataInputs.get(i));
            tensors.add(t);
            options.withInputDims(names.get(i), t.dims());
        }
        final var out = spec.commandLine().getOut();
        if (peers != null && !(bound.isEmpty() && boundIntegers.isEmpty()))
        {
            final List<String> fixed = new ArrayList<>(boundIntegers.keySet());
            fixed.addAll(bound.keySet());
            throw new IllegalArgumentException("inputs " + fixed + " set the output shape; --peers needs " +
                "a model whose inputs are all data (make them initializers)");
        }
        if (peers != null)
        {
            final int code = runCooperatively(m, options, tensors, out);
            spec.commandLine().getErr().println("coordinator: peak RSS " + DeviceFacts.peakRss());
            return code;
        }
        final long[] latencyNs = new long[repeat];
        final Map<String, long[]> outDims = new LinkedHashMap<>();
        final StringBuilder devicesJson = new StringBuilder();
        final StringBuilder devicesText = new StringBuilder();
        try (LocalRunner runner = split == null ? LocalRunner.of(m.newSession(options)) : splitRunner(m, options))
        {
            final long[] layerNanos = new long[runner.layerCount()];
            for (int i = 0; i < tensors.size(); i++)
            {
                runner.setInput(i, tensors.get(i).data());
            }
            for (int i = 0; repeat > 1 && i < warmup; i++)
            {
                runner.run(null);
            }
            if (repeat > 1 && warmup > 0)
            {
                // as a cooperative run does: timed runs that share the cores (or the quota) with the compiler
                // measure the compiler, and a comparison of the two would favour whichever ran longer before timing
                extraWarmup = ClusterRun.untilCompilerQuiet(() -> runner.run(null));
            }
            if (split != null)
            {
                for (int d = 0; d < split.length; d++)
                {
                    runner.splitExecutor().runner(d).resetTimes();
                }
            }
            for (int i = 0; i < repeat; i++)
            {
                final long start = System.nanoTime();
                runner.run(profile ? layerNanos : null);
                latencyNs[i] = System.nanoTime() - start;
            }
            if (profile)
            {
                printProfile(out, runner.prepared(), layerNanos);
            }
            if (split != null)
            {
                describeDevices(runner.splitExecutor(), devicesText, devicesJson);
            }
            for (int i = 0; i < runner.outputCount(); i++)
            {
                final PreparedModel p = runner.prepared();
                final String name = p.outputs().get(i).name();
                outDims.put(name, p.outputDims(i));
                if (outputs != null && i < outputs.size())
                {
                    TensorFiles.write(outputs.get(i), new HostTensor(name, p.outputDims(i), runner.output(i)));
                }
            }
        }
        final long[] inOrder = latencyNs.clone();
        Arrays.sort(latencyNs);
        final double minMs = latencyNs[0] / 1e6;
        final double medianMs = (latencyNs[(repeat - 1) / 2] + latencyNs[repeat / 2]) / 2e6;
        if (json)
        {
            final StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT,
                "{\"model\": \"%s\", \"threads\": %d, \"repeat\": %d, \"latency_ms\": {\"min\": %.4f, " +
                "\"median\": %.4f}, \"samples_ms\": [", Json.escape(model.toString()), threads, repeat, minMs,
                medianMs));
            for (int i = 0; i < inOrder.length; i++)
            {
                sb.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4f", inOrder[i] / 1e6));
            }
            sb.append("], \"extra_warmup\": ").append(extraWarmup).append(", ").append(BlasReport.jsonFields())
                .append(", ");
            if (exit != null)
            {
                sb.append("\"exit\": ").append(exit).append(", ");
            }
            BlasReport.warn(spec.commandLine().getErr());
            if (split != null)
            {
                sb.append("\"split\": ").append(Arrays.toString(split)).append(", \"fuse\": \"")
                    .append(Json.escape(fuseUsed)).append("\", \"unsplit_memory_bytes\": ").append(unsplitBytes)
                    .append(", \"devices\": [").append(devicesJson).append("], ");
            }
            sb.append("\"outputs\": [");
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
            out.println(sb.append("], \"peak_rss_bytes\": ").append(DeviceFacts.peakRssBytes()).append('}'));
        }
        else
        {
            for (final Map.Entry<String, long[]> e : outDims.entrySet())
            {
                out.printf("output %s %s%n", e.getKey(), Arrays.toString(e.getValue()));
            }
            if (split != null)
            {
                out.print(devicesText);
                out.printf(Locale.ROOT, "one device alone would hold %.2f MiB%n", unsplitBytes / 1048576.0);
            }
            out.printf(Locale.ROOT, "latency ms: min %.3f median %.3f (%d run%s, %s)%n", minMs, medianMs, repeat,
                repeat == 1 ? "" : "s", split == null ? threads + " thread" + (threads == 1 ? "" : "s") :
                "split over " + split.length + " simulated devices, " + fuseUsed);
            BlasReport.print(out, spec.commandLine().getErr());
        }
        spec.commandLine().getErr().println("run: peak RSS " + DeviceFacts.peakRss());
        return 0;
    }

    private int runCooperatively(final Model m, final SessionOptions options, final List<HostTensor> tensors,
        final java.io.PrintWriter out) throws java.io.IOException
    {
        if (keyFile == null)
        {
            throw new IllegalArgumentException("--peers needs --key-file");
        }
        if (split != null)
        {
            throw new IllegalArgumentException("--peers and --split do not go together");
        }
        final org.coedge.transport.ClusterKey key = org.coedge.transport.ClusterKey.fromFile(keyFile);
        for (final String p : peers)
        {
            org.coedge.transport.Endpoints.parse(p);
        }
        final int fuse = FuseOptions.parseDepth(fuseOptions.fuse, org.coedge.engine.cluster.Coordinator.FUSE_AUTO);
        final String plannerName = org.coedge.planner.policy.Planners.canonical(planner);
        final List<float[]> in = new ArrayList<>();
        for (final HostTensor t : tensors)
        {
            in.add(t.data());
        }
        final List<long[]> outDims = new ArrayList<>();
        try (Session probe = m.newSession(SessionOptions.threads(1)))
        {
            for (int i = 0; i < m.outputNames().size(); i++)
            {
                outDims.add(probe.outputDims(i));
            }
        }
        final List<float[]> results = ClusterRun.allocate(outDims);
        try (ClusterRun run = new ClusterRun(model, m, options.inputDims(), peers, key, listen, threads, fuse,
            peerTimeoutMs, repeat, new java.io.PrintWriter(System.err, true), plannerName,
            profileOptions.profiler(threads), c -> c.objective(objective).power(power == null ? "" : power)))
        {
            if (progress)
            {
                run.progress(spec.commandLine().getErr());
            }
            run.run(in, results, repeat > 1 ? warmup : 0);
            if (run.extraWarmup() > 0)
            {
                spec.commandLine().getErr().printf(Locale.ROOT, "coordinator: the warm-up ran %d more requests, " +
                    "until the compiler rested%n", run.extraWarmup());
            }
            if (run.settleRequests() > 0)
            {
                spec.commandLine().getErr().printf(Locale.ROOT, "coordinator: %d untimed requests (%.1f s) after " +
                    "the warm-up while the planner measured plans against each other%n", run.settleRequests(),
                    run.settleNs() * 1e-9);
            }
            spec.commandLine().getErr().println("coordinator: " + run.coordinator.planningOverhead());
            final long[] sorted = run.latencyNs.clone();
            Arrays.sort(sorted);
            for (int i = 0; outputs != null && i < outputs.size(); i++)
            {
                TensorFiles.write(outputs.get(i), new HostTensor(m.outputNames().get(i), outDims.get(i),
                    results.get(i)));
            }
            if (trace != null)
            {
                run.timeline().write(trace);
            }
            if (json)
            {
                final StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "{\"model\": \"%s\", " +
                    "\"peers\": %d, \"planner\": \"%s\", \"epoch\": %d, \"fuse\": %d, \"repeat\": %d, " +
                    "\"latency_ms\": {\"min\": %.4f, \"median\": %.4f}, \"samples_ms\": [",
                    Json.escape(model.toString()), peers.size(), plannerName, run.coordinator.epoch(),
                    run.coordinator.fuseDepth(), repeat, sorted[0] / 1e6, ClusterRun.median(sorted) / 1e6));
                for (int i = 0; i < run.latencyNs.length; i++)
                {
                    sb.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.4f", run.latencyNs[i] / 1e6));
                }
                sb.append(String.format(Locale.ROOT, "], \"settle_requests\": %d, \"settle_s\": %.3f, ",
                    run.settleRequests(), run.settleNs() * 1e-9));
                run.appendRequestsJson(sb);
                if (run.choice() != null)
                {
                    sb.append(String.format(Locale.ROOT, ", \"predicted_ms\": %.4f, \"plan\": \"%s\"",
                        run.choice().prediction().endNs() * 1e-6, Json.escape(run.choice().description())));
                }
                run.appendObjectiveJson(sb);
                sb.append(", \"devices\": [");
                run.appendDevicesJson(sb);
                out.println(sb.append("], ").append(BlasReport.jsonFields()).append(", \"peak_rss_bytes\": ")
                    .append(DeviceFacts.peakRssBytes()).append('}'));
                BlasReport.warn(spec.commandLine().getErr());
                if (explain)
                {
                    run.explain(spec.commandLine().getErr(), run.graph());
                }
            }
            else
            {
                run.report(out);
                if (explain)
                {
                    run.explain(out, run.graph());
                }
                out.printf(Locale.ROOT, "latency ms: min %.3f median %.3f (%d run%s, cooperative over %d device%s)%n",
                    sorted[0] / 1e6, ClusterRun.median(sorted) / 1e6, repeat, repeat == 1 ? "" : "s",
                    run.coordinator.planWorkers().size() + 1, run.coordinator.planWorkers().isEmpty() ? "" : "s");
                BlasReport.print(out, spec.commandLine().getErr());
            }
        }
        return 0;
    }

    private LocalRunner splitRunner(final Model m, final SessionOptions options)
    {
        if (profile)
        {
            throw new IllegalArgumentException("--profile is not supported with --split yet");
        }
        final PreparedModel whole = m.prepare(options.inputDims());
        final LayerGraph graph = PlanGraphs.of(whole);
        if (graph.firstGlobalLayer() == 0 && graph.layerCount() > 0)
        {
            spec.commandLine().getErr().println("coedge: note: no layer of this model is split by rows (its first " +
                "layer, " + whole.layers().get(0) + ", needs whole tensors: a batch above 1, a tensor that is not " +
                "an NCHW map, or a layer that mixes rows); device 0 runs it all");
        }
        final FuseOptions.Chosen chosen = fuseOptions.choose(graph, split);
        fuseUsed = chosen.describe();
        unsplitBytes = (long)whole.arenaFloats() * Float.BYTES + whole.weightBytes() +
            (long)Math.max(1, whole.scratchFloats()) * Float.BYTES;
        final List<org.coedge.planner.DeviceProgram> programs = SplitExecutor.compile(whole, graph, chosen.plan());
        whole.close(); // only its shape was needed: free its weights before the devices' copies are packed
        return LocalRunner.of(SplitExecutor.create(m, options.inputDims(), programs, SplitExecutor.DEFAULT_TIMEOUT_NS));
    }

    /** Per device: memory held (arena, weights, scratch, receive buffers) and time per run by kind of step. */
    private void describeDevices(final SplitExecutor executor, final StringBuilder text, final StringBuilder json)
    {
        text.append(String.format(Locale.ROOT, "%-7s %6s %10s %10s %10s %10s %10s %10s %10s%n", "device", "steps",
            "arena MiB", "weights", "buffers", "total MiB", "compute ms", "send ms", "wait ms"));
        for (int d = 0; d < executor.deviceCount(); d++)
        {
            final org.coedge.engine.exec.StepRunner r = executor.runner(d);
            final long buffers = executor.memoryBytes(d) - executor.arenaBytes(d) - executor.weightBytes(d);
            text.append(String.format(Locale.ROOT, "%-7d %6d %10.2f %10.2f %10.2f %10.2f %10.3f %10.3f %10.3f%n", d,
                r.stepCount(), executor.arenaBytes(d) / 1048576.0, executor.weightBytes(d) / 1048576.0,
                buffers / 1048576.0, executor.memoryBytes(d) / 1048576.0, r.computeNs() / 1e6 / repeat,
                r.sendNs() / 1e6 / repeat, r.awaitNs() / 1e6 / repeat));
            json.append(d > 0 ? ", " : "").append(String.format(Locale.ROOT, "{\"device\": %d, \"steps\": %d, " +
                "\"arena_bytes\": %d, \"weight_bytes\": %d, \"memory_bytes\": %d, \"compute_ms\": %.4f, " +
                "\"send_ms\": %.4f, \"wait_ms\": %.4f}", d, r.stepCount(), executor.arenaBytes(d),
                executor.weightBytes(d), executor.memoryBytes(d), r.computeNs() / 1e6 / repeat,
                r.sendNs() / 1e6 / repeat, r.awaitNs() / 1e6 / repeat));
        }
    }

    private void printProfile(final java.io.PrintWriter out, final PreparedModel prepared, final long[] layerNanos)
    {
        final List<org.coedge.engine.exec.Layer> layers = prepared.layers();
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
