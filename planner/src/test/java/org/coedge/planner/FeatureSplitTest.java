package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The MoDNN split of a fully-connected run by output features: the stage's rules, the steps it compiles to, the
 * weight bytes each device is charged, and the search choosing it (against exhaustive search over the same shapes
 * with both splits' shares on a grid).
 */
class FeatureSplitTest
{
    /**
     * {@code graph} followed by a global pool and fully-connected layers of {@code features} outputs each, described
     * as FULLY_CONNECTED with {@code 4 * in * out} weight bytes; the last is the output.
     */
    static LayerGraph withFcHead(final LayerGraph graph, final int... features)
    {
        final LayerGraph.Builder b = RandomGraphs.copyOf(graph);
        final int last = graph.layerCount() - 1;
        final int poolChannels = 64;
        int in = b.addLayer("gap", new int[]{ last },
            new RowMap[]{ RowMap.global(graph.layer(last).heightRows(), 1) }, 1, 1, poolChannels, 1000,
            4L * poolChannels);
        int inFeatures = poolChannels;
        for (int i = 0; i < features.length; i++)
        {
            in = b.addLayer("fc" + i, new int[]{ in }, new RowMap[]{ RowMap.global(1, 1) }, 1, 1, features[i],
                2L * inFeatures * features[i], 4L * features[i]);
            b.describe(in, LayerKind.FULLY_CONNECTED, 4L * inFeatures * features[i]);
            inFeatures = features[i];
        }
        return b.markOutput(in).build();
    }

    private static LayerGraph vggLike(final Random random)
    {
        return withFcHead(RandomGraphs.chain(random, 3), 512, 512, 100);
    }

    @Test
    void shouldFindTheRunOfFullyConnectedLayers()
    {
        final LayerGraph g = vggLike(new Random(1));
        final int[] run = Planner.featureRun(g);
        assertNotNull(run);
        assertEquals(g.layerCount() - 3, run[0]);
        assertEquals(g.layerCount() - 1, run[1]);
        assertNull(Planner.featureRun(RandomGraphs.withHead(RandomGraphs.chain(new Random(1), 3))),
            "an undescribed fc layer is not split by features");
    }

    @Test
    void shouldDescribeTheStagesInTheOrderTheyRun()
    {
        final LayerGraph g = vggLike(new Random(1));
        final int[] run = Planner.featureRun(g);
        final String features = "output features of layers " + run[0] + "-" + run[1];
        final double[] both = { 0.5, 0.5 };
        assertEquals("rows of layers 0-1 over devices [0, 1] (exchange per layer), then layers 2-" + (run[0] - 1) +
            " on device 0, then " + features + " over devices [0, 1] (MoDNN)",
            PlanShapes.describe(g, 1, both, 1, 0, both));
        assertEquals("layers 0-" + (run[0] - 1) + " on device 1, then " + features + " over devices [0, 1] (MoDNN)",
            PlanShapes.describe(g, -1, both, 1, 1, both));
        assertEquals("rows of layers 0-" + (run[0] - 1) + " over devices [0, 1] (exchange per layer), then " +
            features + " over devices [1] (MoDNN)",
            PlanShapes.describe(g, run[0] - 1, both, 1, 0, new double[]{ 0, 1 }));
    }

    @Test
    void shouldRefuseFeatureStagesOverOtherLayersOrWithGaps()
    {
        final LayerGraph g = vggLike(new Random(2));
        final int gap = g.layerCount() - 4;
        final RowRange[][] pool = {{RowRange.of(0, 1), RowRange.EMPTY}};
        final Plan onPool = new Plan(0, List.of(
            new Stage(0, gap - 1, Mode.SINGLE_DEVICE, new RowRange[]{RowRange.of(0, g.layer(gap - 1).heightRows()),
                RowRange.EMPTY}),
            Stage.features(gap, pool),
            Stage.features(gap + 1, new RowRange[][]{
                {RowRange.of(0, 256), RowRange.of(256, 512)},
                {RowRange.of(0, 256), RowRange.of(256, 512)},
                {RowRange.of(0, 50), RowRange.of(50, 100)}})));
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> onPool.validate(g));
        assertTrue(e.getMessage().contains("not a fully-connected layer"), e.getMessage());
        final Plan short1 = Planner.hybrid(g, new double[]{1, 0}, 1, -1, 0, 0, false, false, new double[]{1, 1});
        final List<Stage> stages = new ArrayList<>(short1.stages());
        stages.set(stages.size() - 1, Stage.features(g.layerCount() - 3, new RowRange[][]{
            {RowRange.of(0, 256), RowRange.of(256, 512)},
            {RowRange.of(0, 256), RowRange.of(256, 512)},
            {RowRange.of(0, 50), RowRange.of(50, 99)}}));
        final IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
            () -> new Plan(0, stages).validate(g));
        assertTrue(e2.getMessage().contains("covers features [0, 99)"), e2.getMessage());
    }

    @Test
    void shouldCompileEachDeviceToItsSliceAndGatherTheSlices()
    {
        final LayerGraph g = vggLike(new Random(3));
        final int first = g.layerCount() - 3;
        final Plan plan = Planner.hybrid(g, new double[]{1, 1, 0}, 1, -1, 0, 0, false, false,
            new double[]{1, 1, 2});
        final List<DeviceProgram> programs = StepCompiler.compile(g, plan, new int[]{g.layerCount() - 1});
        // shares 1:1:2 of 512 features: 128, 128, 256; of 100: 25, 25, 50
        final int[][] slices = {{0, 128, 256, 512}, {0, 128, 256, 512}, {0, 25, 50, 100}};
        for (int d = 0; d < 3; d++)
        {
            final DeviceProgram p = programs.get(d);
            for (int l = 0; l < 3; l++)
            {
                final int id = first + l;
                assertTrue(p.computesFeatures(id));
                assertEquals(RowRange.of(slices[l][d], slices[l][d + 1]), p.computed(id), "device " + d);
                assertEquals(RowRange.of(0, 1), p.window(id), "the whole vector is held");
            }
            for (final Step s : p.steps())
            {
                final boolean fc = s.layer() >= first;
                assertEquals(fc, s.features(), s.toString());
                if (s.kind() != Step.Kind.COMPUTE && fc)
                {
                    assertEquals(4L * s.rows().rows(), s.bytes(), s.toString());
                }
            }
        }
        // device 2 receives the other two slices of fc0 and fc1 (128 features each) and the gap vector
        long fcBytesIn = 0;
        for (final Step s : programs.get(2).steps())
        {
            if (s.kind() == Step.Kind.AWAIT && s.layer() >= first)
            {
                assertEquals(128, s.rows().rows());
                fcBytesIn += s.bytes();
            }
        }
        assertEquals(4L * 128 * 4, fcBytesIn);
        // the coordinator gathers the output's other slices: 25 from device 1, 50 from device 2
        int gathered = 0;
        for (final Step s : programs.get(0).steps())
        {
            if (s.kind() == Step.Kind.AWAIT && s.layer() == g.layerCount() - 1)
            {
                gathered += s.rows().rows();
            }
        }
        assertEquals(75, gathered);
    }

    @Test
    void shouldChargeEachDeviceOnlyItsSliceOfTheWeights()
    {
        final LayerGraph g = vggLike(new Random(4));
        final int first = g.layerCount() - 3;
        final Plan plan = Planner.hybrid(g, new double[]{1, 0}, 1, -1, 0, 0, false, false, new double[]{3, 1});
        final List<DeviceProgram> programs = StepCompiler.compile(g, plan, new int[]{g.layerCount() - 1});
        // by hand: fc0 64x512, fc1 512x512, fc2 512x100 floats; device 1 gets a quarter of each layer's outputs
        final long device1 = 4L * (64 * 128 + 512 * 128 + 512 * 25);
        long charged = 0;
        for (int id = first; id < g.layerCount(); id++)
        {
            charged += PlanSimulator.weightBytes(g.layer(id), programs.get(1));
        }
        assertEquals(device1, charged);
        final long whole = 4L * (64 * 512 + 512 * 512 + 512 * 100);
        long charged0 = 0;
        for (int id = first; id < g.layerCount(); id++)
        {
            charged0 += PlanSimulator.weightBytes(g.layer(id), programs.get(0));
        }
        assertEquals(whole - device1, charged0);
    }

    @Test
    void shouldPredictASliceFromItsShareOfTheWork()
    {
        final LayerGraph g = vggLike(new Random(5));
        final LatencyModel m = AdaptivePlannerTest.device(g, 1e8, 0, 1L << 40);
        final int fc = g.layerCount() - 2;
        final double whole = m.predictNs(fc, 1);
        final double half = m.predictFeaturesNs(fc, 256);
        assertTrue(half < whole * 0.55 && half > whole * 0.45, half + " of " + whole);
        assertEquals(0, m.predictFeaturesNs(fc, 0));
    }

    @Test
    void shouldSplitAHeavyHeadByFeaturesOnAFastLink()
    {
        final LayerGraph g = withFcHead(RandomGraphs.chain(new Random(6), 2), 4096, 4096, 1000);
        final LatencyModel[] devices = {
            AdaptivePlannerTest.device(g, 1e9, 0, 1L << 40), AdaptivePlannerTest.device(g, 1e9, 0, 1L << 40)};
        final LinkModel links = LinkModel.uniform(2, 1e9, 10_000, 1000);
        final PlanChoice choice = AdaptivePlanner.plan(g, new int[]{g.layerCount() - 1}, devices, links, 0);
        assertTrue(hasFeatures(choice.plan()), choice.description());
        assertTrue(choice.prediction().endNs() < choice.fastestAloneNs() * 0.7,
            choice.prediction().endNs() + " vs alone " + choice.fastestAloneNs());
    }

    @Test
    void shouldFitAHeadNoDeviceCanHoldWholeBySplittingIt()
    {
        final LayerGraph g = withFcHead(RandomGraphs.chain(new Random(7), 2), 4096, 4096, 1000);
        final long head = 4L * (64 * 4096 + 4096 * 4096 + 4096 * 1000);
        final LatencyModel[] devices = {
            AdaptivePlannerTest.device(g, 1e9, 0, head * 6 / 10), AdaptivePlannerTest.device(g, 1e9, 0, head * 6 / 10)};
        final LinkModel links = LinkModel.uniform(2, 1e7, 10_000, 1000);
        final PlanChoice choice = AdaptivePlanner.plan(g, new int[]{g.layerCount() - 1}, devices, links, 0);
        assertTrue(hasFeatures(choice.plan()), choice.description());
        for (int d = 0; d < 2; d++)
        {
            assertTrue(choice.prediction().memoryBytes(d) <= head * 6 / 10);
        }
    }

    @Test
    void shouldComeWithinOnePercentOfExhaustiveSearchWithFeatureSplits()
    {
        final Random random = new Random(17);
        for (int trial = 0; trial < 6; trial++)
        {
            final LayerGraph g = withFcHead(RandomGraphs.chain(random, 1 + random.nextInt(3)),
                64 * (1 + random.nextInt(16)), 10 + random.nextInt(100));
            final int n = 2;
            final LatencyModel[] devices = new LatencyModel[n];
            for (int d = 0; d < n; d++)
            {
                devices[d] = AdaptivePlannerTest.device(g, 1e6 * (1 + random.nextInt(16)), random.nextInt(2000),
                    1L << 40);
            }
            final LinkModel links = LinkModel.uniform(n, 1e5 * (1 + random.nextInt(1000)), random.nextInt(50_000),
                random.nextInt(5000));
            final int[] outputs = RandomGraphs.outputs(g);
            AdaptivePlannerTest.assertWithinOnePercentOfExhaustive("trial " + trial, g, outputs, devices, links);
        }
    }

    @Test
    void shouldChooseTheSameFeatureSplitEveryTime()
    {
        final LayerGraph g = withFcHead(RandomGraphs.chain(new Random(8), 3), 2048, 2048, 1000);
        final PlanChoice[] choices = new PlanChoice[2];
        for (int i = 0; i < 2; i++)
        {
            final LatencyModel[] devices = {
                AdaptivePlannerTest.device(g, 2e9, 0, 1L << 40), AdaptivePlannerTest.device(g, 1e9, 0, 1L << 40),
                AdaptivePlannerTest.device(g, 5e8, 0, 1L << 40)};
            choices[i] = AdaptivePlanner.plan(g, new int[]{g.layerCount() - 1}, devices,
                LinkModel.uniform(3, 1e9, 10_000, 1000), 3);
        }
        assertEquals(choices[0].plan().toString(), choices[1].plan().toString());
        assertEquals(choices[0].prediction().endNs(), choices[1].prediction().endNs());
        assertFalse(choices[0].plan().toString().isEmpty());
    }

    private static boolean hasFeatures(final Plan plan)
    {
        for (final Stage s : plan.stages())
        {
            if (s.mode() == Mode.FEATURES)
            {
                return true;
            }
        }
        return false;
    }
}
