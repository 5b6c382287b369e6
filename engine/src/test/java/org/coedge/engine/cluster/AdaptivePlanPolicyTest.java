package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LayerKind;
import org.coedge.planner.Plan;
import org.coedge.planner.RowMap;
import org.coedge.planner.Step;
import org.coedge.planner.StepCompiler;
import org.junit.jupiter.api.Test;

/**
 * The adaptive policy in the coordinator's loop: it plans from the view, learns every request's step times, asks
 * for a new plan only after the measured compute has drifted from the prediction for three requests in a row, and
 * the new plan follows what was measured.
 */
class AdaptivePlanPolicyTest
{
    /** A source, four 64-row 3x3 convs of 2 MFLOPs a row, and a one-row head. */
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int last = b.addSource("in", 64, 64, 8);
        for (int i = 0; i < 4; i++)
        {
            last = b.addLayer("conv" + i, new int[]{last}, new RowMap[]{RowMap.window(3, 1, 1, 1, 64, 64)}, 64, 64, 8,
                2_000_000, 2048);
            b.describe(last, LayerKind.CONV_3X3, 2304);
        }
        final int fc = b.addLayer("fc", new int[]{last}, new RowMap[]{RowMap.global(64, 1)}, 1, 1, 10, 100_000, 40);
        b.describe(fc, LayerKind.FULLY_CONNECTED, 40_000);
        return b.markOutput(fc).build();
    }

    private static ClusterView view(final double... gflops)
    {
        final int n = gflops.length;
        final int[] nodes = new int[n];
        final double[] flops = new double[n];
        final long[] memory = new long[n];
        final double[] rtt = new double[n];
        final double[] bps = new double[n];
        for (int d = 0; d < n; d++)
        {
            nodes[d] = d;
            flops[d] = gflops[d] * 1e9;
            memory[d] = 1L << 30;
            rtt[d] = d == 0 ? 0 : 100_000;
            bps[d] = d == 0 ? 0 : 1e9;
        }
        return new ClusterView(nodes, flops, new double[n], flops, memory, rtt, bps, -1);
    }

    /** Step times of a request in which device {@code slow} computes {@code factor} times slower than predicted. */
    private static RequestTimes times(
        final AdaptivePlanPolicy policy, final List<DeviceProgram> programs, final int slow, final double factor)
    {
        final RequestTimes t = new RequestTimes(programs);
        for (int d = 0; d < programs.size(); d++)
        {
            final List<Step> steps = programs.get(d).steps();
            for (int i = 0; i < steps.size(); i++)
            {
                final Step s = steps.get(i);
                final double ns = s.kind() == Step.Kind.COMPUTE ?
                    policy.models()[d].predictNs(s.layer(), s.rows().rows()) : 20_000;
                t.stepNs(d, i, Math.round(ns * (d == slow && s.kind() == Step.Kind.COMPUTE ? factor : 1)));
            }
        }
        return t;
    }

    @Test
    void shouldReplanAfterThreeRequestsOfDriftAndGiveTheSlowDeviceFewerRows()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy policy = new AdaptivePlanPolicy(new PrintWriter(log, true)).checkAlone(false);
        final int[] outputs = {graph.layerCount() - 1};
        final Plan first = policy.plan(graph, outputs, view(10, 10), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, first, outputs);
        policy.learn(first, programs, times(policy, programs, 1, 100)); // the first, cold request is not learnt
        final int rowsBefore = first.stages().get(0).deviceRows(1).rows();
        assertTrue(rowsBefore > 0, "two equal devices on a fast link share the rows: " + first);

        // as predicted: no re-plan
        for (int r = 0; r < 5; r++)
        {
            policy.learn(first, programs, times(policy, programs, -1, 1));
            assertFalse(policy.wantsReplan(view(10, 10)), "request " + r);
        }
        // device 1 now computes three times slower (a new CPU quota): two requests are not enough, three are
        for (int r = 0; r < 3; r++)
        {
            policy.learn(first, programs, times(policy, programs, 1, 3));
            assertEquals(r == 2, policy.wantsReplan(view(10, 10)), "request " + r);
        }
        assertTrue(log.toString().contains("planning again"), log.toString());
        final Plan second = policy.plan(graph, outputs, view(10, 10), 2);
        assertEquals(2, second.epoch());
        assertNotEquals(first.toString(), second.toString());
        final int rowsAfter = second.stages().get(0).deviceRows(1).rows();
        assertTrue(rowsAfter < rowsBefore, "device 1 had " + rowsBefore + " rows, now " + rowsAfter + ": " + second);
        // a plan from another epoch teaches it nothing
        policy.learn(first, programs, times(policy, programs, 1, 10));
        assertFalse(policy.wantsReplan(view(10, 10)));
    }

    @Test
    void shouldGoBackToThePlanBeforeARePlanThatMeasuredSlowerAndStayThere()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy policy = new AdaptivePlanPolicy(new PrintWriter(log, true)).checkAlone(false);
        final int[] outputs = {graph.layerCount() - 1};
        final Plan first = policy.plan(graph, outputs, view(10, 10), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, first, outputs);
        policy.learn(first, programs, times(policy, programs, 1, 100)); // cold, not learnt
        boolean replanned = false;
        for (int r = 0; r < 8 && !replanned; r++)
        {
            policy.learn(first, programs, times(policy, programs, 1, 3));
            replanned = policy.wantsReplan(view(10, 10));
        }
        assertTrue(replanned, log.toString());
        final Plan second = policy.plan(graph, outputs, view(10, 10), 2);
        assertNotEquals(first.stages().toString(), second.stages().toString());
        // the new plan measures far slower than the one before it did (whatever the models say)
        policy.drift(Double.POSITIVE_INFINITY);
        final List<DeviceProgram> secondPrograms = StepCompiler.compile(graph, second, outputs);
        policy.learn(second, secondPrograms, lasting(secondPrograms, 1_000_000_000)); // cold, not learnt
        for (int r = 0; r < AdaptivePlanPolicy.GUARD_REQUESTS; r++)
        {
            policy.learn(second, secondPrograms, lasting(secondPrograms, 10_000_000_000L));
            assertEquals(r == AdaptivePlanPolicy.GUARD_REQUESTS - 1, policy.wantsReplan(view(10, 10)), log.toString());
        }
        assertTrue(log.toString().contains("back to that one"), log.toString());
        final Plan back = policy.plan(graph, outputs, view(10, 10), 3);
        assertEquals(first.stages().toString(), back.stages().toString());
        // settled: drift no longer re-plans on these devices
        policy.drift(AdaptivePlanPolicy.DRIFT);
        final List<DeviceProgram> backPrograms = StepCompiler.compile(graph, back, outputs);
        for (int r = 0; r < 8; r++)
        {
            policy.learn(back, backPrograms, times(policy, backPrograms, 1, 3));
            assertFalse(policy.wantsReplan(view(10, 10)), "request " + r + ": " + log);
        }
    }

    @Test
    void shouldKeepThePlanWhenEveryDeviceSlowsDownAlike()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy policy = new AdaptivePlanPolicy(new PrintWriter(log, true)).checkAlone(false);
        final int[] outputs = {graph.layerCount() - 1};
        final Plan plan = policy.plan(graph, outputs, view(10, 10), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, outputs);
        policy.learn(plan, programs, times(policy, programs, 1, 100)); // the first, cold request is not learnt
        for (int r = 0; r < 6; r++)
        {
            // both devices 1.5 times slower: drift, but no other plan is better, so no re-plan
            final RequestTimes t = times(policy, programs, 0, 1.5);
            final RequestTimes u = times(policy, programs, 1, 1.5);
            for (int i = 0; i < programs.get(1).steps().size(); i++)
            {
                t.stepNs(1, i, u.stepNs(1, i));
            }
            policy.learn(plan, programs, t);
            assertFalse(policy.wantsReplan(view(10, 10)), "request " + r + ": " + log);
        }
        assertFalse(log.toString().contains("planning again"), log.toString());
    }

    /** Step times that make device 0's program (the request as the coordinator sees it) last {@code ns} in all. */
    private static RequestTimes lasting(final List<DeviceProgram> programs, final long ns)
    {
        final RequestTimes t = new RequestTimes(programs);
        t.stepNs(0, 0, ns);
        return t;
    }

    @Test
    void shouldMeasureTheFastestDeviceAloneAfterACooperativePlanAndKeepWhicheverWasFaster()
    {
        final LayerGraph graph = graph();
        final int[] outputs = {graph.layerCount() - 1};
        for (final boolean aloneWins : new boolean[]{true, false})
        {
            final StringWriter log = new StringWriter();
            // drift off: the made-up times below are not what the models predict
            final AdaptivePlanPolicy policy = new AdaptivePlanPolicy(new PrintWriter(log, true))
                .drift(Double.POSITIVE_INFINITY);
            final Plan cooperative = policy.plan(graph, outputs, view(10, 10), 1);
            assertTrue(cooperative.stages().size() > 1, cooperative.toString());
            List<DeviceProgram> programs = StepCompiler.compile(graph, cooperative, outputs);
            policy.learn(cooperative, programs, lasting(programs, 1_000_000_000)); // cold, not learnt
            for (int r = 0; r < AdaptivePlanPolicy.GUARD_REQUESTS; r++)
            {
                policy.learn(cooperative, programs, lasting(programs, 10_000_000));
                assertEquals(r == AdaptivePlanPolicy.GUARD_REQUESTS - 1, policy.wantsReplan(view(10, 10)), log.toString());
            }
            final Plan alone = policy.plan(graph, outputs, view(10, 10), 2);
            assertEquals(1, alone.stages().size(), alone.toString());
            assertEquals(2, alone.epoch());
            programs = StepCompiler.compile(graph, alone, outputs);
            policy.learn(alone, programs, lasting(programs, 1_000_000_000)); // cold, not learnt
            for (int r = 0; r < AdaptivePlanPolicy.GUARD_REQUESTS; r++)
            {
                policy.learn(alone, programs, lasting(programs, aloneWins ? 8_000_000 : 12_000_000));
                assertEquals(!aloneWins && r == AdaptivePlanPolicy.GUARD_REQUESTS - 1,
                    policy.wantsReplan(view(10, 10)), log.toString());
            }
            if (!aloneWins)
            {
                final Plan back = policy.plan(graph, outputs, view(10, 10), 3);
                assertEquals(cooperative.stages().toString(), back.stages().toString());
                assertEquals(3, back.epoch());
            }
            assertTrue(log.toString().contains(aloneWins ? "keeping the device alone" : "back to the cooperative plan"),
                log.toString());
        }
    }

    @Test
    void shouldRunEverythingOnTheCoordinatorWhenTheLinkIsTooSlow()
    {
        final LayerGraph graph = graph();
        final AdaptivePlanPolicy policy = new AdaptivePlanPolicy(new PrintWriter(new StringWriter()));
        final ClusterView slowLink = new ClusterView(new int[]{0, 1}, new double[]{1e10, 1e10}, new double[2],
            new double[]{1e10, 1e10}, new long[]{1L << 30, 1L << 30}, new double[]{0, 1e8}, new double[]{0, 1e4}, -1);
        final Plan plan = policy.plan(graph, new int[]{graph.layerCount() - 1}, slowLink, 1);
        assertEquals(1, plan.stages().size(), plan.toString());
        assertEquals(0, plan.stages().get(0).firstDeviceWithRows(), plan.toString());
    }
}
