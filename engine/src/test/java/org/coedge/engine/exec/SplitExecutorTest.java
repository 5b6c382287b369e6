package org.coedge.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.Step;

/**
 * The in-process split executor's memory per device and its failure paths (planted ordering bugs, lost messages,
 * out-of-window steps). Numeric equality with the unsplit engine is {@code SplitMatchesUnsplitTest}.
 */
class SplitExecutorTest
{
    private static final double TOLERANCE = 1e-5;

    @org.junit.jupiter.api.Test
    void shouldHoldOnlyOwnRowsPlusHalosPerDevice()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final Plan plan = Planner.uniform(graph, new double[] {1, 1, 1, 1}, 1);
        try (SplitExecutor split = SplitExecutor.create(model, Map.of(), whole, graph, plan))
        {
            final long unsplit = (long)whole.arenaFloats() * Float.BYTES;
            for (int d = 0; d < 4; d++)
            {
                // a quarter of the rows plus halos: well under the whole arena, and more than nothing
                assertTrue(split.arenaBytes(d) < 0.6 * unsplit && split.arenaBytes(d) > 0.1 * unsplit,
                    "device " + d + ": " + split.arenaBytes(d) + " of " + unsplit + " bytes");
            }
        }
    }

    @org.junit.jupiter.api.Test
    void shouldHoldWeightsOnlyOfTheLayersADeviceComputes()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        long headBytes = 0;
        for (final Layer layer : whole.layers())
        {
            if (layer instanceof FullyConnectedLayer)
            {
                headBytes += layer.flops() / 2 * Float.BYTES;
            }
        }
        assertTrue(headBytes > 0, "resnet18 has a fully-connected head");
        try (SplitExecutor split = SplitExecutor.create(model, Map.of(), whole, graph,
            Planner.uniform(graph, new double[] {1, 1}, 1)))
        {
            // the head runs on device 0 only; both devices compute every conv
            assertEquals(whole.weightBytes(), split.weightBytes(0));
            assertEquals(whole.weightBytes() - headBytes, split.weightBytes(1));
            assertTrue(split.memoryBytes(1) < split.memoryBytes(0), split.memoryBytes(1) + " vs " +
                split.memoryBytes(0));
        }
    }

    @org.junit.jupiter.api.Test
    void shouldNameTheStepWhenAMessageComesOutOfOrderOrNever()
    {
        final Model model = Model.load(ModelZoo.build("mobilenetv2"), "mobilenetv2");
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final List<DeviceProgram> programs = SplitExecutor.compile(whole, graph,
            Planner.uniform(graph, new double[] {1, 1, 1}, 1));
        final float[] input = new float[3 * 224 * 224];

        // device 1 sends its first two halo blocks to device 0 in the wrong order
        final List<Step> swapped = new ArrayList<>(programs.get(1).steps());
        final int first = indexOfSend(swapped, 0, 0);
        final int second = indexOfSend(swapped, 0, first + 1);
        swapped.set(first, programs.get(1).steps().get(second));
        swapped.set(second, programs.get(1).steps().get(first));
        final IllegalStateException outOfOrder = runExpectingFailure(model, replace(programs, 1, swapped), input);
        assertTrue(outOfOrder.getMessage().contains("OUT_OF_ORDER") && outOfOrder.getMessage().contains("device 0"),
            outOfOrder.getMessage());

        // device 2 never sends its last block to device 1 (a lost earlier block would show as OUT_OF_ORDER when
        // the next one arrives in its place)
        final List<Step> dropped = new ArrayList<>(programs.get(2).steps());
        int last = indexOfSend(dropped, 1, 0);
        for (int i = last + 1; i < dropped.size(); i++)
        {
            if (dropped.get(i).kind() == Step.Kind.SEND && dropped.get(i).peer() == 1)
            {
                last = i;
            }
        }
        final Step lost = dropped.remove(last);
        final IllegalStateException never = runExpectingFailure(model, replace(programs, 2, dropped), input);
        // device 1 waits for the lost block; devices waiting on device 1 may time out first, each naming its step
        assertTrue(never.getMessage().contains("TIMED_OUT: device "), never.getMessage());
        assertTrue(lost.kind() == Step.Kind.SEND);
    }

    @org.junit.jupiter.api.Test
    void shouldRefuseAProgramThatReadsRowsOutsideItsWindow()
    {
        final Model model = Model.load(ModelZoo.build("mobilenetv2"), "mobilenetv2");
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final List<DeviceProgram> programs = SplitExecutor.compile(whole, graph,
            Planner.uniform(graph, new double[] {1, 1}, 1));
        final List<Step> steps = new ArrayList<>(programs.get(1).steps());
        final Step await = steps.stream().filter(st -> st.kind() == Step.Kind.AWAIT).findFirst().orElseThrow();
        // the same message widened to the whole map: more rows than the device's window holds
        final int height = graph.layer(await.layer()).heightRows();
        steps.set(steps.indexOf(await), Step.of(await.kind(), await.purpose(), await.layer(),
            org.coedge.planner.RowRange.of(0, height), await.peer(), await.sequence(), await.bytes()));
        final List<DeviceProgram> bad = replace(programs, 1, steps);
        final IllegalArgumentException ex = org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () -> SplitExecutor.create(model, Map.of(), bad, SplitExecutor.DEFAULT_TIMEOUT_NS));
        assertTrue(ex.getMessage().contains("not held"), ex.getMessage());
    }

    private static IllegalStateException runExpectingFailure(
        final Model model, final List<DeviceProgram> programs, final float[] input)
    {
        return org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () ->
        {
            try (SplitExecutor split = SplitExecutor.create(model, Map.of(), programs,
                java.util.concurrent.TimeUnit.SECONDS.toNanos(2)))
            {
                split.setInput(0, input);
                final IllegalStateException ex =
                    org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, split::run);
                // the same executor fails the same way again: no device was left waiting
                final IllegalStateException again =
                    org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, split::run);
                assertTrue(again.getMessage().contains(ex.getMessage().contains("OUT_OF_ORDER") ? "OUT_OF_ORDER" :
                    "TIMED_OUT"), again.getMessage());
                return ex;
            }
        });
    }

    private static int indexOfSend(final List<Step> steps, final int peer, final int fromIndex)
    {
        for (int i = fromIndex; i < steps.size(); i++)
        {
            if (steps.get(i).kind() == Step.Kind.SEND && steps.get(i).peer() == peer)
            {
                return i;
            }
        }
        throw new IllegalStateException("no send to " + peer);
    }

    private static List<DeviceProgram> replace(
        final List<DeviceProgram> programs, final int device, final List<Step> steps)
    {
        final List<DeviceProgram> out = new ArrayList<>(programs);
        out.set(device, programs.get(device).withSteps(steps));
        return out;
    }
}
