package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.Layouts;
import org.coedge.engine.exec.LocalExecutor;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.exec.Value;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.StepCompiler;
import org.coedge.planner.Step;
import org.coedge.transport.ControlProxy;

/**
 * Measures how fast this device computes the layers of the model it was asked to load, for the planner's latency
 * models: the model's one-device program (every layer whole) runs on a fixed-seed normal input, one warm-up run and
 * then two to {@value #MAX_TIMED_RUNS} timed runs, fewer once the profile has taken {@value #BUDGET_PROP} ms (3000
 * by default); each layer's sample is its median. Every layer computes as a device's COMPUTE step does (through
 * {@link LocalExecutor#runLayer(int, int, int)}, on the calling thread), and a row-split layer is also timed on a
 * quarter of its rows (at least one) just before it runs whole, which gives the regression its intercept.
 * <p>
 * {@link #profile} first looks in the {@link ProfileCache}, keyed by the model's SHA-256 and the
 * {@link DeviceFacts#deviceKey device key}, and stores what it measured there. Called on the cold path by a worker
 * after it loads a model for a join, and by the coordinator (device 0) at its start; one thread at a time. The
 * profile prepares the whole model once (all weights), so it needs as much memory as running it alone.
 */
public final class DeviceProfiler
{
    /** System property: the time after which the profile adds no timed run, in milliseconds. */
    public static final String BUDGET_PROP = "coedge.profile.ms";
    static final long BUDGET_DEFAULT_MS = 3000;
    static final int MIN_TIMED_RUNS = 2;
    static final int MAX_TIMED_RUNS = 5;
    private static final long INPUT_SEED = 20_261_201L;

    private final int threads;
    private final long memoryBytes;
    private final ProfileCache cache;
    private final String deviceKey;

    /**
     * @param threads     the device's compute threads (part of its key).
     * @param memoryBytes the memory limit the device states, {@code > 0}.
     * @param cache       where profiles are kept between runs, or null to measure every time.
     */
    public DeviceProfiler(final int threads, final long memoryBytes, final ProfileCache cache)
    {
        if (threads < 1 || memoryBytes <= 0)
        {
            throw new IllegalArgumentException("threads must be >= 1 and memory > 0: " + threads + ", " +
                memoryBytes);
        }
        this.threads = threads;
        this.memoryBytes = memoryBytes;
        this.cache = cache;
        this.deviceKey = DeviceFacts.deviceKey(threads, memoryBytes);
    }

    /** @return a profiler with the machine's memory limit and the default cache directory. */
    public static DeviceProfiler defaults(final int threads)
    {
        return new DeviceProfiler(threads, DeviceFacts.memoryLimitBytes(), new ProfileCache(ProfileCache.defaultDir()));
    }

    public String deviceKey()
    {
        return deviceKey;
    }

    public long memoryBytes()
    {
        return memoryBytes;
    }

    /**
     * @param flopsPerSecond the device's calibrated rate, which the profile carries.
     * @param who            names this device in the log line ({@code worker}, {@code coordinator}).
     * @return the profile of {@code model} on this device: from the cache if it holds one, else measured now (and
     * stored). Logs which, in one line.
     */
    DeviceProfile profile(final ModelRef model, final double flopsPerSecond, final PrintWriter log,
        final String who)
    {
        final String what = who + ": profile of " + model.file.getFileName();
        if (cache != null)
        {
            final DeviceProfile cached = cache.read(model.sha256, deviceKey, model.graph, flopsPerSecond,
                memoryBytes, log);
            if (cached != null)
            {
                log.println(what + ": " + cached.sampleCount() + " samples from " + cache.fileOf(model.sha256,
                    deviceKey));
                return cached;
            }
        }
        final long start = System.nanoTime();
        final long[] stats = new long[2];
        final DeviceProfile measured = measure(model.model, model.inputDims, model.graph, model.outputLayers,
            threads, deviceKey, flopsPerSecond, memoryBytes, budgetNs(), stats);
        final long tookNs = System.nanoTime() - start;
        log.println(String.format(Locale.ROOT, "%s: measured %d samples in %.2f s (%.2f s preparing, a warm-up " +
            "and %d timed runs) on %s", what, measured.sampleCount(), tookNs * 1e-9, stats[0] * 1e-9, stats[1],
            deviceKey));
        if (cache != null)
        {
            cache.write(model.sha256, measured, log);
        }
        return measured;
    }

    /** As {@link #profile}, but a failure is logged (by {@code who}) and gives null instead of an exception. */
    DeviceProfile profileOrNull(final ModelRef model, final double flopsPerSecond, final PrintWriter log,
        final String who)
    {
        try
        {
            return profile(model, flopsPerSecond, log, who);
        }
        catch (final RuntimeException e)
        {
            log.println(who + ": could not profile " + model.file.getFileName() + ": " + e + "; going on without");
            return null;
        }
    }

    static long budgetNs()
    {
        return TimeUnit.MILLISECONDS.toNanos(Math.max(0, Long.getLong(BUDGET_PROP, BUDGET_DEFAULT_MS)));
    }

    /**
     * Measures a profile now.
     *
     * @param graph        the planner's view of {@code model} under {@code inputDims}.
     * @param outputLayers planner ids of the model's outputs.
     * @param budgetNs     no timed run starts after this long (beyond the first {@value #MIN_TIMED_RUNS}).
     * @return one sample per layer (its whole height), then one per row-split layer on a quarter of its rows; at
     * most {@link ControlProxy#MAX_WELCOME_SAMPLES} in all.
     */
    public static DeviceProfile measure(
        final Model model, final Map<String, long[]> inputDims, final LayerGraph graph, final int[] outputLayers,
        final int threads, final String deviceKey, final double flopsPerSecond, final long memoryBytes,
        final long budgetNs)
    {
        return measure(model, inputDims, graph, outputLayers, threads, deviceKey, flopsPerSecond, memoryBytes,
            budgetNs, new long[2]);
    }

