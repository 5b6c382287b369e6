package org.coedge.engine.cluster;

import java.util.concurrent.TimeUnit;

import org.coedge.kernels.Blas;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.RegionOwner;

/**
 * Measures the throughput a device can sustain: single-precision GEMMs shaped like a mid-network 3x3 convolution
 * (im2col: 3136 pixels x 576 taps x 64 filters) on one OpenBLAS thread per compute thread, as the engine calls it,
 * run back to back on every compute thread at once for a window of {@value #WINDOW_PROP} ms (800 by default).
 * Without a quota it reports the FLOPs done over the window's wall time; under one, the FLOPs per CPU second of the
 * compute thread times the quota's cores ({@link #sustained}). A best-of-short-bursts by wall time would not do: a
 * CPU quota (cgroup cfs) lets a burst shorter than its period run at full speed; and a window of several periods
 * counts what the quota's stalls cost the compute (caches refilled after each), likewise a core that throttles when
 * warm. A warm-up first is not counted: until the JIT compiler has been quiet for a while (a JVM that has just
 * started compiles on the same budget), then a short one for the threads.
 * Until the adaptive planner profiles per layer type, plans share rows in proportion to this number, until the rates
 * measured during requests replace it ({@link RateWindow}). Cold path.
 */
final class Calibration
{
    /** System property: the measured window in milliseconds. */
    static final String WINDOW_PROP = "coedge.calibration.ms";
    static final long WINDOW_DEFAULT_MS = 800;
    private static final long WARMUP_NS = TimeUnit.MILLISECONDS.toNanos(60);
    private static final long QUIET_MS = 200;
    private static final long QUIET_MAX_MS = 3000;
    private static final int M = 3136;
    private static final int N = 64;
    private static final int K = 576;
    private static final double FLOPS_PER_GEMM = 2.0 * M * N * K;

    private Calibration()
    {
    }

    /**
     * @return floating-point operations per second: the better of two windows of the default length. Anything else
     * on the device's budget during a window (the JIT compiling what the JVM started with, a collection, a neighbour
     * on the same core) can only make it measure low: a worker that calibrated once at start under a 0.45-core quota
     * reported 21-28% below that share of the unthrottled rate, while a quiet JVM measured 3-12% below.
     */
    static double flopsPerSecond(final int threads)
    {
        return flopsPerSecond(threads, TimeUnit.MILLISECONDS.toNanos(Long.getLong(WINDOW_PROP, WINDOW_DEFAULT_MS)), 2);
    }

    /**
     * @param threads  compute threads, each running its own GEMMs on its own buffers.
     * @param windowNs how long to measure each window after its warm-up.
     * @param windows  windows measured, on the same buffers after one wait for the compiler; the best is reported.
     * @return floating-point operations per second summed over the threads.
     */
    static double flopsPerSecond(final int threads, final long windowNs, final int windows)
    {
        Blas.setThreads(1);
        // the threads are joined before the buffers are freed (window() returns after every thread ended)
        try (RegionOwner memory = new RegionOwner("calibration buffers"))
        {
            final Gemms[] gemms = new Gemms[threads];
            for (int t = 0; t < threads; t++)
            {
                gemms[t] = new Gemms(memory);
            }
            gemms[0].untilCompilerQuiet();
            double best = 0;
            for (int w = 0; w < windows; w++)
            {
                best = Math.max(best, window(gemms, windowNs));
            }
            return best;
        }
    }

