package org.coedge.planner.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LayerKind;
import org.coedge.planner.LinkModel;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanChoice;
import org.coedge.planner.PlanSimulator;
import org.coedge.planner.RowMap;
import org.junit.jupiter.api.Test;

/**
 * The adaptive policy under its objectives: the energy objective's plan meets its deadline and spends no more than
 * the fastest plan, and is measured against it; the accuracy objective answers from the most accurate exit whose fastest plan meets the deadline
 * (checked against planning each exit alone), and from the fastest exit, with a warning, when none does; a link
 * that became slow moves the plan off it at once.
 */
class ObjectivePolicyTest
{
    /**
     * A source, two 3x3 convs, exit 0 (pool + fc), then four more convs and exit 1: each exit a global pool and a
     * classifier, as a BranchyNet's side branches.
     */
    private static LayerGraph twoExits(final int[] exitLayers)
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int last = b.addSource("in", 64, 64, 8);
        for (int i = 0; i < 6; i++)
        {
            last = b.addLayer("conv" + i, new int[]{last}, new RowMap[]{RowMap.window(3, 1, 1, 1, 64, 64)}, 64, 64, 8,
                2_000_000, 2048);
            b.describe(last, LayerKind.CONV_3X3, 2304);
            if (i == 1)
            {
                exitLayers[0] = head(b, last, "exit0");
            }
        }
        exitLayers[1] = head(b, last, "exit1");
        return b.markOutput(exitLayers[0]).markOutput(exitLayers[1]).build();
    }

    private static int head(final LayerGraph.Builder b, final int from, final String name)
    {
        final int fc = b.addLayer(name, new int[]{from}, new RowMap[]{RowMap.global(64, 1)}, 1, 1, 10, 100_000, 40);
        b.describe(fc, LayerKind.FULLY_CONNECTED, 40_000);
        return fc;
    }

    private static ClusterView view(final double[] gflops, final double linkBytesPerSecond, final String... powers)
    {
        return Views.of(gflops, linkBytesPerSecond, powers);
    }

    /** @return the plan the latency objective chooses without a trial (what a deadline is set against). */
    private static PlanChoice fastest(final LayerGraph graph, final int[] outputs, final ClusterView view,
        final StringWriter log)
    {
        final AdaptivePlanPolicy p = policy(log, PlanObjective.LATENCY).trial(false);
        p.plan(graph, outputs, view, 1);
        return p.choice();
    }

    private static AdaptivePlanPolicy policy(final StringWriter log, final PlanObjective objective)
    {
        return new AdaptivePlanPolicy(new PrintWriter(log, true)).compilerClock(() -> 0).objective(objective);
    }

    @Test
    void shouldMeetTheDeadlineWithNoMoreEnergyThanTheFastestPlan()
    {
        final int[] exits = new int[2];
        final LayerGraph graph = twoExits(exits);
        final int[] outputs = {exits[1]};
        final ClusterView view = view(new double[]{5, 5, 20}, 125e6, "pi4", "pi4", "minipc");
        // the fastest plan, for its latency and energy
        final StringWriter log = new StringWriter();
        final PlanChoice fastest = fastest(graph, outputs, view, log);
        final double fastestMs = fastest.prediction().endNs() * 1e-6;
        final double fastestJ = ObjectiveSearch.joules(fastest.prediction(), new String[]{"pi4", "pi4", "minipc"});
        final double deadlineMs = 1.25 * fastestMs;
        final AdaptivePlanPolicy energy = policy(log, PlanObjective.of("energy", deadlineMs));
        final Plan plan = energy.plan(graph, outputs, view, 1);
        assertEquals(1, plan.epoch());
        assertTrue(energy.exploring(), "the energy plan is measured against the fastest and the robust plans");
        final double ms = energy.choice().prediction().endNs() * 1e-6;
        final double joules = energy.search().joules(energy.choice().prediction());
        assertTrue(ms <= deadlineMs, ms + " ms against a deadline of " + deadlineMs);
        assertTrue(joules <= fastestJ + 1e-12, joules + " J against the fastest plan's " + fastestJ);
        assertNull(energy.search().warning());
    }

    @Test
    void shouldPlanAgainWhenThreeRequestsInARowMissTheDeadline()
    {
        final int[] exits = new int[2];
        final LayerGraph graph = twoExits(exits);
        final int[] outputs = {exits[1]};
        final ClusterView view = view(new double[]{5, 5, 20}, 125e6, "pi4", "pi4", "minipc");
        final StringWriter log = new StringWriter();
        final double deadlineMs = 1.25 * fastest(graph, outputs, view, log).prediction().endNs() * 1e-6;
        // no trial: its candidates may miss the deadline, which is what it measures
        final AdaptivePlanPolicy energy = policy(log, PlanObjective.of("energy", deadlineMs)).trial(false);
        final Plan plan = energy.plan(graph, outputs, view, 1);
        final java.util.List<org.coedge.planner.DeviceProgram> programs =
            org.coedge.planner.StepCompiler.compile(graph, plan, outputs);
        // every device computes 3 times slower than its model says: the plan misses the deadline
        boolean replanned = false;
        for (int r = 0; r < 1 + 3 && !replanned; r++)
        {
            final RequestTimes t = new RequestTimes(programs);
            for (int d = 0; d < programs.size(); d++)
            {
                for (int i = 0; i < programs.get(d).steps().size(); i++)
                {
                    final org.coedge.planner.Step s = programs.get(d).steps().get(i);
                    t.stepNs(d, i, s.kind() == org.coedge.planner.Step.Kind.COMPUTE ?
                        Math.round(3 * energy.models()[d].predictNs(s.layer(), s.rows().rows())) : 20_000);
                }
            }
            // the coordinator's steps span the request: one long step makes it late
            t.stepNs(0, 0, Math.round(2 * deadlineMs * 1e6));
            energy.learn(plan, programs, t);
            replanned = energy.wantsReplan(view);
            assertEquals(r == 3, replanned || log.toString().contains("missed the deadline"),
                "request " + r + ": " + log);
        }
        assertTrue(log.toString().contains("3 requests in a row missed the deadline"), log.toString());
    }

    @Test
    void shouldRefuseTheEnergyObjectiveWhenADeviceStatedNoPowerModel()
    {
        final int[] exits = new int[2];
        final LayerGraph graph = twoExits(exits);
        final AdaptivePlanPolicy energy = policy(new StringWriter(), PlanObjective.of("energy", 100));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> energy.plan(graph,
            new int[]{exits[1]}, view(new double[]{5, 5}, 125e6, "pi4", ""), 1));
        assertTrue(e.getMessage().contains("worker node 1 stated none"), e.getMessage());
    }

    @Test
    void shouldAnswerFromTheMostAccurateExitWhosePlanMeetsTheDeadline()
    {
        final int[] exits = new int[2];
        final LayerGraph graph = twoExits(exits);
        final ClusterView view = view(new double[]{5, 5}, 125e6);
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy probe = policy(log, PlanObjective.LATENCY).trial(false);
        probe.plan(graph, new int[]{exits[0], exits[1]}, view, 1);
        // the fastest plan of each exit alone, on the same models and links the policy plans with
        final LatencyModel[] models = probe.models();
        final LinkModel links = probe.links();
        final double exit0Ms = AdaptivePlanner.plan(graph, new int[]{exits[0]}, models, links, 1).prediction()
            .endNs() * 1e-6;
        final double exit1Ms = AdaptivePlanner.plan(graph, new int[]{exits[1]}, models, links, 1).prediction()
            .endNs() * 1e-6;
        assertTrue(exit0Ms < exit1Ms, exit0Ms + " / " + exit1Ms);
        for (final double deadline : new double[]{0.5 * exit0Ms, (exit0Ms + exit1Ms) / 2, 2 * exit1Ms})
        {
            final AdaptivePlanPolicy p = policy(log, PlanObjective.of("accuracy", deadline)).trial(false);
            p.search().exits(exits, new double[]{0.89, 0.915}, new String[]{"exit0", "exit1"});
            final Plan plan = p.plan(graph, new int[]{exits[0], exits[1]}, view, 1);
            final int expected = deadline >= exit1Ms ? 1 : 0; // below exit 0's time: the fastest, exit 0
            assertArrayEquals(new int[]{exits[expected]}, plan.outputs(), "deadline " + deadline + " ms");
            assertEquals(expected, p.search().exitOf(plan));
            assertEquals(deadline < exit0Ms, p.search().warning() != null, "a warning when no exit meets it");
            // what the plan computes: only the layers of its exit
            final PlanChoice c = p.choice();
            assertEquals(c.prediction().endNs(), PlanSimulator.predict(graph, plan, plan.outputs(), models, links)
                .endNs(), 1e-6 * c.prediction().endNs());
        }
    }

    @Test
    void shouldMeasureEveryExitAndKeepTheMostAccurateThatMeetsTheDeadlineInNearlyEveryRequest()
    {
        final int[] exits = new int[2];
        final LayerGraph graph = twoExits(exits);
        final ClusterView view = view(new double[]{5, 5}, 125e6);
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy p = policy(log, PlanObjective.of("accuracy", 1000));
        p.search().exits(exits, new double[]{0.89, 0.915}, new String[]{"exit0", "exit1"});
        p.plan(graph, new int[]{exits[0], exits[1]}, view, 1);
        assertTrue(p.exploring(), "both exits' plans are measured: " + log);
        // exit 1 (the more accurate) runs 12 ms and misses a 10 ms deadline twice in 8; exit 0 runs 5 ms
        final PlanObjective deadline = PlanObjective.of("accuracy", 10);
        final AdaptivePlanPolicy q = policy(log, deadline);
        q.search().exits(exits, new double[]{0.89, 0.915}, new String[]{"exit0", "exit1"});
        q.plan(graph, new int[]{exits[0], exits[1]}, view, 1);
        final int[] late = new int[2];
        for (int r = 0; r < 40 && q.exploring(); r++)
        {
            final Plan plan = q.choice().plan();
            final java.util.List<org.coedge.planner.DeviceProgram> programs =
                org.coedge.planner.StepCompiler.compile(graph, plan, plan.outputs());
            final int exit = q.search().exitOf(plan);
            final RequestTimes t = new RequestTimes(programs);
            // the coordinator's first step spans the request
            final boolean slow = exit == 1 && late[1]++ % 4 == 0;
            t.stepNs(0, 0, slow ? 12_000_000 : exit == 1 ? 8_000_000 : 5_000_000);
            q.learn(plan, programs, t);
            if (q.wantsReplan(view))
            {
                q.plan(graph, new int[]{exits[0], exits[1]}, view, 2 + r);
            }
        }
        assertFalse(q.exploring(), "the trial ended: " + log);
        assertEquals(0, q.search().exitOf(q.choice().plan()), "exit 1 missed the deadline in 2 of its 8: " + log);
    }

    @Test
    void shouldMoveThePlanOffALinkThatBecameSlowAndBackWhenItRecovers()
    {
        final int[] exits = new int[2];
        final LayerGraph graph = twoExits(exits);
        final int[] outputs = {exits[1]};
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy p = policy(log, PlanObjective.LATENCY).trial(false);
        final ClusterView fast = view(new double[]{5, 5}, 1.25e9);
        final Plan first = p.plan(graph, outputs, fast, 1);
        assertTrue(first.stages().get(0).deviceRows(1).rows() > 0, "a fast link: both devices compute " + first);
        // 1 Gbit/s -> 1 Mbit/s: the rows of a map take longer to move than to compute here
        assertTrue(p.linksChanged(view(new double[]{5, 5}, 125e3)), log.toString());
        final Plan slow = p.plan(graph, outputs, view(new double[]{5, 5}, 125e3), 2);
        assertEquals(0, slow.stages().get(0).deviceRows(1).rows(), "a slow link: the coordinator alone " + slow);
        assertTrue(p.linksChanged(fast), log.toString());
        final Plan back = p.plan(graph, outputs, fast, 3);
        assertEquals(first.shape(), back.shape(), "the plan remembered for the fast link");
        assertTrue(log.toString().contains("as before at this link rate"), log.toString());
    }
}
