package org.coedge.engine.exec;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
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
    void shouldFailCleanlyWhenADeviceLacksARow()
    {
        final Model model = Model.load(ModelZoo.build("mobilenetv2"), "mobilenetv2");
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final Plan plan = Planner.uniform(graph, new double[] {1, 1, 1}, 1);
        final org.coedge.planner.RowRange[][] windows = SplitExecutor.windows(whole, graph, plan);
        // device 1 loses the last row of the input window its stem conv reads
        final org.coedge.planner.RowRange in = windows[1][0];
        windows[1][0] = org.coedge.planner.RowRange.of(in.start(), in.end() - 1);
        final java.util.List<PreparedModel> copies = new java.util.ArrayList<>();
        for (int d = 0; d < 3; d++)
        {
            final org.coedge.planner.RowRange[] rows = windows[d];
            copies.add(model.prepare(Map.of(), (id, height) -> rows[id]));
        }
        final float[] input = new float[3 * 224 * 224];
        org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () ->
        {
            try (SplitExecutor split = new SplitExecutor(copies, graph, plan, windows))
            {
                split.setInput(0, input);
                final IllegalStateException ex =
                    org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, split::run);
                assertTrue(ex.getCause() instanceof IllegalArgumentException, String.valueOf(ex.getCause()));
                assertTrue(ex.getMessage().contains("rows"), ex.getMessage());
                // the same executor fails the same way again: no device was left waiting at a barrier
                org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, split::run);
            }
        });
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