    /** Waits for {@code thread} to end even if interrupted (keeping the interrupt): it runs to a deadline. */
    private static void joinUninterruptibly(final Thread thread)
    {
        boolean interrupted = false;
        while (thread.isAlive())
        {
            try
            {
                thread.join();
            }
            catch (final InterruptedException e)
            {
                interrupted = true;
            }
        }
        if (interrupted)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * @param flops   floating-point operations one compute thread did in a window.
     * @param wallNs  the window's wall time.
     * @param cpuNs   the CPU time the thread got in it; below 0 if unknown.
     * @param cores   the CPU quota's cores ({@link DeviceFacts#cpuCores()}), NaN for none.
     * @param threads compute threads sharing the quota.
     * @return what the thread sustains: without a quota, or without its CPU time, its operations over wall time;
     *     under a quota, its operations per CPU second times the CPU seconds per second the quota grants each thread
     *     (at most one), so that what else ran on the budget during the window (the JIT compiling the JVM's start,
     *     a collection) is not taken for the device's speed, while what the quota's stalls cost the compute itself
     *     (caches refilled after each stall) is: a worker that had just started under a 0.45 or 0.225-core quota
     *     measured 0.64-0.90 of its share by wall time, the coordinator, calibrating later in its run, 0.98-1.01.
     */
    static double sustained(final double flops, final long wallNs, final long cpuNs, final double cores,
        final int threads)
    {
        final double wall = flops / (Math.max(1, wallNs) * 1e-9);
        if (cpuNs <= 0 || !(cores > 0))
        {
            return wall;
        }
        final double share = Math.min(1, cores / Math.max(1, threads));
        return flops / (cpuNs * 1e-9) * share;
    }

    /** One window: a short warm-up, then every thread's GEMMs counted over {@code windowNs}. */
    private static double window(final Gemms[] gemms, final long windowNs)
    {
        final int threads = gemms.length;
        final Thread[] helpers = new Thread[threads - 1];
        final long start = System.nanoTime();
        final long measureFrom = start + WARMUP_NS;
        final long until = measureFrom + Math.max(1, windowNs);
        for (int t = 1; t < threads; t++)
        {
            final Gemms g = gemms[t];
            helpers[t - 1] = new Thread(() -> g.runUntil(measureFrom, until), "coedge-calibration-" + t);
            helpers[t - 1].start();
        }
        gemms[0].runUntil(measureFrom, until);
        final double cores = DeviceFacts.cpuCores();
        double flops = gemms[0].flopsPerSecond(cores, threads);
        for (int t = 1; t < threads; t++)
        {
            joinUninterruptibly(helpers[t - 1]); // its buffers are freed after this returns
            flops += gemms[t].flopsPerSecond(cores, threads);
        }
        return flops;
    }

    /** One thread's buffers and count; written by that thread, read after it is joined. */
    private static final class Gemms
    {
        final FloatRegion a;
        final FloatRegion b;
        final FloatRegion c;
        long counted;
        long startNs;
        long endNs;
        long cpuNs = -1;

        Gemms(final RegionOwner memory)
        {
            a = memory.allocate(M * K);
            b = memory.allocate(K * N);
            c = memory.allocate(M * N);
            a.fill(0, M * K, 0.5f);
            b.fill(0, K * N, 0.25f);
        }

        /**
         * A few GEMMs (so that their Java side gets compiled), then sleeps until the JIT compiler has been quiet for
         * {@value #QUIET_MS} ms: a JVM that has just started compiles on the same cores, and under a quota on the
         * same budget, for a while; sleeping leaves it that budget (under a 0.225-core quota a worker's start-up
         * compiles took 10 s of wall time, and GEMMs run meanwhile measured 27-49% below the quota's share). Gives up
         * after {@value #QUIET_MAX_MS} ms divided by the device's cores (at most 10 s).
         */
        void untilCompilerQuiet()
        {
            for (int i = 0; i < 3; i++)
            {
                Blas.sgemm(false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, c, 0, N);
            }
            if (!JitClock.supported())
            {
                return;
            }
            final double cores = DeviceFacts.cpuCores();
            final long maxMs = Double.isNaN(cores) || cores >= 1 ? QUIET_MAX_MS :
                Math.min(10_000, (long)(QUIET_MAX_MS / cores));
            final long giveUp = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMs);
            long quietSince = System.nanoTime();
            long compiledMs = JitClock.compiledMs();
            while (System.nanoTime() < giveUp &&
                System.nanoTime() - quietSince < TimeUnit.MILLISECONDS.toNanos(QUIET_MS))
            {
                try
                {
                    Thread.sleep(10);
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    return;
                }
                final long now = JitClock.compiledMs();
                if (now != compiledMs)
                {
                    compiledMs = now;
                    quietSince = System.nanoTime();
                }
            }
        }

        /** Warms up until {@code fromNs}, then counts GEMMs back to back until the first that ends past untilNs. */
        void runUntil(final long fromNs, final long untilNs)
        {
            long now = System.nanoTime();
            while (now < fromNs)
            {
                Blas.sgemm(false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, c, 0, N);
                now = System.nanoTime();
            }
            final java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
            final long cpuStart = cpu.isCurrentThreadCpuTimeSupported() ? cpu.getCurrentThreadCpuTime() : -1;
            startNs = now;
            counted = 0;
            while (now < untilNs || counted == 0)
            {
                Blas.sgemm(false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, c, 0, N);
                counted++;
                now = System.nanoTime();
            }
            endNs = now;
            cpuNs = cpuStart >= 0 ? cpu.getCurrentThreadCpuTime() - cpuStart : -1;
        }

        double flopsPerSecond(final double cores, final int threads)
        {
            return sustained(counted * FLOPS_PER_GEMM, endNs - startNs, cpuNs, cores, threads);
        }
    }
}
