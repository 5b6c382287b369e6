package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * The energy case on the planner's predictions: two slow low-power devices and one fast high-power one, a
 * deadline 1.25x the latency-optimal plan's predicted latency; prints the predicted energy of the energy plan, the
 * latency plan and an equal split, and holds the energy plan to the deadline and to no more energy than the
 * latency plan. Predictions only: what the testbed measures is the lead's.
 */
class EnergyVersusLatencyTest
{
    private static final double PERIOD_NS = 10e6;

    /** A VGG-like chain on a 64x64 input: three resolutions of two 3x3 convolutions and a pool, then a classifier. */
    static LayerGraph vggLike()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int last = b.addSource("in", 64, 64, 3);
        int h = 64;
        int c = 3;
        for (final int out : new int[]{64, 128, 256})
        {
            for (int i = 0; i < 2; i++)
            {
                last = conv(b, last, h, c, out);
                c = out;
            }
            last = b.addLayer("pool" + h, new int[]{last}, new RowMap[]{RowMap.window(2, 2, 1, 0, h, h / 2)},
                h / 2, h / 2, c, 4L * (h / 2) * c, 4L * (h / 2) * c);
            b.describe(last, LayerKind.POOL, 0);
            h /= 2;
        }
        final int fc = b.addLayer("fc", new int[]{last}, new RowMap[]{RowMap.global(h, 1)}, 1, 1, 100,
            2L * h * h * c * 100, 400);
        b.describe(fc, LayerKind.FULLY_CONNECTED, 4L * h * h * c * 100);
        return b.markOutput(fc).build();
    }

    private static int conv(final LayerGraph.Builder b, final int in, final int h, final int cin, final int cout)
    {
        final int id = b.addLayer("conv" + h + "x" + cout, new int[]{in},
            new RowMap[]{RowMap.window(3, 1, 1, 1, h, h)}, h, h, cout, 2L * 9 * cin * cout * h, 4L * h * cout);
        b.describe(id, LayerKind.CONV_3X3, 4L * 9 * cin * cout);
        return id;
    }

    @Test
    void shouldPrintEnergyOfTheEnergyPlanAgainstTheLatencyPlanAndAnEqualSplit()
    {
        final LayerGraph g = vggLike();
        final int[] outputs = RandomGraphs.outputs(g);
        final LinkModel links = LinkModel.uniform(3, 125e6, 50_000, 5_000); // 1 Gbit/s
        final PowerModel[] power = {PowerModel.PI4, PowerModel.PI4, PowerModel.MINIPC};

        // the testbed's cluster: the same cores under CPU quotas of 0.45, 0.45 and 0.9
        final LatencyModel[] quotas = {
            AdaptivePlannerTest.device(g, 10e9, 20_000, 1L << 40).quota(new CpuQuota(0.45, PERIOD_NS)),
            AdaptivePlannerTest.device(g, 10e9, 20_000, 1L << 40).quota(new CpuQuota(0.45, PERIOD_NS)),
            AdaptivePlannerTest.device(g, 10e9, 20_000, 1L << 40).quota(new CpuQuota(0.9, PERIOD_NS))};
        report("0.45/0.45/0.9 core, pi4/pi4/minipc", g, outputs, quotas, links, power);
        // the same, counting only energy above idle (what the CPUs and interfaces add for the request)
        report("0.45/0.45/0.9 core, above idle only", g, outputs, quotas, links, aboveIdle(power));

        // boards as they are: a Pi 4 core about a quarter as fast as a mini PC's, one core each
        final LatencyModel[] boards = {
            AdaptivePlannerTest.device(g, 3e9, 20_000, 1L << 40),
            AdaptivePlannerTest.device(g, 3e9, 20_000, 1L << 40),
            AdaptivePlannerTest.device(g, 12e9, 20_000, 1L << 40)};
        report("1 core each, Pi 4 at 1/4 the mini PC's speed, pi4/pi4/minipc", g, outputs, boards, links, power);
        report("1 core each, Pi 4 at 1/4 the mini PC's speed, above idle only", g, outputs, boards, links,
            aboveIdle(power));
    }

    private static PowerModel[] aboveIdle(final PowerModel[] power)
    {
        final PowerModel[] out = new PowerModel[power.length];
        for (int d = 0; d < power.length; d++)
        {
            out[d] = PowerModel.of(power[d].activeWattsPerCore(), 0, power[d].nanojoulesPerByteSent(),
                power[d].nanojoulesPerByteReceived());
        }
        return out;
    }

    private static void report(
        final String cluster, final LayerGraph g, final int[] outputs, final LatencyModel[] devices,
        final LinkModel links, final PowerModel[] power)
    {
        final PlanChoice latency = AdaptivePlanner.plan(g, outputs, devices, links, 0);
        final double deadline = 1.25 * latency.prediction().endNs();
        final long t0 = System.nanoTime();
        final EnergyChoice energy = EnergyPlanner.plan(g, outputs, devices, links, power, deadline, 0);
        final long planNs = System.nanoTime() - t0;
        final Prediction equal = PlanSimulator.predict(g, Planner.uniform(g, new double[]{1, 1, 1}, 1), outputs,
            devices, links);
        final double equalJ = PlanEnergy.of(equal, power).totalJoules();
        final double energyJ = energy.energy().totalJoules();
        final double latencyJ = energy.latencyEnergy().totalJoules();
        System.out.println(String.format(Locale.ROOT, "%s, deadline %.2f ms (1.25x latency-optimal); energy plan " +
            "searched in %.0f ms:%n  energy plan  %.2f ms %.4f J %s  [%s]%n  latency plan %.2f ms %.4f J %s  [%s]%n" +
            "  equal split  %.2f ms %.4f J %s%n  energy plan saves %.1f%% against the latency plan, %.1f%% " +
            "against equal", cluster, deadline * 1e-6, planNs * 1e-6, energy.choice().prediction().endNs() * 1e-6,
            energyJ, energy.energy(), energy.choice().description(), latency.prediction().endNs() * 1e-6, latencyJ,
            energy.latencyEnergy(), latency.description(), equal.endNs() * 1e-6, equalJ,
            PlanEnergy.of(equal, power), 100 * (1 - energyJ / latencyJ), 100 * (1 - energyJ / equalJ)));
        assertTrue(energy.meetsDeadline());
        assertTrue(energy.choice().prediction().endNs() <= deadline);
        assertTrue(energyJ <= latencyJ);
    }
}
