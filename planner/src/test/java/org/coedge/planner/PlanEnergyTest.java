package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The energy of a tiny plan worked by hand, and the measured form of the same formula. */
class PlanEnergyTest
{
    /** Input of 8 rows, one 3x3 convolution of 8 rows at 1 MFLOP per row. */
    private static LayerGraph tiny()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 4, 2); // 32 bytes per row
        final int c = b.addLayer("c", new int[]{in}, new RowMap[]{RowMap.window(3, 1, 1, 1, 8, 8)}, 8, 4, 4,
            1_000_000, 64);
        b.describe(c, LayerKind.CONV_3X3, 0);
        return b.markOutput(c).build();
    }

    @Test
    void shouldAddIdleOverTheRequestActiveOverCpuAndBytesPerDevice()
    {
        final LayerGraph g = tiny();
        // device 0 computes at 1 GFLOP/s, device 1 at 0.5; device 2 gets no rows
        final LatencyModel[] devices = {
            AdaptivePlannerTest.device(g, 1e9, 0, 1L << 30),
            AdaptivePlannerTest.device(g, 0.5e9, 0, 1L << 30),
            AdaptivePlannerTest.device(g, 1e9, 0, 1L << 30)};
        final LinkModel links = LinkModel.uniform(3, 1e8, 10_000, 2_000);
        final Plan plan = Planner.uniform(g, new double[]{1, 1, 0}, 1);
        final Prediction p = PlanSimulator.predict(g, plan, RandomGraphs.outputs(g), devices, links);
        final PowerModel[] power = {PowerModel.of(4, 2, 10, 20), PowerModel.of(1, 0.5, 3, 6),
            PowerModel.of(9, 1.5, 100, 100)};
        final PlanEnergy e = PlanEnergy.of(p, power);

        // rows 0-3 on device 0, 4-7 on device 1. Device 0 scatters input rows 3-7 (5 rows, 160 B) to device 1 and
        // gets back its 4 output rows (256 B); the input and the halo it needs are its own.
        final double endS = p.endNs() * 1e-9;
        final double cpu0 = 4e6 / 1e9 + 2e-6; // 4 rows at 1 GFLOP/s, one send at 2 us
        final double cpu1 = 4e6 / 0.5e9 + 2e-6; // 4 rows at 0.5 GFLOP/s, one send
        assertEquals(2 * endS + 4 * cpu0 + (10 * 160 + 20 * 256) * 1e-9, e.joules(0), 1e-9);
        assertEquals(0.5 * endS + 1 * cpu1 + (3 * 256 + 6 * 160) * 1e-9, e.joules(1), 1e-9);
        assertEquals(0, e.joules(2), "a device the plan gives nothing takes no part in the request");
        assertEquals(e.joules(0) + e.joules(1) + e.joules(2), e.totalJoules(), 1e-12);
        assertEquals(160, p.bytesSent(0));
        assertEquals(256, p.bytesReceived(0));
    }

    @Test
    void shouldComputeMeasuredEnergyByTheSameFormula()
    {
        final PowerModel[] power = {PowerModel.PI4, PowerModel.MINIPC};
        final PlanEnergy e = PlanEnergy.measured(power, new double[]{20e6, 5e6}, 50e6, new long[]{1000, 0},
            new long[]{0, 1000});
        // Pi: 2.7 W * 50 ms + 0.925 W * 20 ms + 2 nJ * 1000; mini PC: 10 W * 50 ms + 5 W * 5 ms + 1 nJ * 1000
        assertEquals(0.135 + 0.0185 + 2e-6, e.joules(0), 1e-12);
        assertEquals(0.5 + 0.025 + 1e-6, e.joules(1), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> PlanEnergy.measured(power, new double[1], 1,
            new long[2], new long[2]));
        assertEquals(0, PlanEnergy.measured(power, new double[]{20e6, 0}, 50e6, new long[2], new long[2]).joules(1),
            "a device that neither worked nor moved a byte took no part");
    }
}
