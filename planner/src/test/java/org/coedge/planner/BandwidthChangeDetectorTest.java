package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The change detector on synthetic link traces with fixed seeds: the rate in bytes/s, each sample multiplied by a
 * uniform noise factor in [0.7, 1.3] (or a log-normal one), and a fraction of samples divided by 5 (a transfer seen
 * while its sender was descheduled). Each trace runs over {@value #SEEDS} seeds; the delay of a change is the index,
 * counted from 1 at the change's first sample, of the sample that reported it; an alarm that is not the first within
 * {@value #WINDOW} samples after a change is a false alarm. The table of all traces is printed after the tests.
 */
class BandwidthChangeDetectorTest
{
    private static final int SEEDS = 50;
    private static final int WINDOW = 12;
    private static final double GBIT = 1e9 / 8;
    private static final double MBIT = 1e6 / 8;
    private static final List<String> TABLE = new ArrayList<>();

    /** What one trace did over all seeds. */
    private static final class Outcome
    {
        int changes;
        int detected;
        int maxDelay;
        final List<Integer> delays = new ArrayList<>();
        int falseAlarms;
        double maxLevelError; // |level after detection / true rate - 1|, worst over changes

        double medianDelay()
        {
            final List<Integer> s = new ArrayList<>(delays);
            s.sort(null);
            return s.isEmpty() ? Double.NaN : s.get(s.size() / 2);
        }
    }

    /** The true rate at each sample index. */
    private interface Rate
    {
        double at(int i);
    }

    private static double[] trace(final Rate rate, final int n, final long seed, final double outliers,
        final boolean logNormal)
    {
        final Random r = new Random(seed);
        final double[] v = new double[n];
        for (int i = 0; i < n; i++)
        {
            final double noise = logNormal ? Math.exp(0.15 * r.nextGaussian()) : 0.7 + 0.6 * r.nextDouble();
            final double stall = r.nextDouble() < outliers ? 5 : 1;
            v[i] = rate.at(i) * noise / stall;
        }
        return v;
    }

    /**
     * Runs every seed of a trace whose rate steps at {@code changesAt} (empty for a steady one), attributing the
     * first alarm in each change's window to it.
     */
    private static Outcome run(final String name, final Rate rate, final int n, final int[] changesAt,
        final double outliers, final boolean logNormal)
    {
        final Outcome o = new Outcome();
        for (int seed = 1; seed <= SEEDS; seed++)
        {
            final double[] v = trace(rate, n, 1000L * seed + name.hashCode(), outliers, logNormal);
            final BandwidthChangeDetector d = new BandwidthChangeDetector();
            final boolean[] claimed = new boolean[changesAt.length];
            for (int i = 0; i < n; i++)
            {
                if (!d.onSample(i, v[i]))
                {
                    continue;
                }
                boolean attributed = false;
                for (int c = 0; c < changesAt.length; c++)
                {
                    if (!claimed[c] && i >= changesAt[c] && i < changesAt[c] + WINDOW)
                    {
                        claimed[c] = true;
                        attributed = true;
                        final int delay = i - changesAt[c] + 1;
                        o.delays.add(delay);
                        o.maxDelay = Math.max(o.maxDelay, delay);
                        o.detected++;
                        o.maxLevelError = Math.max(o.maxLevelError,
                            Math.abs(d.levelBytesPerSecond() / rate.at(i) - 1));
                        break;
                    }
                }
                if (!attributed)
                {
                    o.falseAlarms++;
                }
            }
            o.changes += changesAt.length;
        }
        TABLE.add(String.format(Locale.ROOT, "%-44s %4d %8d/%-5d %6s %5s %6d %9s", name, n, o.detected,
            o.changes, o.changes == 0 ? "-" : String.format(Locale.ROOT, "%.0f", o.medianDelay()),
            o.changes == 0 ? "-" : Integer.toString(o.maxDelay), o.falseAlarms,
            o.changes == 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * o.maxLevelError)));
        return o;
    }

    private static Rate step(final double before, final int at, final double after)
    {
        return i -> i < at ? before : after;
    }

    @AfterAll
    static void printTable()
    {
        System.out.printf("%nBandwidthChangeDetector on synthetic traces, %d seeds each (delay: samples from the " +
            "change to its report, 1 = at its first sample)%n", SEEDS);
        System.out.printf("%-44s %4s %14s %6s %5s %6s %9s%n", "trace", "n", "detected", "median", "max",
            "false", "level err");
        for (final String row : TABLE)
        {
            System.out.println(row);
        }
    }

    @Test
    void shouldNotAlarmOnASteadyNoisyLink()
    {
        assertEquals(0, run("steady 1 Gbit/s +-30%", i -> GBIT, 200, new int[0], 0, false).falseAlarms);
        assertEquals(0, run("steady 50 Mbit/s +-30%", i -> 50 * MBIT, 200, new int[0], 0, false).falseAlarms);
    }

    @Test
    void shouldNotAlarmOnASteadyLinkWithOccasionalStalledTransfers()
    {
        assertEquals(0, run("steady 1 Gbit/s +-30%, 1% 5x slow", i -> GBIT, 200, new int[0], 0.01, false)
            .falseAlarms);
        assertEquals(0, run("steady 50 Mbit/s +-30%, 1% 5x slow", i -> 50 * MBIT, 200, new int[0], 0.01, false)
            .falseAlarms);
        assertEquals(0, run("steady 1 Gbit/s lognormal 15%, 1% 5x slow", i -> GBIT, 200, new int[0], 0.01, true)
            .falseAlarms);
    }

    @Test
    void shouldRarelyAlarmOnASteadyLinkWithFrequentStalledTransfers()
    {
        // three stalls in a row look like a 5x drop, which a detector that reports a drop in three samples must
        // report; each such alarm comes with its return: at most two pairs in the 10,000 samples of each trace
        assertTrue(run("steady 1 Gbit/s +-30%, 3% 5x slow", i -> GBIT, 200, new int[0], 0.03, false)
            .falseAlarms <= 4);
        assertTrue(run("steady 50 Mbit/s +-30%, 3% 5x slow", i -> 50 * MBIT, 200, new int[0], 0.03, false)
            .falseAlarms <= 4);
        assertTrue(run("steady 1 Gbit/s lognormal 15%, 3% 5x slow", i -> GBIT, 200, new int[0], 0.03, true)
            .falseAlarms <= 4);
    }

    @Test
    void shouldReportATwentyfoldStepWithinThreeSamples()
    {
        final Outcome down = run("1 Gbit/s -> 50 Mbit/s at 100, 3% 5x slow", step(GBIT, 100, 50 * MBIT), 200,
            new int[]{100}, 0.03, false);
        assertEquals(down.changes, down.detected);
        assertTrue(down.maxDelay <= 3, "delay " + down.maxDelay);
        assertTrue(down.falseAlarms <= 2, "false alarms " + down.falseAlarms);
        assertTrue(down.maxLevelError < 0.35, "level error " + down.maxLevelError);
        final Outcome up = run("50 Mbit/s -> 1 Gbit/s at 100, 3% 5x slow", step(50 * MBIT, 100, GBIT), 200,
            new int[]{100}, 0.03, false);
        assertEquals(up.changes, up.detected);
        assertTrue(up.maxDelay <= 3, "delay " + up.maxDelay);
        assertTrue(up.falseAlarms <= 2, "false alarms " + up.falseAlarms);
        assertTrue(up.maxLevelError < 0.35, "level error " + up.maxLevelError);
    }

    @Test
    void shouldReportADropAndARecoveryAsTheTestbedScheduleMakesThem()
    {
        final Outcome o = run("1000 -> 50 at 40 -> 1000 at 80 Mbit/s, 1%", i -> i >= 40 && i < 80 ? 50 * MBIT :
            GBIT, 120, new int[]{40, 80}, 0.01, false);
        assertEquals(o.changes, o.detected);
        assertTrue(o.maxDelay <= 3, "delay " + o.maxDelay);
        assertEquals(0, o.falseAlarms);
        assertTrue(o.maxLevelError < 0.35, "level error " + o.maxLevelError);
    }

    @Test
    void shouldReportMostTwofoldStepsWithinFiveSamples()
    {
        // 2x is only about 3.5 noise units under +-30% noise: a sample adds 1.2-3 to the sum, not always 3
        for (final boolean rising : new boolean[]{false, true})
        {
            final Outcome o = run(rising ? "500 Mbit/s -> 1 Gbit/s at 100, 3% 5x slow" :
                "1 Gbit/s -> 500 Mbit/s at 100, 3% 5x slow", rising ? step(GBIT / 2, 100, GBIT) :
                step(GBIT, 100, GBIT / 2), 200, new int[]{100}, 0.03, false);
            assertTrue(o.detected >= 0.95 * o.changes, o.detected + " of " + o.changes);
            assertTrue(o.medianDelay() <= 5, "median delay " + o.medianDelay());
            assertTrue(o.falseAlarms <= 4, "false alarms " + o.falseAlarms);
        }
    }

    @Test
    void shouldFollowARampWithFewChangePoints()
    {
        // 1 Gbit/s down to 50 Mbit/s, evenly in the log, over samples 60..100
        final Rate ramp = i -> GBIT * Math.pow(20, -Math.min(1, Math.max(0, (i - 60) / 40.0)));
        int worstChanges = 0;
        double worstError = 0;
        for (int seed = 1; seed <= SEEDS; seed++)
        {
            final double[] v = trace(ramp, 200, 7000L + seed, 0.01, false);
            final BandwidthChangeDetector d = new BandwidthChangeDetector();
            int before = 0;
            for (int i = 0; i < 200; i++)
            {
                d.onSample(i, v[i]);
                if (i == 59)
                {
                    before = d.changes();
                }
            }
            assertEquals(0, before, "seed " + seed + ": a change before the ramp");
            worstChanges = Math.max(worstChanges, d.changes());
            worstError = Math.max(worstError, Math.abs(d.levelBytesPerSecond() / (50 * MBIT) - 1));
            assertTrue(d.changes() >= 1, "seed " + seed + ": the ramp went unreported");
        }
        TABLE.add(String.format(Locale.ROOT, "%-44s %4d %14s %6s %5s %6s %9s", "ramp 1000 -> 50 Mbit/s over 40, 1%",
            200, "changes <= " + worstChanges, "-", "-", "-", String.format(Locale.ROOT, "%.0f%%", 100 * worstError)));
        // the level follows the ramp, so the staircase has a few steps, not one per sample
        assertTrue(worstChanges <= 8, "changes on the ramp: " + worstChanges);
        assertTrue(worstError < 0.2, "level after the ramp off by " + worstError);
    }

    @Test
    void shouldNotTakeTwoStalledTransfersInARowForAChange()
    {
        final BandwidthChangeDetector d = new BandwidthChangeDetector();
        for (int i = 0; i < 20; i++)
        {
            assertFalse(d.onSample(i, GBIT * (i % 2 == 0 ? 0.9 : 1.1)));
        }
        assertFalse(d.onSample(20, GBIT / 5));
        assertFalse(d.onSample(21, GBIT / 5));
        for (int i = 22; i < 40; i++)
        {
            assertFalse(d.onSample(i, GBIT * (i % 2 == 0 ? 0.9 : 1.1)), "sample " + i);
        }
        assertEquals(0, d.changes());
        assertEquals(GBIT, d.levelBytesPerSecond(), 0.1 * GBIT);
    }

    @Test
    void shouldPlaceTheChangeAfterOutliersThatPrecededIt()
    {
        final BandwidthChangeDetector d = new BandwidthChangeDetector();
        for (int i = 0; i < 20; i++)
        {
            d.onSample(i, GBIT);
        }
        d.onSample(20, GBIT / 5);
        d.onSample(21, GBIT / 5);
        d.onSample(22, GBIT);
        d.onSample(23, GBIT);
        boolean reported = false;
        for (int i = 24; i < 27 && !reported; i++)
        {
            reported = d.onSample(i, 50 * MBIT);
        }
        assertTrue(reported);
        assertEquals(24, d.changeTag());
        assertEquals(50 * MBIT, d.levelBytesPerSecond(), 1e-6 * MBIT);
    }

    @Test
    void shouldAllocateNothingPerSample()
    {
        final java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean,
            "this JVM does not count allocated bytes per thread");
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)bean;
        final double[] v = trace(step(GBIT, 5000, 50 * MBIT), 10_000, 11, 0.03, false);
        final BandwidthChangeDetector d = new BandwidthChangeDetector();
        for (int i = 0; i < v.length; i++)
        {
            d.onSample(i, v[i]); // compiled before it is measured
        }
        d.reset();
        final long before = threads.getCurrentThreadAllocatedBytes();
        int changes = 0;
        for (int i = 0; i < v.length; i++)
        {
            changes += d.onSample(i, v[i]) ? 1 : 0;
        }
        final long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(changes >= 1);
        assertTrue(allocated < 1024, allocated + " bytes allocated over " + v.length + " samples");
    }

    @Test
    void shouldIgnoreSamplesThatAreNotRates()
    {
        final BandwidthChangeDetector d = new BandwidthChangeDetector();
        for (int i = 0; i < 10; i++)
        {
            d.onSample(i, GBIT);
        }
        assertFalse(d.onSample(10, 0));
        assertFalse(d.onSample(11, -1));
        assertFalse(d.onSample(12, Double.NaN));
        assertFalse(d.onSample(13, Double.POSITIVE_INFINITY));
        assertEquals(4, d.rejected());
        assertEquals(10, d.samples());
        assertEquals(GBIT, d.levelBytesPerSecond(), 1e-6 * GBIT);
    }

    @Test
    void shouldSetTheFirstLevelFromTheMedianOfTheWarmUp()
    {
        final BandwidthChangeDetector d = new BandwidthChangeDetector();
        assertFalse(d.ready());
        assertFalse(d.onSample(0, GBIT / 5)); // two stalled first transfers
        assertFalse(d.onSample(1, GBIT / 5));
        assertFalse(d.onSample(2, GBIT));
        assertFalse(d.onSample(3, GBIT));
        assertFalse(d.ready());
        assertFalse(d.onSample(4, GBIT));
        assertTrue(d.ready());
        assertEquals(GBIT, d.levelBytesPerSecond(), 1e-6 * GBIT);
        for (int i = 3; i < 30; i++)
        {
            assertFalse(d.onSample(i, GBIT));
        }
        d.reset();
        assertEquals(0, d.samples());
        assertEquals(0, d.levelBytesPerSecond());
    }

    @Test
    void shouldRefuseSettingsUnderWhichOneSampleCouldAlarm()
    {
        assertThrows(IllegalArgumentException.class, () -> new BandwidthChangeDetector(1, 2.5, 4, 0.1, 0.2));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthChangeDetector(1, 7, 1, 0.1, 0.2));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthChangeDetector(1, 7, 4, 0, 0.2));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthChangeDetector(-1, 7, 4, 0.1, 0.2));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthChangeDetector(1, 7, 4, 0.1, Double.NaN));
    }
}
