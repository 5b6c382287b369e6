package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * What a calibration window reports: without a quota the work over wall time; under one the work per CPU second of
 * the compute thread times the share of a core the quota grants it, so that other threads on the budget during the
 * window (the JIT compiling a JVM's start) do not count as the device being slow, and a quota never reads as more
 * than a core per thread.
 */
class CalibrationTest
{
    private static final double GFLOP = 1e9;

    @Test
    void withoutAQuotaTheWindowsWallTimeCounts()
    {
        // 80 GFLOP in 1 s of wall time, 0.9 s of it on the CPU
        assertEquals(80 * GFLOP, Calibration.sustained(80 * GFLOP, 1_000_000_000L, 900_000_000L, Double.NaN, 1),
            1);
        // no CPU time known: wall time even under a quota
        assertEquals(20 * GFLOP, Calibration.sustained(20 * GFLOP, 1_000_000_000L, -1, 0.45, 1), 1);
    }

    @Test
    void underAQuotaTheComputeThreadsCpuTimeCountsTimesItsShare()
    {
        // a 0.45-core device: 27 GFLOP in 1 s of wall time, of which the compute thread ran 0.36 s (the JIT took the
        // rest of the budget): 75 GFLOP per CPU second, 0.45 of a core
        final double r = Calibration.sustained(27 * GFLOP, 1_000_000_000L, 360_000_000L, 0.45, 1);
        assertEquals(0.45 * 75 * GFLOP, r, 1e3);
        assertTrue(r > 27 * GFLOP, "more than the wall time showed");
        // two compute threads share 0.9 cores: 0.45 each
        assertEquals(0.45 * 75 * GFLOP, Calibration.sustained(27 * GFLOP, 1_000_000_000L, 360_000_000L, 0.9, 2),
            1e3);
        // a quota of two whole cores for one thread: at most one core
        assertEquals(75 * GFLOP, Calibration.sustained(75 * GFLOP, 1_000_000_000L, 1_000_000_000L, 2, 1), 1e3);
    }
}
