package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanCostTest
{
    @Test
    void shouldMatchRowByRowOracleOnRandomPlans()
    {
        final Random random = new Random(31);
        long haloBytes = 0;
        long redundantFlops = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            final LayerGraph graph = RandomGraphs.any(random);
            final Plan plan = RandomGraphs.uniformPlan(random, graph);
            checkAgainstOracle(graph, plan);
            haloBytes += PlanCost.of(graph, plan).totalHaloBytes();
            redundantFlops += PlanCost.of(graph, plan).totalRedundantFlops();
        }
        assertTrue(haloBytes > 0 && redundantFlops > 0, "random plans exercise halos and redundancy");
    }

    @Test
    void shouldMatchRowByRowOracleOnRandomProportionalPlans()
    {
        final Random random = new Random(32);
        for (int trial = 0; trial < 200; trial++)
        {
            final LayerGraph graph = RandomGraphs.any(random);
            checkAgainstOracle(graph, RandomGraphs.proportionalPlan(random, graph));
        }
    }

    @Test
    void shouldCountHaloOfThreeByThreeConvBetweenTwoDevices()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 4, 1);
        final int c1 = b.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1,
            100, 16);
        b.addLayer("c2", new int[]{ c1 }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1, 100, 16);
        final LayerGraph g = b.build();
        final RowRange[] split = { RowRange.of(0, 4), RowRange.of(4, 8) };

        final PlanCost perLayer = PlanCost.of(g, new Plan(0, List.of(new Stage(0, 2, Mode.PER_LAYER, split))));
        // each device gets one row of c1 from its neighbour; source rows come from the scatter
        assertEquals(1, perLayer.stage(0).haloRows(0));
        assertEquals(1, perLayer.stage(0).haloRows(1));
        assertEquals(16, perLayer.stage(0).haloBytes(1));
        assertEquals(2, perLayer.totalMessages());
        assertEquals(0, perLayer.totalRedundantFlops());

        final PlanCost fused = PlanCost.of(g, new Plan(0, List.of(new Stage(0, 2, Mode.FUSED, split))));
        assertEquals(RowRange.of(0, 5), fused.stage(0).computedRows(0, 1));
        assertEquals(RowRange.of(3, 8), fused.stage(0).computedRows(1, 1));
        assertEquals(0, fused.totalMessages());
        assertEquals(200, fused.totalRedundantFlops());
        // device 0 computes c1 rows [0, 5) and c2 rows [0, 4)
        assertEquals(900, fused.stage(0).flops(0));
    }

    private static void checkAgainstOracle(final LayerGraph graph, final Plan plan)
    {
        final PlanCost cost = PlanCost.of(graph, plan);
        final int devices = plan.deviceCount();
        final boolean[][][] held = new boolean[devices][graph.layerCount()][];
        for (int s = 0; s < plan.stages().size(); s++)
        {
            final Stage stage = plan.stages().get(s);
            final PlanCost.StageCost sc = cost.stage(s);
            for (int d = 0; d < devices; d++)
            {
                assertEquals(stage.deviceRows(d), sc.computedRows(d, stage.layerCount() - 1), "last layer rows");
                for (int l = 0; l < stage.layerCount(); l++)
                {
                    final int id = stage.firstLayer() + l;
                    held[d][id] = new boolean[graph.layer(id).heightRows()];
                    final RowRange r = sc.computedRows(d, l);
                    for (int row = r.start(); row < r.end(); row++)
                    {
                        held[d][id][row] = true;
                    }
                }
            }
            long redundant = 0;
            for (int l = 0; l < stage.layerCount(); l++)
            {
                final Layer layer = graph.layer(stage.firstLayer() + l);
                for (int row = 0; row < layer.heightRows(); row++)
                {
                    int times = 0;
                    for (int d = 0; d < devices; d++)
                    {
                        times += held[d][layer.id()][row] ? 1 : 0;
                    }
                    if (stage.mode() != Mode.FUSED || layer.id() == stage.lastLayer())
                    {
                        assertTrue(times >= 1, "row " + row + " of layer " + layer.id() + " computed by nobody");
                    }
                    if (stage.mode() != Mode.FUSED)
                    {
                        assertEquals(1, times, "row computed twice outside a fused stage");
                    }
                    redundant += (long)Math.max(0, times - 1) * layer.flopsPerRow();
                }
            }
            assertEquals(redundant, sc.redundantFlops());

            for (int d = 0; d < devices; d++)
            {
                long haloRows = 0;
                long haloBytes = 0;
                long messages = 0;
                for (int in = 0; in < graph.layerCount(); in++)
                {
                    // rows of layer `in` needed by this device's computed rows in this stage, one row at a time
                    int lo = Integer.MAX_VALUE;
                    int hi = Integer.MIN_VALUE;
                    for (int l = 0; l < stage.layerCount(); l++)
                    {
                        final Layer layer = graph.layer(stage.firstLayer() + l);
                        for (int j = 0; j < layer.inputCount(); j++)
                        {
                            if (layer.inputId(j) != in)
                            {
                                continue;
                            }
                            for (int o = 0; o < layer.heightRows(); o++)
                            {
                                if (held[d][layer.id()][o] && layer.rowMap(j).first(o) < layer.rowMap(j).end(o))
                                {
                                    lo = Math.min(lo, layer.rowMap(j).first(o));
                                    hi = Math.max(hi, layer.rowMap(j).end(o));
                                }
                            }
                        }
                    }
                    if (lo > hi || graph.layer(in).isSource())
                    {
                        continue;
                    }
                    final boolean[] senders = new boolean[devices];
                    for (int row = lo; row < hi; row++)
                    {
                        if (!held[d][in][row])
                        {
                            assertTrue(stage.mode() != Mode.FUSED || in < stage.firstLayer(),
                                "fused block exchanges rows of its own layer " + in);
                            haloRows++;
                            haloBytes += graph.layer(in).bytesPerRow();
                            int e = 0;
                            while (!held[e][in][row])
                            {
                                e++;
                            }
                            assertTrue(e != d);
                            senders[e] = true;
                        }
                    }
                    for (final boolean sent : senders)
                    {
                        messages += sent ? 1 : 0;
                    }
                }
                assertEquals(haloRows, sc.haloRows(d), "halo rows of device " + d + " in stage " + s);
                assertEquals(haloBytes, sc.haloBytes(d));
                assertEquals(messages, sc.messages(d));
                if (stage.mode() == Mode.FUSED && s == 0)
                {
                    assertEquals(0, sc.haloRows(d), "first fused block reads only scattered input");
                }
            }
        }
    }
}
