package org.coedge.engine.testbed;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.coedge.planner.policy.PlanObjective;
import org.coedge.planner.policy.Planners;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.zoo.ModelZoo;

/**
 * An emulated edge cluster on this machine ({@code coedge testbed}): one {@code coedge} JVM per device, each in its
 * own CPU cgroup ({@link CpuCgroup}) and network namespace ({@link Network}). It runs the model alone on each
 * device class, then starts {@code coedge worker} on devices 1..n-1 and runs the coordinator ({@code coedge run
 * --peers --json --trace}) on device 0 once per planner, and reads back what each printed and wrote.
 * <p>
 * Everything it creates carries the prefix {@value #PREFIX} and this process's pid ({@code coedge-tb-PID-...}):
 * namespaces, cgroups and the temporary directory. {@link #close()} (also run by a shutdown hook, so Ctrl-C cleans
 * up) kills the processes and removes all of it; at start, leftovers of a testbed whose process is gone are removed
 * first. Cold path; the caller's thread (and the hook's).
 */
public final class Testbed implements AutoCloseable
{
    public static final String PREFIX = "coedge-tb-";
    private static final Pattern OWNER = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)-.*");

    private final TestbedConfig config;
    private final PrintWriter log;
    private final String prefix;
    private final List<CpuCgroup> cgroups = new ArrayList<>();
    private volatile DeviceProcesses processes;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread hook = new Thread(this::close, "coedge-testbed-cleanup");
    private Network network;
    private Path work;
    private int outputCount = 1;

    /** @param log where progress goes (stderr for the command line, so {@code --json} stays alone on stdout). */
    public Testbed(final TestbedConfig config, final PrintWriter log)
    {
        this.config = config.validate();
        this.log = log;
        this.prefix = PREFIX + ProcessHandle.current().pid();
    }

    /** @return whether this process runs as root (uid 0), which namespaces, cgroups and tc need. */
    public static boolean isRoot()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("Uid:"))
                {
                    return line.split("\\s+")[2].equals("0");
                }
            }
        }
        catch (final IOException e)
        {
            // no /proc: not Linux, so no namespaces either
        }
        return false;
    }

    /**
     * Removes namespaces, cgroups and temporary directories of testbeds whose process is gone.
     *
     * @return how many leftovers were removed.
     */
    public static int removeStale()
    {
        int n = 0;
        for (final Path cg : CpuCgroup.existing(PREFIX))
        {
            if (isStale(cg.getFileName().toString()))
            {
                CpuCgroup.destroy(cg);
                n++;
            }
        }
        for (final String ns : Network.existing(PREFIX))
        {
            if (isStale(ns))
            {
                Network.deleteNamespace(ns);
                n++;
            }
        }
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir"))))
        {
            for (final Path p : (Iterable<Path>)tmp::iterator)
            {
                if (isStale(p.getFileName().toString()))
                {
                    deleteTree(p);
                    n++;
                }
            }
        }
        catch (final IOException e)
        {
            // no temporary directory to look at
        }
        return n;
    }

    /** @return whether {@code name} is a testbed leftover whose owner process no longer runs. */
    static boolean isStale(final String name)
    {
        final Matcher m = OWNER.matcher(name);
        if (!m.matches())
        {
            return false;
        }
        final long pid = Long.parseLong(m.group(1));
        return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    }

    /** Sets the cluster up, measures, and returns what it measured; {@link #close()} tears it down. */
    public TestbedResult run() throws IOException
    {
        Runtime.getRuntime().addShutdownHook(hook);
        final int stale = removeStale();
        if (stale > 0)
        {
            log.println("testbed: removed " + stale + " leftover(s) of an earlier testbed");
        }
        work = Files.createTempDirectory(prefix + "-");
        // the network first: a refused --link-delay-ms fails before the model is written
        final int n = config.cores.length;
        final TestbedResult result = new TestbedResult();
        result.linkMbps = config.linkMbps;
        result.delayMs = config.delayMs;
        result.repeat = config.repeat;
        result.linkSchedule = config.linkSchedule == null ? "" : config.linkSchedule;
        network = new Network(prefix, n, config.linkMbps, config.delayMs);
        network.create();
        for (int d = 0; d < n; d++)
        {
            final CpuCgroup cg = CpuCgroup.create(prefix + "-d" + d, config.cores[d], config.cfsPeriodUs);
            cgroups.add(cg);
            final TestbedResult.Device dev = new TestbedResult.Device();
            dev.cores = config.cores[d];
            dev.periodUs = cg.periodUs();
            dev.quotaUs = cg.quotaUs();
            result.devices.add(dev);
            Files.createDirectories(work.resolve("tmp-d" + d));
        }
        String[] cpus = null;
        if (Shell.tryRun("sh", "-c", "command -v taskset").exitCode == 0)
        {
            cpus = DeviceCommands.placeCpus(config.cores, Runtime.getRuntime().availableProcessors());
            log.println("testbed: devices on CPUs " + String.join(" | ", cpus));
            for (int d = 0; d < n; d++)
            {
                result.devices.get(d).cpus = cpus[d];
            }
        }
        else
        {
            log.println("testbed: taskset not found: devices are not pinned to CPUs (their quotas lose more)");
        }
        processes = new DeviceProcesses(config, log, work, cgroups, network, cpus);
        final Path model;
        final List<Path> inputs = new ArrayList<>();
        if (config.modelName != null)
        {
            model = work.resolve(config.modelName + ".onnx");
            ModelZoo.write(config.modelName, model);
            if (ModelZoo.multiExitNames().contains(config.modelName))
            {
                final org.coedge.engine.exits.ExitTable exits = ModelZoo.exitTable(config.modelName);
                exits.write(org.coedge.engine.exits.ExitTable.sidecarOf(model));
                outputCount = exits.size();
            }
            final Path in = work.resolve("input.npy");
            TensorFiles.write(in, new HostTensor(ModelZoo.INPUT_NAME, ModelZoo.inputDims(),
                ModelZoo.randomInput(20261124L)));
            inputs.add(in);
        }
        else
        {
            model = config.model.toAbsolutePath();
            for (final Path p : config.inputs)
            {
                inputs.add(p.toAbsolutePath());
            }
            outputCount = org.coedge.engine.api.Model.load(model).outputNames().size();
        }
        result.model = config.modelName != null ? config.modelName : model.getFileName().toString();
        final Path key = work.resolve("cluster.key");
        final byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        Files.write(key, k);

        log.printf("testbed: %d device(s) in namespaces %s-d*, cgroups %s, links %s%n", n, prefix,
            cgroups.get(0).dir().getParent(), config.linkMbps > 0 ? config.linkMbps + " Mbit/s (tbf)" : "unlimited");

        // each device class alone, before any worker runs
        final List<Double> classes = new ArrayList<>();
        List<Path> reference = null;
        for (int d = 0; d < n; d++)
        {
            if (classes.contains(config.cores[d]))
            {
                continue;
            }
            classes.add(config.cores[d]);
            final List<Path> out = outputs("alone-d" + d);
            log.printf("testbed: %s alone on device %d (%.3f cores)%n", result.model, d, config.cores[d]);
            final Map<String, Object> json = processes.runToEnd(d, "alone-d" + d, DeviceCommands.alone(model, inputs,
                out, config.cores[d], config.repeat, config.warmup));
            final TestbedResult.Alone a = new TestbedResult.Alone();
            a.cores = config.cores[d];
            a.device = d;
            a.add(RunOutputs.samplesMs(json), false);
            result.alone.add(a);
            if (reference == null)
            {
                reference = out;
            }
        }
        final List<HostTensor> ref = new ArrayList<>();
        for (final Path r : reference)
        {
            ref.add(TensorFiles.read(r));
        }

        // what the quotas are shares of: a device's JVM on device 0's CPUs with no quota, measured right before and
        // right after the workers calibrate (device 0 calibrates with the first planner, just after), not minutes
        // earlier: on this shared machine the same measurement moved by up to 15% between runs five minutes apart, and
        // one measurement before the workers alone had all devices, whole cores included, at 0.82-0.84 of it
        final String cpu0 = cpus == null ? "" : cpus[0];
        result.unthrottledBefore = processes.unthrottledGflops(cpu0);
        log.printf(java.util.Locale.ROOT, "testbed: unthrottled %.1f GFLOP/s on 1 thread%n", result.unthrottledBefore);
        if (n > 1)
        {
            for (int d = 1; d < n; d++)
            {
                processes.startWorker(d, key);
            }
            result.unthrottledAfter = processes.unthrottledGflops(cpu0);
            log.printf(java.util.Locale.ROOT, "testbed: unthrottled %.1f GFLOP/s on 1 thread after the workers " +
                "calibrated%n", result.unthrottledAfter);
        }
        for (final String planner : config.planners)
        {
            result.planners.add(runPlanner(Planners.canonical(planner), model, inputs, key, ref, result,
                List.of(), ""));
        }
        final PlanObjective.Kind kind = PlanObjective.of(config.objective, 1).kind();
        if (kind != PlanObjective.Kind.LATENCY)
        {
            final String objective = kind.name().toLowerCase(java.util.Locale.ROOT);
            for (final String deadline : config.deadlines)
            {
                final double ms = TestbedConfig.deadlineMs(deadline, adaptiveMedianMs(result, deadline));
                final String d = String.format(java.util.Locale.ROOT, "%.3f", ms);
                final TestbedResult.Planner p = runPlanner(Planners.ADAPTIVE, model, inputs, key, ref, result,
                    List.of("--objective", objective, "--deadline-ms", d), ":" + objective + "@" + d);
                p.objective = objective;
                p.deadlineMs = ms;
                result.planners.add(p);
            }
        }
        if (n > 1)
        {
            aloneAgain(model, inputs, result);
        }
        return result;
    }

    /**
     * Runs the fastest device class alone once more, after the cooperative runs, and takes the speedups against
     * both runs' requests: on a shared machine the same process's speed moves by 10-30% over the minutes between the
     * first run alone and the last cooperative one, and a ratio against one side only follows that drift. The
     * workers stay up but idle, on their own CPUs where the machine has enough.
     */
    private void aloneAgain(final Path model, final List<Path> inputs, final TestbedResult result) throws IOException
    {
        final TestbedResult.Alone fastest = result.fastestAlone();
        final int d = fastest.device;
        log.printf("testbed: %s alone on device %d (%.3f cores) again, after the cooperative runs%n", result.model, d,
            config.cores[d]);
        final Map<String, Object> json = processes.runToEnd(d, "alone-after-d" + d, DeviceCommands.alone(model,
            inputs, outputs("alone-after-d" + d), config.cores[d], config.repeat, config.warmup));
        fastest.add(RunOutputs.samplesMs(json), true);
        for (final TestbedResult.Planner p : result.planners)
        {
            p.speedup = fastest.medianMs / p.medianMs;
        }
    }

    /** @return the median of the latency-objective adaptive run, for a relative deadline; NaN for an absolute one. */
    private static double adaptiveMedianMs(final TestbedResult result, final String deadline)
    {
        if (!deadline.trim().endsWith("x"))
        {
            return Double.NaN;
        }
        for (final TestbedResult.Planner p : result.planners)
        {
            if (p.name.equals(Planners.ADAPTIVE))
            {
                return p.medianMs;
            }
        }
        throw new IllegalArgumentException("--deadline-ms " + deadline + " is relative to the adaptive run: add " +
            "adaptive to --planner");
    }

    /** @return one output file per model output, {@code stem-K.npy}. */
    private List<Path> outputs(final String stem)
    {
        final List<Path> out = new ArrayList<>();
        for (int k = 0; k < outputCount; k++)
        {
            out.add(work.resolve(stem + "-" + k + ".npy"));
        }
        return out;
    }

    /**
     * @param extra  more arguments of the coordinator (an objective and its deadline).
     * @param suffix what the entry's name adds to the planner's (the objective and deadline), "" for none.
     */
    private TestbedResult.Planner runPlanner(final String planner, final Path model, final List<Path> inputs,
        final Path key, final List<HostTensor> ref, final TestbedResult result, final List<String> extra,
        final String suffix) throws IOException
    {
        final int n = config.cores.length;
        final TestbedResult.Planner p = new TestbedResult.Planner();
        p.name = planner + suffix;
        final String runName = "coop-" + planner + suffix.replace(':', '-').replace('@', '-');
        final List<String> args = new ArrayList<>(extra);
        if (!config.powers.isEmpty())
        {
            args.addAll(List.of("--power", config.powers.get(0)));
        }
        final long[][] before = new long[n][];
        for (int d = 0; d < n; d++)
        {
            before[d] = cgroups.get(d).throttling();
        }
        final List<Path> out = outputs(runName);
        final Path trace = work.resolve("trace-" + runName.substring("coop-".length()) + ".json");
        final Map<String, Object> json;
        if (n == 1)
        {
            log.printf("testbed: one device: planner %s runs it alone%n", planner);
            json = processes.runToEnd(0, runName, DeviceCommands.alone(model, inputs, out, config.cores[0],
                config.repeat, config.warmup));
        }
        else
        {
            processes.checkWorkers();
            log.printf("testbed: cooperative run, planner %s%n", planner);
            final LinkScheduler links = config.linkSchedule == null ? null : new LinkScheduler(config.schedule(),
                config.linkMbps, network::rate, config.repeat);
            if (links != null)
            {
                links.start();
            }
            json = processes.runToEnd(0, runName, DeviceCommands.coordinator(model, inputs, out, n, config.port,
                key, config.cores[0], config.repeat, config.warmup, planner, config.fuse, trace, args), links);
            processes.checkWorkers();
            if (links != null)
            {
                p.linkChanges.addAll(links.results(log));
            }
            p.requests.addAll(TestbedResult.requests(json));
            p.traceJson = Files.exists(trace) ? Files.readString(trace) : "";
            p.explain = RunOutputs.explainTable(work.resolve(runName + ".err"));
            if (config.explain && !p.explain.isEmpty())
            {
                log.print(p.explain);
                log.flush();
            }
        }
        RunOutputs.fill(p, json, result.fastestAlone().medianMs);
        p.maxError = RunOutputs.relativeError(ref, out);
        final List<Map<String, Object>> devices = JsonReader.objects(json, "devices");
        for (int d = 0; d < n; d++)
        {
            final TestbedResult.PlannerDevice pd = new TestbedResult.PlannerDevice();
            final String endpoint = Network.address(d) + ":" + config.port;
            for (final Map<String, Object> dj : devices)
            {
                if (endpoint.equals(dj.get("endpoint")))
                {
                    RunOutputs.fill(pd, dj);
                    final TestbedResult.Device dev = result.devices.get(d);
                    if (Double.isNaN(dev.gflops))
                    {
                        dev.gflops = pd.gflops;
                    }
                    dev.memoryMb = JsonReader.num(dj, "memory_bytes") / 1048576.0;
                }
            }
            // the coordinator says its own peak; a worker lives through every planner, so its high-water mark is read
            // from the kernel while it runs
            final double bytes = d == 0 ? JsonReader.num(json, "peak_rss_bytes") :
                org.coedge.engine.cluster.DeviceFacts.peakRssBytes(processes.workerPid(d));
            final double peak = bytes >= 0 ? bytes / 1048576.0 : Double.NaN;
            final TestbedResult.Device dev = result.devices.get(d);
            if (!(dev.peakRssMb >= peak))
            {
                dev.peakRssMb = peak;
            }
            final long[] after = cgroups.get(d).throttling();
            final long periods = after[0] - before[d][0];
            pd.throttledFraction = periods > 0 ? (after[1] - before[d][1]) / (double)periods : 0;
            p.devices.add(pd);
        }
        if (n == 1)
        {
            p.devices.get(0).joined = true;
        }
        return p;
    }

    static void deleteTree(final Path root)
    {
        if (!Files.exists(root))
        {
            return;
        }
        try (Stream<Path> paths = Files.walk(root))
        {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final IOException e)
        {
            // what is left is removed as a stale leftover by the next testbed
        }
    }

    /** @return the prefix of everything this testbed creates ({@code coedge-tb-PID}). */
    public String prefix()
    {
        return prefix;
    }

    /** Kills the processes, removes cgroups, namespaces and the temporary directory; safe to call twice. */
    @Override
    public void close()
    {
        if (!closed.compareAndSet(false, true))
        {
            return;
        }
        final DeviceProcesses running = processes;
        if (running != null)
        {
            running.stopAll();
        }
        for (final CpuCgroup cg : cgroups)
        {
            cg.destroy();
        }
        if (network != null)
        {
            network.destroy();
        }
        if (work != null)
        {
            deleteTree(work);
        }
        if (Thread.currentThread() != hook)
        {
            try
            {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
            catch (final IllegalStateException e)
            {
                // shutting down already: the hook runs close(), which returns at once
            }
        }
    }
}
