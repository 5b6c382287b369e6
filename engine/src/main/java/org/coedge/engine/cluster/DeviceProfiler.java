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
import org.coedge.engine.exec.Lowering;
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
 * models: the model's one-device program (every layer whole) runs on a fixed-seed normal input, warm-up runs until
 * a run is not 10% faster than the one before (at most {@value #MAX_WARM_UPS}, or half the budget), then two to
 * {@value #MAX_TIMED_RUNS} timed runs, fewer once the profile has taken {@value #BUDGET_PROP} ms (3000 by default);
 * each layer's sample is its median. Every layer computes as a device's COMPUTE step does (through
 * {@link LocalExecutor#runLayer(int, int, int)}, on the calling thread), and a row-split layer is also timed on a
 * quarter of its rows (at least one) just before it runs whole, which gives the regression its intercept.
 * <p>
 * {@link #profile} first looks in the {@link ProfileCache}, keyed by the model's SHA-256 and the
 * {@link DeviceFacts#deviceKey device key}, and stores what it measured there. Called on the cold path by a worker
 * after it loads a model for a join, and by the coordinator (device 0) at its start; one thread at a time.
 * <p>
 * The model's weights are prepared a chunk of consecutive layers at a time, each chunk at most a quarter of the
 * device's memory limit (at least {@value #MIN_CHUNK_BYTES} bytes), so that a small device can profile a model it
 * could not hold whole; on a device with room for the whole model there is one chunk. Each chunk after the first
 * runs on normal noise in place of the outputs of the layers before it. A layer whose weights alone may exceed the
 * device's memory is not profiled (the planner knows it from the calibrated rate, and cannot give it whole there).
 */
public final class DeviceProfiler
{
    /** System property: the time after which the profile adds no timed run, in milliseconds. */
    public static final String BUDGET_PROP = "coedge.profile.ms";
    static final long BUDGET_DEFAULT_MS = 3000;
    static final int MIN_TIMED_RUNS = 2;
    static final int MAX_TIMED_RUNS = 5;
    /**
     * How profiles are measured, part of the cache key: 3 times layers in thread CPU time under a modelled quota, 2
     * warms up until the runs settle, 1 ran one warm-up.
     */
    static final int METHOD = 3;
    /** Warm-up runs at most, and how much faster than the previous run a run must be for another one. */
    static final int MAX_WARM_UPS = 8;
    private static final double WARM_UP_SETTLED = 0.9;
    private static final long INPUT_SEED = 20_261_201L;
    private static final java.lang.management.ThreadMXBean THREADS =
        java.lang.management.ManagementFactory.getThreadMXBean();
    /** Weights are profiled in chunks of at least this many bytes (a quarter of the device's memory if more). */
    static final long MIN_CHUNK_BYTES = 32L << 20;
    /**
     * Bytes of weights per FLOP of one output row divided by its width: a convolution or fully-connected layer does
     * 2 FLOPs per weight per output pixel (4 bytes each), and Winograd F(4x4, 3x3) keeps its filters 4 times larger.
     */
    private static final long WEIGHT_BYTES_PER_FLOP_PER_PIXEL = 8;

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
        final long[] stats = new long[3];
        final DeviceProfile measured = measure(model.model, model.inputDims, model.graph, model.outputLayers,
            threads, deviceKey, flopsPerSecond, memoryBytes, budgetNs(), chunkBytes(memoryBytes), stats);
        final long tookNs = System.nanoTime() - start;
        log.println(String.format(Locale.ROOT, "%s: measured %d samples in %.2f s (%.2f s preparing %d chunk(s) " +
            "of weights, %d timed runs in all) on %s", what, measured.sampleCount(), tookNs * 1e-9, stats[0] * 1e-9,
            stats[2], stats[1], deviceKey));
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
        catch (final RuntimeException | OutOfMemoryError e)
        {
            // an optional measurement: a device without room for it (direct memory, heap) is planned from its rate
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
            budgetNs, chunkBytes(memoryBytes), new long[3]);
    }

    /** @return the most weight bytes profiled at once on a device of {@code memoryBytes}. */
    static long chunkBytes(final long memoryBytes)
    {
        return Math.max(MIN_CHUNK_BYTES, memoryBytes / 4);
    }

    /**
     * As above, preparing at most about {@code chunkBytes} of weights at a time; {@code stats} receives the
     * nanoseconds spent preparing, the timed runs made (summed over the chunks) and the chunks.
     */
    static DeviceProfile measure(
        final Model model, final Map<String, long[]> inputDims, final LayerGraph graph, final int[] outputLayers,
        final int threads, final String deviceKey, final double flopsPerSecond, final long memoryBytes,
        final long budgetNs, final long chunkBytes, final long[] stats)
    {
        final Plan plan = Planner.uniform(graph, new double[] {1}, 1);
        // under a quota the planner models (one thread, under a core) layers are timed in thread CPU time, the work
        // at full speed, and the planner adds the stalls; a layer's wall time would hold some of them, or none
        final boolean cpuTime = DeviceFacts.quotaOf(deviceKey) != null;
        final DeviceProgram program = StepCompiler.compile(graph, plan, outputLayers).get(0);
        final List<Step> computes = new ArrayList<>();
        int skipped = 0;
        for (final Step s : program.steps())
        {
            if (s.kind() == Step.Kind.COMPUTE)
            {
                // a layer whose weights alone would not fit the device is never run whole there: no sample
                if (weightBytesEstimate(graph.layer(s.layer())) <= memoryBytes)
                {
                    computes.add(s);
                }
                else
                {
                    skipped++;
                }
            }
        }
        final int n = computes.size();
        final int sources = model.inputNames().size();
        final int[] chunkEnds = chunks(graph, computes, chunkBytes);
        final boolean chunked = chunkEnds.length > 1 || skipped > 0;
        stats[2] = chunkEnds.length;
        double totalFlops = 0;
        for (final Step s : computes)
        {
            totalFlops += (double)graph.layer(s.layer()).flopsPerRow() * s.rows().rows();
        }
        final int[] partRows = new int[n]; // rows of the partial sample, 0 for none
        final long[][] wholeNs = new long[MAX_TIMED_RUNS][n];
        final long[][] partNs = new long[MAX_TIMED_RUNS][n];
        final int[] runs = new int[n];
        int from = 0;
        for (final int to : chunkEnds)
        {
            double chunkFlops = 0;
            for (int i = from; i < to; i++)
            {
                chunkFlops += (double)graph.layer(computes.get(i).layer()).flopsPerRow() * computes.get(i).rows().rows();
            }
            final long chunkBudgetNs = !chunked || totalFlops <= 0 ? budgetNs :
                (long)(budgetNs * (chunkFlops / totalFlops));
            final int first = from;
            final long prepareStart = System.nanoTime();
            final PreparedModel prepared = !chunked ?
                SplitExecutor.prepareFor(model, inputDims, program) :
                model.prepare(inputDims, new Lowering.RowWindows()
                {
                    public org.coedge.planner.RowRange rows(final int valueId, final int height)
                    {
                        return program.window(valueId);
                    }

                    public boolean runsLayer(final int layerIndex)
                    {
                        return inChunk(computes, first, to, sources + layerIndex);
                    }
                });
            stats[0] += System.nanoTime() - prepareStart;
            final int r;
            try
            {
                r = measureChunk(prepared, threads, cpuTime, computes, from, to, chunked, chunkBudgetNs, partRows,
                    wholeNs, partNs);
            }
            finally
            {
                // free the chunk's weights before the next chunk's are packed, so the device never holds them all
                prepared.close();
            }
            stats[1] += r;
            for (int i = from; i < to; i++)
            {
                runs[i] = r;
            }
            from = to;
        }
        final int max = ControlProxy.MAX_WELCOME_SAMPLES;
        final int[] layers = new int[max];
        final int[] rows = new int[max];
        final long[] ns = new long[max];
        int count = 0;
        for (int i = 0; i < n && count < max; i++, count++)
        {
            layers[count] = computes.get(i).layer();
            rows[count] = computes.get(i).rows().rows();
            ns[count] = median(wholeNs, runs[i], i);
        }
        for (int i = 0; i < n && count < max; i++)
        {
            if (partRows[i] > 0)
            {
                layers[count] = computes.get(i).layer();
                rows[count] = partRows[i];
                ns[count] = median(partNs, runs[i], i);
                count++;
            }
        }
        return DeviceProfile.of(deviceKey, flopsPerSecond, memoryBytes, Arrays.copyOf(layers, count),
            Arrays.copyOf(rows, count), Arrays.copyOf(ns, count));
    }

    private static boolean inChunk(final List<Step> computes, final int from, final int to, final int plannerLayer)
    {
        for (int i = from; i < to; i++)
        {
            if (computes.get(i).layer() == plannerLayer)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Splits the COMPUTE steps into runs of consecutive steps whose weights (estimated from the layers' FLOPs per
     * output pixel, with room for Winograd's transformed filters) stay within {@code chunkBytes}, so that a device
     * never holds more of the model's weights at once than a quarter of its memory; a layer larger than that is a
     * chunk of its own.
     *
     * @return the end (exclusive) of each chunk.
     */
    static int[] chunks(final LayerGraph graph, final List<Step> computes, final long chunkBytes)
    {
        final int[] ends = new int[computes.size()];
        int count = 0;
        long bytes = 0;
        for (int i = 0; i < computes.size(); i++)
        {
            final long estimate = weightBytesEstimate(graph.layer(computes.get(i).layer()));
            if (i > 0 && bytes + estimate > chunkBytes)
            {
                ends[count++] = i;
                bytes = 0;
            }
            bytes += estimate;
        }
        if (!computes.isEmpty())
        {
            ends[count++] = computes.size();
        }
        return Arrays.copyOf(ends, count);
    }

    /** @return the layer's weight bytes as the graph gives them, else an upper estimate from its FLOPs. */
    static long weightBytesEstimate(final org.coedge.planner.Layer layer)
    {
        return layer.weightBytes() > 0 ? layer.weightBytes() :
            WEIGHT_BYTES_PER_FLOP_PER_PIXEL * layer.flopsPerRow() / layer.width();
    }

    /**
     * Times COMPUTE steps {@code [from, to)} on {@code prepared}: a warm-up, then timed runs until the budget.
     *
     * @param randomArena whether earlier layers did not run (a chunk after the first): their outputs, the chunk's
     *                    inputs, are then filled with normal noise instead of left zero.
     * @return the timed runs made.
     */
    private static int measureChunk(
        final PreparedModel prepared, final int threads, final boolean cpuTime, final List<Step> computes, final int from, final int to,
        final boolean randomArena, final long budgetNs, final int[] partRows, final long[][] wholeNs,
        final long[][] partNs)
    {
        final int sources = prepared.inputs().size();
        final int n = to - from;
        final int[] index = new int[n]; // engine layer of each COMPUTE step
        final int[] wholeUnits = new int[n];
        final int[] part = new int[n];
        for (int i = 0; i < n; i++)
        {
            final Step s = computes.get(from + i);
            index[i] = s.layer() - sources;
            final Layer layer = prepared.layers().get(index[i]);
            final int height = layer.output().shape().height();
            wholeUnits[i] = layer.units();
            final boolean rowSplit = !layer.isGlobal() && layer.units() == height && height >= 2 &&
                s.rows().start() == 0 && s.rows().end() == height;
            part[i] = rowSplit ? Math.max(1, height / 4) : 0;
            partRows[from + i] = part[i];
        }
        final long[] whole = new long[n];
        final long[] partial = new long[n];
        int runs = 0;
        try (LocalExecutor executor = new LocalExecutor(prepared, threads))
        {
            final Random random = new Random(INPUT_SEED);
            if (randomArena)
            {
                final float[] noise = new float[Math.min(1 << 16, executor.arena().length())];
                for (int j = 0; j < noise.length; j++)
                {
                    noise[j] = (float)random.nextGaussian();
                }
                for (int at = 0; at < executor.arena().length(); at += noise.length)
                {
                    final int len = Math.min(noise.length, executor.arena().length() - at);
                    executor.arena().put(at, len == noise.length ? noise : Arrays.copyOf(noise, len));
                }
            }
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
            long lastRunNs = warmUp(executor, index, wholeUnits, part, start, budgetNs);
            while (runs < MIN_TIMED_RUNS ||
                runs < MAX_TIMED_RUNS && System.nanoTime() - start + lastRunNs <= budgetNs)
            {
                final long runStart = System.nanoTime();
                runOnce(executor, cpuTime, index, wholeUnits, part, whole, partial);
                for (int i = 0; i < n; i++)
                {
                    wholeNs[runs][from + i] = whole[i];
                    partNs[runs][from + i] = partial[i];
                }
                lastRunNs = System.nanoTime() - runStart;
                runs++;
            }
        }
        return runs;
    }

    /**
     * Warm-up runs until a run is no longer clearly faster than the one before (the JIT has compiled the kernels'
     * Java loops: in a fresh JVM the first runs of ResNet-18 took 2-3 times as long as later ones, and a profile
     * timed then predicted that device 3 times too slow), at most {@value #MAX_WARM_UPS} runs or half the budget.
     *
     * @return the last warm-up run's time.
     */
    private static long warmUp(final LocalExecutor executor, final int[] index, final int[] wholeUnits,
        final int[] part, final long start, final long budgetNs)
    {
        long previousNs = Long.MAX_VALUE;
        for (int i = 0; ; i++)
        {
            final long runStart = System.nanoTime();
            runOnce(executor, false, index, wholeUnits, part, null, null);
            final long runNs = System.nanoTime() - runStart;
            final boolean settled = runNs > WARM_UP_SETTLED * previousNs;
            previousNs = runNs;
            if (settled || i + 1 >= MAX_WARM_UPS || System.nanoTime() - start + runNs > budgetNs / 2)
            {
                return runNs;
            }
        }
    }

    /**
     * One run of the program: per layer, its partial rows (if any) and then the whole layer, each timed into the
     * arrays when they are not null. The partial rows come first so that they read inputs the previous layers just
     * wrote (the arena reuses a buffer once its value is dead), and the whole layer then writes every row again.
     */
    private static void runOnce(
        final LocalExecutor executor, final boolean cpuTime, final int[] index, final int[] wholeUnits,
        final int[] partRows, final long[] wholeNs, final long[] partNs)
    {
        for (int i = 0; i < index.length; i++)
        {
            if (partRows[i] > 0)
            {
                final long start = now(cpuTime);
                executor.runLayer(index[i], 0, partRows[i]);
                if (partNs != null)
                {
                    partNs[i] = now(cpuTime) - start;
                }
            }
            final long start = now(cpuTime);
            executor.runLayer(index[i], 0, wholeUnits[i]);
            if (wholeNs != null)
            {
                wholeNs[i] = now(cpuTime) - start;
            }
        }
    }

    private static long now(final boolean cpuTime)
    {
        return cpuTime ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
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
