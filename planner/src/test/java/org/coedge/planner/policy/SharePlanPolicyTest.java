package org.coedge.planner.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.RowMap;
import org.coedge.planner.StepCompiler;
import org.junit.jupiter.api.Test;

/**
 * The default plan policy: rows in the shares its {@link SharePolicy} gives the view's estimated rates, and a new
 * plan only when measured rates predict the current one finishes over 10% late, judged no sooner than a number of
 * requests that doubles after each such re-plan.
 */
class SharePlanPolicyTest
{
    private static final int FC = 2;

    /** A source, a 10-row spatial layer of 60 FLOPs per row, and a one-row head of 400 FLOPs. */
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 10, 1, 1);
        final int conv = b.addLayer("conv", new int[]{ in }, new RowMap[]{ RowMap.identity(10) }, 10, 1, 1, 60, 4);
        b.addLayer("fc", new int[]{ conv }, new RowMap[]{ RowMap.global(10, 1) }, 1, 1, 1, 400, 4);
        return b.build();
    }

    private static ClusterView view(final double... flops)
    {
        final int n = flops.length;
        final int[] nodes = new int[n];
        final long[] memory = new long[n];
        final double[] rtt = new double[n];
        final double[] bps = new double[n];
        for (int d = 0; d < n; d++)
        {
            nodes[d] = d;
            memory[d] = 1L << 30;
            rtt[d] = d == 0 ? 0 : 100_000;
            bps[d] = d == 0 ? 0 : 1e8;
        }
        return new ClusterView(nodes, flops, flops, flops, memory, rtt, bps, -1);
    }

    @Test
    void shouldGiveEachDeviceRowsInTheSharesOfItsPolicy()
    {
        final LayerGraph graph = graph();
        final Plan equal = new SharePlanPolicy(SharePolicy.EQUAL, 1, new PrintWriter(new StringWriter()))
            .plan(graph, new int[]{ FC }, view(3, 1), 7);
        assertEquals(7, equal.epoch());
        assertEquals(2, equal.deviceCount());
        assertEquals(5, equal.stages().get(0).deviceRows(0).rows());
        assertEquals(5, equal.stages().get(0).deviceRows(1).rows());
        final SharePlanPolicy auto = new SharePlanPolicy(SharePolicy.PROPORTIONAL, SharePlanPolicy.FUSE_AUTO,
            new PrintWriter(new StringWriter()));
        final Plan proportional = auto.plan(graph, new int[]{ FC }, view(4, 1), 8);
        assertEquals(8, proportional.stages().get(0).deviceRows(0).rows());
        assertEquals(2, proportional.stages().get(0).deviceRows(1).rows());
        assertTrue(auto.fuseDepth() >= 1, "fuse depth chosen by estimate: " + auto.fuseDepth());
    }

    @Test
    void shouldAskForANewPlanOnlyAfterEnoughRequestsAndWaitLongerEachTime()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final SharePlanPolicy policy = new SharePlanPolicy(SharePolicy.PROPORTIONAL, 1, new PrintWriter(log, true));
        final Plan plan = policy.plan(graph, new int[]{ FC }, view(1, 1), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ FC });
        final RequestTimes times = new RequestTimes(programs);
        final int first = policy.requestsBeforeReplan();
        // device 0 turns out twice as fast: the plan (1:1) finishes 1.5x later than a 2:1 one
        for (int r = 1; r < first; r++)
        {
            policy.learn(plan, programs, times);
            assertFalse(policy.wantsReplan(view(2, 1)), "judged after " + r + " request(s)");
        }
        policy.learn(plan, programs, times);
        assertTrue(policy.wantsReplan(view(2, 1)));
        assertTrue(log.toString().contains("1.50x later"), log.toString());
        assertEquals(2 * first, policy.requestsBeforeReplan());
        assertFalse(policy.wantsReplan(view(2, 1)), "the count starts again after asking");

        // planned with the measured rates, the same rates ask for nothing however long they hold
        final Plan balanced = policy.plan(graph, new int[]{ FC }, view(2, 1), 2);
        for (int r = 0; r < 4 * first; r++)
        {
            policy.learn(balanced, programs, times);
            assertFalse(policy.wantsReplan(view(2, 1)));
        }
        // one device alone has nothing to balance
        assertFalse(policy.wantsReplan(view(5)));
    }

    @Test
    void shouldKeepItsPlanWhenTheThresholdIsInfinite()
    {
        final LayerGraph graph = graph();
        final SharePlanPolicy policy = new SharePlanPolicy(SharePolicy.PROPORTIONAL, 1,
            new PrintWriter(new StringWriter())).replanImbalance(Double.POSITIVE_INFINITY);
        final Plan plan = policy.plan(graph, new int[]{ FC }, view(1, 1), 1);
        for (int r = 0; r < 10; r++)
        {
            policy.learn(plan, List.of(), null);
            assertFalse(policy.wantsReplan(view(100, 1)));
        }
    }

    @Test
    void shouldJudgeAPlanByItsSlowestDevice()
    {
        assertEquals(1, SharePlanPolicy.imbalance(new double[]{1, 1}, new double[]{2, 2}), 1e-12);
        // a device given half the rows that should get a third finishes 1.5x later
        assertEquals(1.5, SharePlanPolicy.imbalance(new double[]{1, 1}, new double[]{2, 1}), 1e-12);
        // rows on a device that should have none: unbounded
        assertTrue(Double.isInfinite(SharePlanPolicy.imbalance(new double[]{1, 1}, new double[]{0, 1})));
        // no rows where some are wanted only makes the others late
        assertEquals(1.5, SharePlanPolicy.imbalance(new double[]{0, 1, 1}, new double[]{1, 1, 1}), 1e-12);
    }

    @Test
    void shouldRefuseAViewWhoseArraysDisagree()
    {
        assertThrows(IllegalArgumentException.class, () -> new ClusterView(new int[]{ 0, 1 }, new double[2],
            new double[2], new double[1], new long[2], new double[2], new double[2], -1));
    }
}
