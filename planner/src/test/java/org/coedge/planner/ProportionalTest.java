package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProportionalTest
{
    /** One 3x3 same-padded convolution over 224 rows, then a head. */
    private static LayerGraph oneConv()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 224, 224, 3);
        b.addLayer("conv", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 224, 224) }, 224, 224, 16, 1000,
            100);
        return RandomGraphs.withHead(b.build());
    }

    @Test
    void shouldTakeHaloRowsFromTheWidestInputWindow()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 224, 224, 3);
        final int stem = b.addLayer("7x7s2", new int[]{ in }, new RowMap[]{ RowMap.window(7, 2, 1, 3, 224, 112) },
            112, 1, 1, 1, 1);
        final int pointwise = b.addLayer("1x1", new int[]{ stem }, new RowMap[]{ RowMap.identity(112) }, 112, 1, 1, 1,
            1);
        final int dilated = b.addLayer("3x3d2", new int[]{ pointwise },
            new RowMap[]{ RowMap.window(3, 1, 2, 2, 112, 112) }, 112, 1, 1, 1, 1);
        final int add = b.addLayer("add", new int[]{ pointwise, dilated },
            new RowMap[]{ RowMap.identity(112), RowMap.window(3, 1, 1, 1, 112, 112) }, 112, 1, 1, 1, 1);
        final int flat = b.addSource("flat", 1, 8, 1);
        final int conv1 = b.addLayer("3x3on1", new int[]{ flat }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 1, 1) }, 1,
            8, 1, 1, 1);
        final LayerGraph g = b.build();

        assertEquals(0, Planner.haloRows(g.layer(in)));
        assertEquals(6, Planner.haloRows(g.layer(stem)));
        assertEquals(0, Planner.haloRows(g.layer(pointwise)));
        assertEquals(4, Planner.haloRows(g.layer(dilated)));
        assertEquals(2, Planner.haloRows(g.layer(add)), "the wider of its two inputs");
        assertEquals(0, Planner.haloRows(g.layer(conv1)), "a one-row input has no rows beyond the one");
    }

    @Test
    void shouldSplitByThroughputAndGiveASlowDeviceAtLeastTheHalo()
    {
        final LayerGraph g = oneConv();
        for (int depth = 1; depth <= 2; depth++)
        {
            // 10:1 is above the minimum anyway: 224 / 11 = 20.4 rows
            final Plan tenToOne = Planner.proportional(g, new double[]{ 10, 1 }, depth, 3);
            assertEquals(3, tenToOne.epoch());
            final Stage split = tenToOne.stages().get(0);
            assertEquals(depth == 1 ? Mode.PER_LAYER : Mode.FUSED, split.mode());
            assertEquals(RowRange.of(0, 204), split.deviceRows(0));
            assertEquals(RowRange.of(204, 224), split.deviceRows(1));

            // a 3x3 conv's output row needs 2 input rows beyond its own: the slow device's exact share, 0.0002 rows,
            // is raised to those 2
            final Plan lopsided = Planner.proportional(g, new double[]{ 1e6, 1 }, depth, 0);
            assertEquals(RowRange.of(222, 224), lopsided.stages().get(0).deviceRows(1));
            // uniform keeps no minimum
            assertTrue(Planner.uniform(g, new double[]{ 1e6, 1 }, depth).stages().get(0).deviceRows(1).isEmpty());
        }
    }

    @Test
    void shouldGiveEveryWorkingDeviceTheHaloOfEveryLayerOrWhatFits()
    {
        final LayerGraph g = PlannerTest.halvingChain();
        final double[] throughputs = { 1e6, 1, 0, 1, 1 };
        final Plan plan = Planner.proportional(g, throughputs, 1, 0);
        final PlanCost.StageCost cost = PlanCost.of(g, plan).stage(0);
        for (int id = 1; id < g.firstGlobalLayer(); id++)
        {
            final int height = g.layer(id).heightRows();
            // 2 rows of each 3x3 layer, but the 7-row layer has room for only 1 each among 4 working devices
            final int minimum = height == 7 ? 1 : 2;
            assertEquals(minimum, Math.min(Planner.haloRows(g.layer(id)), height / 4));
            for (final int slow : new int[]{ 1, 3, 4 })
            {
                assertEquals(minimum, cost.computedRows(slow, id).rows(), "device " + slow + " layer " + id);
            }
            assertTrue(cost.computedRows(2, id).isEmpty());
            assertEquals(height - 3 * minimum, cost.computedRows(0, id).rows());
        }
    }

    @Test
    void shouldGiveNoRowsToADeviceWithZeroThroughput()
    {
        final LayerGraph g = PlannerTest.halvingChain();
        final double[] throughputs = { 0, 5, 0, 1 };
        for (int depth = 1; depth <= 4; depth++)
        {
            final Plan plan = Planner.proportional(g, throughputs, depth, 0);
            final PlanCost cost = PlanCost.of(g, plan);
            for (int s = 0; s < plan.stages().size() - 1; s++)
            {
                final Stage stage = plan.stages().get(s);
                for (int l = 0; l < stage.layerCount(); l++)
                {
                    assertTrue(cost.stage(s).computedRows(0, l).isEmpty(), "depth " + depth + " " + stage);
                    assertTrue(cost.stage(s).computedRows(2, l).isEmpty(), "depth " + depth + " " + stage);
                }
                assertEquals(0, cost.stage(s).flops(0));
                assertEquals(0, cost.stage(s).flops(2));
            }
        }
    }

    @Test
    void shouldRefuseInvalidThroughputs()
    {
        final LayerGraph g = oneConv();
        assertRefused(g, new double[]{ 1, -1 }, "throughput of device 1 must be finite and >= 0: -1.0");
        assertRefused(g, new double[]{ Double.NaN, 1 }, "throughput of device 0 must be finite and >= 0: NaN");
        assertRefused(g, new double[]{ 1, Double.POSITIVE_INFINITY },
            "throughput of device 1 must be finite and >= 0: Infinity");
        assertRefused(g, new double[]{ 0, 0, 0 }, "every device has throughput 0");
        assertRefused(g, new double[0], "need a throughput per device, got none");
        assertRefused(g, new double[]{ Double.MAX_VALUE, Double.MAX_VALUE }, "throughputs overflow");
        final IllegalArgumentException depth = assertThrows(IllegalArgumentException.class,
            () -> Planner.proportional(g, new double[]{ 1 }, 0, 0));
        assertTrue(depth.getMessage().contains("fuseDepth must be >= 1: 0"), depth.getMessage());
    }

    @Test
    void shouldKeepEveryWorkingDevicesMinimumOnRandomGraphs()
    {
        final Random random = new Random(71);
        for (int trial = 0; trial < 300; trial++)
        {
            final LayerGraph g = RandomGraphs.any(random);
            final double[] throughputs = ApportionTest.randomShares(random, 1 + random.nextInt(8));
            final Plan plan = Planner.proportional(g, throughputs, 1 + random.nextInt(5), 0);
            final long working = java.util.Arrays.stream(throughputs).filter(t -> t > 0).count();
            final PlanCost cost = PlanCost.of(g, plan);
            for (int s = 0; s < plan.stages().size(); s++)
            {
                final Stage stage = plan.stages().get(s);
                if (stage.mode() == Mode.SINGLE_DEVICE)
                {
                    continue;
                }
                // every layer of a PER_LAYER stage, only the last of a FUSED block, is split at its own height
                final int from = stage.mode() == Mode.PER_LAYER ? 0 : stage.layerCount() - 1;
                for (int l = from; l < stage.layerCount(); l++)
                {
                    final Layer layer = g.layer(stage.firstLayer() + l);
                    final int minimum = (int)Math.min(Planner.haloRows(layer), layer.heightRows() / working);
                    for (int d = 0; d < plan.deviceCount(); d++)
                    {
                        final int rows = cost.stage(s).computedRows(d, l).rows();
                        if (throughputs[d] > 0)
                        {
                            assertTrue(rows >= minimum, "device " + d + " layer " + layer + ": " + rows + " < " +
                                minimum + " in " + plan);
                        }
                        else
                        {
                            assertEquals(0, rows, "device " + d + " has throughput 0 in " + plan);
                        }
                    }
                }
            }
        }
    }

    private static void assertRefused(final LayerGraph g, final double[] throughputs, final String message)
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Planner.proportional(g, throughputs, 1, 0));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
