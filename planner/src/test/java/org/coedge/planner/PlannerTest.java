package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlannerTest
{
    static LayerGraph vggLike(final int heightRows, final int convs)
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int last = b.addSource("in", heightRows, 32, 3);
        for (int i = 0; i < convs; i++)
        {
            last = b.addLayer("conv" + i, new int[]{ last },
                new RowMap[]{ RowMap.window(3, 1, 1, 1, heightRows, heightRows) }, heightRows, 32, 16, 9 * 16 * 32 *
                16 * 2, 32 * 16 * 4);
        }
        return RandomGraphs.withHead(b.build());
    }

    @Test
    void shouldGiveSameFinalRangesWithMoreRedundancyAndFewerMessagesWhenFused()
    {
        final Random random = new Random(41);
        for (int trial = 0; trial < 100; trial++)
        {
            final int devices = 2 + random.nextInt(7);
            final int height = 64;
            final LayerGraph g = vggLike(height, 6);
            final double[] shares = ApportionTest.randomShares(random, devices);
            for (int d = 0; d < devices; d++)
            {
                shares[d] = 1 + shares[d];
            }
            // at least 4 rows each, so a depth-3 halo of 3x3 convs reaches only the next device
            final int[] counts = Apportion.largestRemainder(shares, height, filled(devices, 4));
            final double[] exactShares = new double[devices];
            for (int d = 0; d < devices; d++)
            {
                exactShares[d] = counts[d];
            }
            final Plan perLayer = Planner.uniform(g, exactShares, 1);
            final Plan fused = Planner.uniform(g, exactShares, 3);
            final int lastSpatial = g.firstGlobalLayer() - 1;
            final Stage perLayerStage = perLayer.stages().get(0);
            final Stage fusedStage = fused.stages().get(fused.stages().size() - 2);
            assertEquals(lastSpatial, perLayerStage.lastLayer());
            assertEquals(lastSpatial, fusedStage.lastLayer());
            for (int d = 0; d < devices; d++)
            {
                assertEquals(perLayerStage.deviceRows(d), fusedStage.deviceRows(d));
            }
            final PlanCost perLayerCost = PlanCost.of(g, perLayer);
            final PlanCost fusedCost = PlanCost.of(g, fused);
            assertEquals(0, perLayerCost.totalRedundantFlops());
            assertTrue(fusedCost.totalRedundantFlops() > 0);
            assertTrue(fusedCost.totalMessages() < perLayerCost.totalMessages(),
                fusedCost.totalMessages() + " vs " + perLayerCost.totalMessages());
        }
    }

    @Test
    void shouldHandleDeviceWithOneRowAndDeviceWithNone()
    {
        final LayerGraph g = vggLike(16, 4);
        final double[] shares = { 0, 1, 14, 1 };
        for (int depth = 1; depth <= 5; depth++)
        {
            final Plan plan = Planner.uniform(g, shares, depth);
            final Stage lastSpatial = plan.stages().get(plan.stages().size() - 2);
            assertTrue(lastSpatial.deviceRows(0).isEmpty());
            assertEquals(1, lastSpatial.deviceRows(1).rows());
            assertEquals(1, lastSpatial.deviceRows(3).rows());
            final PlanCost cost = PlanCost.of(g, plan);
            for (int s = 0; s < plan.stages().size() - 1; s++)
            {
                final PlanCost.StageCost sc = cost.stage(s);
                assertEquals(0, sc.flops(0));
                assertEquals(0, sc.haloRows(0));
            }
            final Stage head = plan.stages().get(plan.stages().size() - 1);
            assertEquals(Mode.SINGLE_DEVICE, head.mode());
            assertEquals(0, head.firstDeviceWithRows());
            assertEquals(g.firstGlobalLayer(), head.firstLayer());
        }
    }

    @Test
    void shouldCutFusedBlocksOnlyWhereNoBranchCrosses()
    {
        final Random random = new Random(42);
        for (int trial = 0; trial < 200; trial++)
        {
            final LayerGraph g = RandomGraphs.withHead(RandomGraphs.branchy(random, 1 + random.nextInt(5)));
            final int depth = 2 + random.nextInt(4);
            final Plan plan = Planner.uniform(g, ApportionTest.randomShares(random, 1 + random.nextInt(8)), depth);
            for (final Stage stage : plan.stages())
            {
                if (stage.mode() == Mode.FUSED)
                {
                    // brute force: no edge enters the rest of the graph from inside the block except from its end
                    for (int v = stage.lastLayer() + 1; v < g.layerCount(); v++)
                    {
                        for (int j = 0; j < g.layer(v).inputCount(); j++)
                        {
                            final int u = g.layer(v).inputId(j);
                            assertTrue(u < stage.firstLayer() || u >= stage.lastLayer(),
                                "edge " + u + " -> " + v + " crosses the end of " + stage);
                        }
                    }
                    if (stage.layerCount() > depth)
                    {
                        for (int b = stage.firstLayer(); b < stage.lastLayer(); b++)
                        {
                            assertTrue(!Planner.isSingleLayerCut(g, b), "block longer than depth with cut at " + b);
                        }
                    }
                }
            }
            assertEquals(Mode.SINGLE_DEVICE, plan.stages().get(plan.stages().size() - 1).mode());
        }
    }

    @Test
    void shouldKeepInceptionBlockInOneFusedStage()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 32, 32, 3);
        final int stem = b.addLayer("stem", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 32, 32) }, 32, 32,
            8, 100, 10);
        final int b1 = b.addLayer("1x1", new int[]{ stem }, new RowMap[]{ RowMap.identity(32) }, 32, 32, 8, 10, 10);
        final int b2a = b.addLayer("3x3a", new int[]{ stem }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 32, 32) }, 32,
            32, 8, 100, 10);
        final int b2b = b.addLayer("3x3b", new int[]{ b2a }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 32, 32) }, 32,
            32, 8, 100, 10);
        final int cat = b.addLayer("cat", new int[]{ b1, b2b },
            new RowMap[]{ RowMap.identity(32), RowMap.identity(32) }, 32, 32, 16, 1, 20);
        b.addLayer("pool", new int[]{ cat }, new RowMap[]{ RowMap.window(2, 2, 1, 0, 32, 16) }, 16, 16, 16, 5, 20);
        final LayerGraph g = RandomGraphs.withHead(b.build());

        final Plan plan = Planner.uniform(g, new double[]{ 1, 2, 1 }, 2, 9);
        assertEquals(9, plan.epoch());
        // cuts after in, after stem (all branches read stem), after cat; none inside the branches
        assertEquals(0, plan.stages().get(0).firstLayer());
        assertEquals(stem, plan.stages().get(0).lastLayer());
        assertEquals(b1, plan.stages().get(1).firstLayer());
        assertEquals(cat, plan.stages().get(1).lastLayer());
        final PlanCost cost = PlanCost.of(g, plan);
        // the middle device needs its cat rows [8, 24) of stem widened by the two 3x3 layers of the widest branch,
        // [6, 26), and computed stem rows [8, 24) itself: 4 halo rows from its two neighbours
        final RowRange catRows = plan.stages().get(1).deviceRows(1);
        assertEquals(RowRange.of(8, 24), catRows);
        assertEquals(4, cost.stage(1).haloRows(1));
        assertEquals(40, cost.stage(1).haloBytes(1));
        assertEquals(2, cost.stage(1).messages(1));
        assertEquals(catRows, cost.stage(1).computedRows(1, b1 - b1));
        assertEquals(RowRange.of(catRows.start() - 1, catRows.end() + 1), cost.stage(1).computedRows(1, b2a - b1));
    }

    /** A chain of 3x3 convs, the first at stride 1 and then stride 2, with heights 224, 112, 56, 28, 14, 7. */
    static LayerGraph halvingChain()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int height = 224;
        int last = b.addSource("in", height, 224, 3);
        last = b.addLayer("conv0", new int[]{ last }, new RowMap[]{ RowMap.window(3, 1, 1, 1, height, height) },
            height, 224, 16, 1000, 100);
        while (height > 7)
        {
            last = b.addLayer("conv" + height / 2, new int[]{ last },
                new RowMap[]{ RowMap.window(3, 2, 1, 1, height, height / 2) }, height / 2, 224, 16, 1000, 100);
            height /= 2;
        }
        return RandomGraphs.withHead(b.build());
    }

    @Test
    void shouldSplitEachLayerOfAPerLayerStageByItsOwnHeight()
    {
        final LayerGraph g = halvingChain();
        for (final double[] shares : new double[][]{ { 1, 1 }, { 3, 1 } })
        {
            final Plan plan = Planner.uniform(g, shares, 1);
            assertEquals(2, plan.stages().size());
            final PlanCost.StageCost cost = PlanCost.of(g, plan).stage(0);
            final double first = shares[0] / (shares[0] + shares[1]);
            for (int id = 1; id < g.firstGlobalLayer(); id++)
            {
                final int height = g.layer(id).heightRows();
                final int rows0 = cost.computedRows(0, id).rows();
                final int rows1 = cost.computedRows(1, id).rows();
                assertEquals(height, rows0 + rows1);
                // largest remainder: each device gets its exact share rounded down or up, never a row more
                assertTrue(Math.abs(rows0 - first * height) < 1, "layer " + id + " " + Arrays.toString(shares) +
                    ": " + rows0 + " + " + rows1);
                if (shares[0] == shares[1])
                {
                    assertTrue(Math.abs(rows0 - rows1) <= 1, "layer " + id + ": " + rows0 + " vs " + rows1);
                }
            }
        }
        // the 7-row layer still splits 4:3, but the 224-row layer 112:112 rather than 128:96
        final Plan even = Planner.uniform(g, new double[]{ 1, 1 }, 1);
        assertEquals(RowRange.of(0, 4), even.stages().get(0).deviceRows(0));
        assertEquals(RowRange.of(0, 112), PlanCost.of(g, even).stage(0).computedRows(0, 1));
    }

    @Test
    void shouldRejectFuseDepthBelowOne()
    {
        assertThrows(IllegalArgumentException.class, () -> Planner.uniform(vggLike(8, 2), new double[]{ 1 }, 0));
    }

    private static int[] filled(final int n, final int value)
    {
        final int[] a = new int[n];
        java.util.Arrays.fill(a, value);
        return a;
    }
}
