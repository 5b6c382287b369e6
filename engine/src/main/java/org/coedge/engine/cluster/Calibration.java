package org.coedge.engine.cluster;

import org.coedge.kernels.Blas;
import org.coedge.kernels.FloatRegion;

/**
 * Measures a device's throughput as the best of a few single-precision GEMMs shaped like a mid-network 3x3
 * convolution (im2col: 3136 pixels x 576 taps x 64 filters) on one OpenBLAS thread, as the engine calls it, times
 * the device's compute threads (each computes its own rows). Until the adaptive planner profiles per layer type,
 * plans share rows in proportion to this number. Cold path.
 */
final class Calibration
{
    private static final int M = 3136;
    private static final int N = 64;
    private static final int K = 576;

    private Calibration()
    {
    }

    /** @return floating-point operations per second. */
    static double flopsPerSecond(final int threads)
    {
        Blas.setThreads(1);
        {
            final FloatRegion a = FloatRegion.allocate(M * K);
            final FloatRegion b = FloatRegion.allocate(K * N);
            final FloatRegion c = FloatRegion.allocate(M * N);
            a.fill(0, M * K, 0.5f);
            b.fill(0, K * N, 0.25f);
            long best = Long.MAX_VALUE;
            // best of as many as fit in 0.6 s: a JVM that has just started compiles on the same core for a while
            final long until = System.nanoTime() + 600_000_000L;
            for (int i = 0; i < 400 && (i < 5 || System.nanoTime() < until); i++)
            {
                final long t0 = System.nanoTime();
                Blas.sgemm(false, false, M, N, K, 1f, a, 0, K, b, 0, N, 0f, c, 0, N);
                best = Math.min(best, System.nanoTime() - t0);
            }
            return threads * 2.0 * M * N * K / (Math.max(1, best) * 1e-9);
        }
    }
}