    /** As above; {@code stats} receives the nanoseconds spent preparing the model and the timed runs made. */
    static DeviceProfile measure(
        final Model model, final Map<String, long[]> inputDims, final LayerGraph graph, final int[] outputLayers,
        final int threads, final String deviceKey, final double flopsPerSecond, final long memoryBytes,
        final long budgetNs, final long[] stats)
    {
        final long prepareStart = System.nanoTime();
        final Plan plan = Planner.uniform(graph, new double[] {1}, 1);
        final DeviceProgram program = StepCompiler.compile(graph, plan, outputLayers).get(0);
        final PreparedModel prepared = SplitExecutor.prepareFor(model, inputDims, program);
        stats[0] = System.nanoTime() - prepareStart;
        final int sources = prepared.inputs().size();
        final List<Step> computes = new ArrayList<>();
        for (final Step s : program.steps())
        {
            if (s.kind() == Step.Kind.COMPUTE)
            {
                computes.add(s);
            }
        }
        final int n = computes.size();
        final int[] index = new int[n]; // engine layer of each COMPUTE step
        final int[] wholeUnits = new int[n];
        final int[] partRows = new int[n]; // rows of the partial sample, 0 for none
        for (int i = 0; i < n; i++)
        {
            final Step s = computes.get(i);
            index[i] = s.layer() - sources;
            final Layer layer = prepared.layers().get(index[i]);
            final int height = layer.output().shape().height();
            wholeUnits[i] = layer.units();
            final boolean rowSplit = !layer.isGlobal() && layer.units() == height && height >= 2 &&
                s.rows().start() == 0 && s.rows().end() == height;
            partRows[i] = rowSplit ? Math.max(1, height / 4) : 0;
        }
        final long[][] wholeNs = new long[MAX_TIMED_RUNS][n];
        final long[][] partNs = new long[MAX_TIMED_RUNS][n];
        int runs = 0;
        try (LocalExecutor executor = new LocalExecutor(prepared, threads))
        {
            final Random random = new Random(INPUT_SEED);
            for (final Value in : prepared.inputs())
            {
                final float[] nchw = new float[in.shape().size()];
                for (int j = 0; j < nchw.length; j++)
                {
                    nchw[j] = (float)random.nextGaussian();
                }
                Layouts.inputRowsInto(in, nchw, executor.arena());
            }
            final long start = System.nanoTime();
            runOnce(executor, index, wholeUnits, partRows, null, null);
            long lastRunNs = System.nanoTime() - start;
            while (runs < MIN_TIMED_RUNS ||
                runs < MAX_TIMED_RUNS && System.nanoTime() - start + lastRunNs <= budgetNs)
            {
                final long runStart = System.nanoTime();
                runOnce(executor, index, wholeUnits, partRows, wholeNs[runs], partNs[runs]);
                lastRunNs = System.nanoTime() - runStart;
                runs++;
            }
        }
        stats[1] = runs;
        final int max = ControlProxy.MAX_WELCOME_SAMPLES;
        final int[] layers = new int[max];
        final int[] rows = new int[max];
        final long[] ns = new long[max];
        int count = 0;
        for (int i = 0; i < n && count < max; i++, count++)
        {
            layers[count] = computes.get(i).layer();
            rows[count] = computes.get(i).rows().rows();
            ns[count] = median(wholeNs, runs, i);
        }
        for (int i = 0; i < n && count < max; i++)
        {
            if (partRows[i] > 0)
            {
                layers[count] = computes.get(i).layer();
                rows[count] = partRows[i];
                ns[count] = median(partNs, runs, i);
                count++;
            }
        }
        return DeviceProfile.of(deviceKey, flopsPerSecond, memoryBytes, Arrays.copyOf(layers, count),
            Arrays.copyOf(rows, count), Arrays.copyOf(ns, count));
    }

    /**
     * One run of the program: per layer, its partial rows (if any) and then the whole layer, each timed into the
     * arrays when they are not null. The partial rows come first so that they read inputs the previous layers just
     * wrote (the arena reuses a buffer once its value is dead), and the whole layer then writes every row again.
     */
    private static void runOnce(
        final LocalExecutor executor, final int[] index, final int[] wholeUnits, final int[] partRows,
        final long[] wholeNs, final long[] partNs)
    {
        for (int i = 0; i < index.length; i++)
        {
            if (partRows[i] > 0)
            {
                final long start = System.nanoTime();
                executor.runLayer(index[i], 0, partRows[i]);
                if (partNs != null)
                {
                    partNs[i] = System.nanoTime() - start;
                }
            }
            final long start = System.nanoTime();
            executor.runLayer(index[i], 0, wholeUnits[i]);
            if (wholeNs != null)
            {
                wholeNs[i] = System.nanoTime() - start;
            }
        }
    }

    private static long median(final long[][] samples, final int runs, final int step)
    {
        final long[] v = new long[runs];
        for (int r = 0; r < runs; r++)
        {
            v[r] = samples[r][step];
        }
        Arrays.sort(v);
        return (v[(runs - 1) / 2] + v[runs / 2]) / 2;
    }
}
