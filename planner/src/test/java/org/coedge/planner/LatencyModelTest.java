package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The per-device latency model: the fit, its fallback, and online refinement. */
class LatencyModelTest
{
    /** A source, two 3x3 convs of different cost and a 1x1 conv, 32 rows each. */
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 32, 32, 3);
        final int c1 = b.addLayer("c1", new int[]{in}, new RowMap[]{RowMap.window(3, 1, 1, 1, 32, 32)}, 32, 32, 16,
            200_000, 2048);
        b.describe(c1, LayerKind.CONV_3X3, 1728);
        final int c2 = b.addLayer("c2", new int[]{c1}, new RowMap[]{RowMap.window(3, 1, 1, 1, 32, 32)}, 32, 32, 16,
            900_000, 2048);
        b.describe(c2, LayerKind.CONV_3X3, 9216);
        final int p = b.addLayer("p", new int[]{c2}, new RowMap[]{RowMap.identity(32)}, 32, 32, 16, 500_000, 2048);
        b.describe(p, LayerKind.CONV_1X1, 1024);
        return b.markOutput(p).build();
    }

    /** Times of a device with 20 us per call and 1 ns per FLOP on 3x3 convs, 2 ns per FLOP on 1x1. */
    private static long truth(final LayerGraph g, final int id, final int rows)
    {
        final double perFlop = g.layer(id).kind() == LayerKind.CONV_1X1 ? 2 : 1;
        return Math.round(20_000 + perFlop * g.layer(id).flopsPerRow() * rows);
    }

    @Test
    void shouldSimulateADeviceUnderAQuotaWithItsStalls()
    {
        final LayerGraph g = graph();
        final int[] layers = {1, 1, 2, 2, 3, 3};
        final int[] rows = {32, 8, 32, 8, 32, 8};
        final long[] ns = new long[layers.length];
        for (int i = 0; i < ns.length; i++)
        {
            ns[i] = truth(g, layers[i], rows[i]) * 200; // milliseconds of work per layer
        }
        final LatencyModel free = LatencyModel.fit(g, DeviceProfile.of("d", 1e9, 1 << 30, layers, rows, ns));
        final LatencyModel throttled = free.copy().quota(new CpuQuota(0.45, 10e6));
        final Plan alone = Planner.uniform(g, new double[]{1}, 1);
        final int[] outputs = {3};
        final LinkModel links = LinkModel.uniform(1, 1e9, 0, 0);
        final double work = PlanSimulator.predict(g, alone, outputs, new LatencyModel[]{free}, links).endNs();
        // the same work through the quota, layer by layer, as the device runs it
        final double[] used = {-1, 0};
        double t = 0;
        for (int id = 1; id <= 3; id++)
        {
            t = new CpuQuota(0.45, 10e6).run(t, free.predictNs(id, 32), used);
        }
        final double wall = PlanSimulator.predict(g, alone, outputs, new LatencyModel[]{throttled}, links).endNs();
        assertEquals(t, wall, 1);
        assertTrue(wall > 2 * work && wall < work / 0.45 + 10e6, work + " of work took " + wall);
        assertEquals(0.45, throttled.copy().quota().cores());
    }

    @Test
    void shouldPredictRowCountsItWasNotProfiledAtFromTheRegression()
    {
        final LayerGraph g = graph();
        final int[] layers = {1, 1, 2, 2, 3, 3};
        final int[] rows = {32, 8, 32, 8, 32, 8};
        final long[] ns = new long[layers.length];
        for (int i = 0; i < ns.length; i++)
        {
            ns[i] = truth(g, layers[i], rows[i]);
        }
        final LatencyModel m = LatencyModel.fit(g, DeviceProfile.of("d", 1e9, 1 << 30, layers, rows, ns));
        for (int id = 1; id <= 3; id++)
        {
            for (final int r : new int[]{1, 5, 16, 31})
            {
                assertEquals(truth(g, id, r), m.predictNs(id, r), 0.01 * truth(g, id, r), "layer " + id + " rows " + r);
            }
        }
        assertEquals(0, m.predictNs(0, 32));
        assertEquals(0, m.predictNs(1, 0));
        assertNull(m.coefficients(LayerKind.POOL));
    }

    @Test
    void shouldFallBackToFlopsAtTheCalibratedRateScaledByTheSamples()
    {
        final LayerGraph g = graph();
        // only the 3x3 convs profiled, at half the calibrated 1 GFLOP/s: the 1x1 layer is predicted at 0.5 GFLOP/s
        final LatencyModel m = LatencyModel.fit(g, DeviceProfile.of("d", 1e9, 1 << 30, new int[]{1, 2},
            new int[]{32, 32}, new long[]{2 * 200_000 * 32, 2 * 900_000 * 32}));
        assertEquals(2.0 * 500_000 * 32, m.predictNs(3, 32), 1e-6 * 500_000 * 32);
        final LatencyModel bare = LatencyModel.fit(g, DeviceProfile.calibratedOnly("d", 1e9, 1 << 30));
        assertEquals(500_000 * 32, bare.predictNs(3, 32), 1e-3);
    }

    @Test
    void shouldFollowADeviceThatSlowsDownWithinAFewRequests()
    {
        final LayerGraph g = graph();
        final LatencyModel m = LatencyModel.fit(g, DeviceProfile.of("d", 1e9, 1 << 30, new int[]{1, 2, 3},
            new int[]{32, 32, 32}, new long[]{truth(g, 1, 32), truth(g, 2, 32), truth(g, 3, 32)}));
        final LatencyModel before = m.copy();
        for (int request = 0; request < 3; request++)
        {
            // a new CPU quota: every layer now takes three times as long; layer 3 is not observed
            m.observe(1, 16, 3 * truth(g, 1, 16));
            m.observe(2, 16, 3 * truth(g, 2, 16));
            m.endRequest();
        }
        assertEquals(3 * before.predictNs(1, 16), m.predictNs(1, 16), 0.02 * m.predictNs(1, 16));
        assertEquals(3 * before.predictNs(2, 32), m.predictNs(2, 32), 0.02 * m.predictNs(2, 32));
        assertEquals(3 * before.predictNs(3, 32), m.predictNs(3, 32), 0.02 * m.predictNs(3, 32));
        assertEquals(3, m.observations(1));
        assertEquals(0, before.observations(1));
        m.observe(1, 0, 1000);
        m.observe(0, 32, 1000);
        m.observe(1, 16, -1);
        m.endRequest();
        assertEquals(3, m.observations(1));
    }

    @Test
    void shouldForgetTheOldMediansWhenToldTheDeviceChanged()
    {
        final LayerGraph g = graph();
        final LatencyModel m = LatencyModel.fit(g, DeviceProfile.of("d", 1e9, 1 << 30, new int[]{1}, new int[]{32},
            new long[]{truth(g, 1, 32)}));
        final double before = m.predictNs(1, 32);
        for (int r = 0; r < 5; r++)
        {
            m.observe(1, 32, truth(g, 1, 32));
            m.endRequest();
        }
        for (int r = 0; r < 3; r++)
        {
            m.observe(1, 32, 3 * truth(g, 1, 32));
            m.endRequest();
        }
        // five old ratios of 1 and three new of 3: the median still says 1
        assertEquals(before, m.predictNs(1, 32), 0.01 * before);
        m.keepLatest(3);
        assertEquals(3, m.observations(1));
        assertEquals(3 * before, m.predictNs(1, 32), 0.01 * before);
    }

    @Test
    void shouldRefuseSamplesOutsideTheModel()
    {
        final LayerGraph g = graph();
        assertThrows(IllegalArgumentException.class, () -> LatencyModel.fit(g,
            DeviceProfile.of("d", 1e9, 1 << 30, new int[]{9}, new int[]{1}, new long[]{1})));
        assertThrows(IllegalArgumentException.class, () -> LatencyModel.fit(g,
            DeviceProfile.of("d", 1e9, 1 << 30, new int[]{1}, new int[]{33}, new long[]{1})));
        assertThrows(IllegalArgumentException.class, () -> DeviceProfile.of("d", 0, 1, new int[0], new int[0],
            new long[0]));
        assertThrows(IllegalArgumentException.class, () -> DeviceProfile.of("d", 1e9, 1, new int[]{1}, new int[]{0},
            new long[]{1}));
    }
}
