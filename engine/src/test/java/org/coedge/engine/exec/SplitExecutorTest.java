package org.coedge.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.Step;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Split execution in one process against the unsplit engine on the same input: max abs error / max |unsplit| <=
 * 1e-5, over random device counts (1-8), random shares (some devices get no rows) and random fusion depths.
 */
class SplitExecutorTest
{
    private static final double TOLERANCE = 1e-5;

    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "googlenet", "mobilenetv2"})
    void shouldEqualUnsplitResultForRandomSplits(final String name)
    {
        assertSplitsEqualUnsplit(Model.load(ModelZoo.build(name), name), name, Map.of(), 3 * 224 * 224);
    }

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

        // device 2 never sends its first block to device 1
        final List<Step> dropped = new ArrayList<>(programs.get(2).steps());
        final Step lost = dropped.remove(indexOfSend(dropped, 1, 0));
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

    @ParameterizedTest
    @ValueSource(strings = {"ch_PP-OCRv3_det_infer.onnx", "ch_PP-OCRv4_det_infer.onnx"})
    void shouldEqualUnsplitResultOnRealDetectorAtOddSize(final String file) throws Exception
    {
        final byte[] bytes;
        try (java.io.InputStream in = getClass().getClassLoader().getResourceAsStream("models/" + file))
        {
            bytes = in.readAllBytes();
        }
        assertSplitsEqualUnsplit(Model.load(bytes, file), file, Map.of("x", new long[] {1, 3, 96, 160}),
            3 * 96 * 160);
    }

    private static void assertSplitsEqualUnsplit(
        final Model model, final String name, final Map<String, long[]> dims, final int inputSize)
    {
        final SplittableRandom random = new SplittableRandom(name.hashCode());
        final float[] input = new float[inputSize];
        for (int i = 0; i < input.length; i++)
        {
            input[i] = (float)(random.nextDouble() * 2 - 1);
        }
        final float[] expected;
        final SessionOptions options = SessionOptions.threads(1);
        dims.forEach(options::withInputDims);
        try (Session session = model.newSession(options))
        {
            session.setInput(0, input);
            session.run();
            expected = session.output(0);
        }
        for (int trial = 0; trial < 4; trial++)
        {
            final int devices = 1 + random.nextInt(trial == 0 ? 2 : 8);
            final double[] shares = new double[devices];
            for (int d = 0; d < devices; d++)
            {
                shares[d] = random.nextInt(5) == 0 ? 0 : 0.1 + random.nextDouble();
            }
            shares[random.nextInt(devices)] = 1.0;
            final int fuse = 1 + random.nextInt(4);
            final PreparedModel whole = model.prepare(dims);
            final LayerGraph graph = PlanGraphs.of(whole);
            final Plan plan = Planner.uniform(graph, shares, fuse);
            final float[] actual = new float[expected.length];
            try (SplitExecutor split = SplitExecutor.create(model, dims, whole, graph, plan))
            {
                split.setInput(0, input);
                split.run();
                split.outputInto(0, actual);
            }
            double maxRef = 0;
            double maxErr = 0;
            for (int i = 0; i < expected.length; i++)
            {
                maxRef = Math.max(maxRef, Math.abs(expected[i]));
                maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
            }
            assertTrue(maxErr <= TOLERANCE * maxRef, name + " split " + Arrays.toString(shares) + " fuse " + fuse +
                ": max abs error " + maxErr + " / max |unsplit| " + maxRef);
        }
    }
}
