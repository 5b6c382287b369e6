package org.coedge.planner.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
 * The adaptive policy in the coordinator's loop: it measures its candidate plans and keeps the fastest measured,
 * learns every request's step times, tries a new plan only after the measured times drifted from the chosen plan's
 * baseline for three requests in a row, and keeps whichever of the two then measures faster.
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

    /** @return a policy logging into {@code log}, blind to this JVM's compiler (tests must not depend on the JIT). */
    private static AdaptivePlanPolicy policy(final StringWriter log)
    {
        return new AdaptivePlanPolicy(new PrintWriter(log, true)).compilerClock(() -> 0);
    }

    private static ClusterView view(final double... gflops)
    {
        return Views.of(gflops, 1e9);
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

    /** Feeds {@code requests} requests of {@code times} under {@code plan}; @return the wantsReplan answers. */
    private static boolean[] feed(final AdaptivePlanPolicy policy, final Plan plan, final List<DeviceProgram> programs,
        final java.util.function.Supplier<RequestTimes> times, final int requests, final ClusterView view)
    {
        final boolean[] replan = new boolean[requests];
        for (int r = 0; r < requests; r++)
        {
            policy.learn(plan, programs, times.get());
            replan[r] = policy.wantsReplan(view);
        }
        return replan;
    }

    private static boolean[] onlyLast(final int n)
    {
        final boolean[] b = new boolean[n];
        b[n - 1] = true;
        return b;
    }

    @Test
    void shouldReplanAfterThreeRequestsOfDriftAndGiveTheSlowDeviceFewerRows()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy policy = policy(log).trial(false);
        final int[] outputs = {graph.layerCount() - 1};
        final Plan first = policy.plan(graph, outputs, view(10, 10), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, first, outputs);
        final int rowsBefore = first.stages().get(0).deviceRows(1).rows();
        assertTrue(rowsBefore > 0, "two equal devices on a fast link share the rows: " + first);
        // the first request is cold and not learnt; then the plan's baseline, and requests as measured before
        policy.learn(first, programs, times(policy, programs, 1, 100));
        final boolean[] none = new boolean[AdaptivePlanPolicy.TRIAL_REQUESTS + 3];
        assertArrayEquals(none, feed(policy, first, programs, () -> times(policy, programs, -1, 1), none.length,
            view(10, 10)));
        assertFalse(policy.exploring());
        // device 1 now computes three times slower (a new CPU quota): two requests are not enough; after the third
        // the new plan is measured against the current one, which runs on for its trial
        final double[] slow = new double[programs.get(1).steps().size()];
        for (int i = 0; i < slow.length; i++)
        {
            slow[i] = times(policy, programs, 1, 3).stepNs(1, i);
        }
        final java.util.function.Supplier<RequestTimes> slowTimes = () ->
        {
            final RequestTimes t = times(policy, programs, -1, 1);
            for (int i = 0; i < slow.length; i++)
            {
                t.stepNs(1, i, Math.round(slow[i]));
            }
            return t;
        };
        assertArrayEquals(new boolean[3], feed(policy, first, programs, slowTimes, 3, view(10, 10)));
        assertTrue(policy.exploring(), log.toString());
        assertTrue(log.toString().contains("is at hand"), log.toString());
        assertArrayEquals(onlyLast(AdaptivePlanPolicy.TRIAL_REQUESTS), feed(policy, first, programs, slowTimes,
            AdaptivePlanPolicy.TRIAL_REQUESTS, view(10, 10)), log.toString());
        final Plan second = policy.plan(graph, outputs, view(10, 10), 2);
        assertEquals(2, second.epoch());
        final int rowsAfter = second.stages().get(0).deviceRows(1).rows();
        assertTrue(rowsAfter < rowsBefore, "device 1 had " + rowsBefore + " rows, now " + rowsAfter + ": " + second);
        // a plan from another epoch teaches it nothing
        policy.learn(first, programs, times(policy, programs, 1, 10));
        assertFalse(policy.wantsReplan(view(10, 10)));
    }

    @Test
    void shouldGoBackToTheCurrentPlanWhenTheNewOneMeasuresSlower()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy policy = policy(log).trial(false);
        final int[] outputs = {graph.layerCount() - 1};
        final Plan first = policy.plan(graph, outputs, view(10, 10), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, first, outputs);
        policy.learn(first, programs, lasting(programs, 1_000_000_000)); // cold
        feed(policy, first, programs, () -> withCompute(times(policy, programs, -1, 1), 10_000_000),
            AdaptivePlanPolicy.TRIAL_REQUESTS, view(10, 10));
        // device 1 three times slower: drift, a trial of a new plan, which then measures far slower
        boolean replanned = false;
        for (int r = 0; r < 3 + AdaptivePlanPolicy.TRIAL_REQUESTS && !replanned; r++)
        {
            policy.learn(first, programs, withCompute(times(policy, programs, 1, 3), 12_000_000));
            replanned = policy.wantsReplan(view(10, 10));
        }
        assertTrue(replanned, log.toString());
        final Plan second = policy.plan(graph, outputs, view(10, 10), 2);
        assertNotEquals(first.stages().toString(), second.stages().toString());
        // the new plan measures far slower than the current one, in every round of the trial
        Plan running = second;
        long epoch = 2;
        while (policy.exploring())
        {
            final Plan p = running;
            final List<DeviceProgram> ps = StepCompiler.compile(graph, p, outputs);
            final boolean isFirst = p.stages().toString().equals(first.stages().toString());
            policy.learn(p, ps, lasting(ps, 1_000_000_000)); // cold, not learnt
            final boolean[] replans = feed(policy, p, ps, () -> isFirst ?
                withCompute(times(policy, ps, -1, 1), 10_000_000) : lasting(ps, 50_000_000),
                AdaptivePlanPolicy.TRIAL_REQUESTS, view(10, 10));
            if (replans[AdaptivePlanPolicy.TRIAL_REQUESTS - 1])
            {
                running = policy.plan(graph, outputs, view(10, 10), ++epoch);
            }
        }
        assertEquals(first.stages().toString(), running.stages().toString(), log.toString());
        assertTrue(log.toString().contains("running"), log.toString());
    }

    /** @return {@code t} with device 0's first step set so that its program lasts {@code ns} in all. */
    private static RequestTimes withCompute(final RequestTimes t, final long ns)
    {
        long others = 0;
        for (int i = 1; i < t.stepCount(0); i++)
        {
            others += t.stepNs(0, i);
        }
        t.stepNs(0, 0, Math.max(1, ns - others));
        return t;
    }

    @Test
    void shouldKeepThePlanWhenEveryDeviceSlowsDownAlike()
    {
        final LayerGraph graph = graph();
        final StringWriter log = new StringWriter();
        final AdaptivePlanPolicy policy = policy(log).trial(false);
        final int[] outputs = {graph.layerCount() - 1};
        final Plan plan = policy.plan(graph, outputs, view(10, 10), 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, outputs);
        policy.learn(plan, programs, times(policy, programs, 1, 100)); // the first, cold request is not learnt
        feed(policy, plan, programs, () -> times(policy, programs, -1, 1), AdaptivePlanPolicy.TRIAL_REQUESTS,
            view(10, 10));
        final double[][] slower = new double[2][];
        for (int d = 0; d < 2; d++)
        {
            final RequestTimes t = times(policy, programs, d, 1.5);
            slower[d] = new double[programs.get(d).steps().size()];
            for (int i = 0; i < slower[d].length; i++)
            {
                slower[d][i] = t.stepNs(d, i);
            }
        }
        // both devices 1.5 times slower: drift, but no other plan is better, so no re-plan
        final boolean[] replans = feed(policy, plan, programs, () ->
        {
            final RequestTimes t = times(policy, programs, -1, 1);
            for (int d = 0; d < 2; d++)
            {
                for (int i = 0; i < slower[d].length; i++)
                {
                    t.stepNs(d, i, Math.round(slower[d][i]));
                }
            }
            return t;
        }, 6, view(10, 10));
        assertArrayEquals(new boolean[6], replans, log.toString());
        assertTrue(log.toString().contains("keeping this one"), log.toString());
        assertFalse(policy.exploring());
    }

    /** Step times that make device 0's program (the request as the coordinator sees it) last {@code ns} in all. */
    private static RequestTimes lasting(final List<DeviceProgram> programs, final long ns)
    {
        final RequestTimes t = new RequestTimes(programs);
        t.stepNs(0, 0, ns);
        return t;
    }

    @Test
    void shouldMeasureTheCandidatesAndKeepTheFastestMeasured()
    {
        final LayerGraph graph = graph();
        final int[] outputs = {graph.layerCount() - 1};
        for (int winner = 0; winner < 3; winner++)
        {
            final StringWriter log = new StringWriter();
            // drift off: the made-up times below are not what the models predict
            final AdaptivePlanPolicy policy = policy(log).drift(Double.POSITIVE_INFINITY);
            Plan plan = policy.plan(graph, outputs, view(10, 10), 1);
            assertTrue(plan.stages().size() > 1, plan.toString());
            assertTrue(policy.exploring());
            final List<String> shapes = new java.util.ArrayList<>();
            long epoch = 1;
            boolean alone = false;
            while (policy.exploring())
            {
                shapes.add(plan.stages().toString());
                alone |= plan.stages().size() == 1 &&
                    plan.stages().get(0).mode() == org.coedge.planner.Mode.SINGLE_DEVICE;
                final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, outputs);
                final long ns = shapes.stream().distinct().collect(java.util.stream.Collectors.toList())
                    .indexOf(plan.stages().toString()) == winner ? 8_000_000 : 12_000_000;
                final Plan running = plan;
                policy.learn(running, programs, lasting(programs, 1_000_000_000)); // cold, not learnt
                final boolean[] replans = feed(policy, running, programs, () -> lasting(programs, ns),
                    AdaptivePlanPolicy.TRIAL_REQUESTS, view(10, 10));
                if (replans[AdaptivePlanPolicy.TRIAL_REQUESTS - 1])
                {
                    plan = policy.plan(graph, outputs, view(10, 10), ++epoch);
                    assertEquals(epoch, plan.epoch());
                }
                else
                {
                    assertFalse(policy.exploring(), log.toString());
                }
            }
            // the predicted plan, one device alone, rows by speed (on two equal devices perhaps the predicted plan),
            // in turn for every round
            final List<String> distinct = shapes.stream().distinct().collect(java.util.stream.Collectors.toList());
            assertTrue(distinct.size() >= 2, log.toString());
            assertEquals(distinct.size() * AdaptivePlanPolicy.TRIAL_ROUNDS, shapes.size(), log.toString());
            assertTrue(alone, "one device alone among them: " + log);
            // ties go to the first (the predicted plan)
            assertEquals(distinct.get(winner < distinct.size() ? winner : 0), plan.stages().toString(), log.toString());
            assertTrue(log.toString().contains("running"), log.toString());
        }
    }

    @Test
    void shouldRunEverythingOnTheCoordinatorWhenTheLinkIsTooSlow()
    {
        final LayerGraph graph = graph();
        final AdaptivePlanPolicy policy = policy(new StringWriter());
        final ClusterView slowLink = new ClusterView(new int[]{0, 1}, new double[]{1e10, 1e10}, new double[2],
            new double[]{1e10, 1e10}, new long[]{1L << 30, 1L << 30}, new double[]{0, 1e8}, new double[]{0, 1e4}, -1);
        final Plan plan = policy.plan(graph, new int[]{graph.layerCount() - 1}, slowLink, 1);
        assertEquals(1, plan.stages().size(), plan.toString());
        assertEquals(0, plan.stages().get(0).firstDeviceWithRows(), plan.toString());
    }
}
