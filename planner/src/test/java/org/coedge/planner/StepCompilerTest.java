package org.coedge.planner;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class StepCompilerTest
{
    @Test
    void shouldRunEveryRandomPlanToCompletionWithEveryRowValidWhenRead()
    {
        final Random random = new Random(7);
        long moved = 0;
        for (int trial = 0; trial < 400; trial++)
        {
            final LayerGraph graph = RandomGraphs.any(random);
            final Plan plan = RandomGraphs.uniformPlan(random, graph);
            final int[] outputs = RandomGraphs.outputs(graph);
            final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, outputs);
            moved += simulate(graph, plan, programs, outputs, random);
        }
        assertTrue(moved > 0, "random plans move rows");
    }

    @Test
    void shouldRunEveryRandomProportionalPlanToCompletion()
    {
        final Random random = new Random(8);
        long moved = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            final LayerGraph graph = RandomGraphs.any(random);
            final Plan plan = RandomGraphs.proportionalPlan(random, graph);
            final int[] outputs = RandomGraphs.outputs(graph);
            moved += simulate(graph, plan, StepCompiler.compile(graph, plan, outputs), outputs, random);
        }
        assertTrue(moved > 0, "random plans move rows");
    }

    @Test
    void shouldComputeAndGatherEveryRowOfSideOutputsInsideAFusedBlock()
    {
        // in -> a -> side (an output that a stride-2 1x1 conv reads every other row of) -> b; a -> dead (no reader)
        final LayerGraph.Builder builder = LayerGraph.builder();
        final int in = builder.addSource("in", 8, 4, 1);
        final int a = builder.addLayer("a", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1,
            100, 16);
        final int dead = builder.addLayer("dead", new int[]{ a }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10, 16);
        final int side = builder.addLayer("side", new int[]{ a }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10,
            16);
        final int b = builder.addLayer("b", new int[]{ side }, new RowMap[]{ RowMap.window(1, 2, 1, 0, 8, 4) }, 4, 4,
            1, 10, 16);
        final LayerGraph graph = builder.markOutput(dead).markOutput(side).markOutput(b).build();
        final int[] outputs = { dead, side, b };
        final Random random = new Random(3);
        for (int fuse = 2; fuse <= 4; fuse++)
        {
            final Plan plan = Planner.uniform(graph, new double[]{ 1, 1, 0, 2 }, fuse);
            assertEquals(Mode.FUSED, plan.stages().get(0).mode());
            assertTrue(simulate(graph, plan, StepCompiler.compile(graph, plan, outputs), outputs, random) > 0);
        }
    }

    @Test
    void shouldComputeOnlyTheLayersTheGatheredOutputsRead()
    {
        // a two-exit model: in -> c1 -> exit0; c1 -> c2 -> c3 -> exit1
        final LayerGraph.Builder builder = LayerGraph.builder();
        final int in = builder.addSource("in", 8, 4, 1);
        final int c1 = builder.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4,
            1, 100, 16);
        final int exit0 = builder.addLayer("exit0", new int[]{ c1 }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10,
            16);
        final int c2 = builder.addLayer("c2", new int[]{ c1 }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4,
            1, 100, 16);
        final int c3 = builder.addLayer("c3", new int[]{ c2 }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4,
            1, 100, 16);
        final int exit1 = builder.addLayer("exit1", new int[]{ c3 }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10,
            16);
        final LayerGraph graph = builder.markOutput(exit0).markOutput(exit1).build();
        final Random random = new Random(5);
        for (int fuse = 1; fuse <= 3; fuse++)
        {
            final Plan plan = Planner.uniform(graph, new double[]{ 1, 2, 1 }, fuse);
            final List<DeviceProgram> early = StepCompiler.compile(graph, plan, new int[]{ exit0 });
            for (final DeviceProgram p : early)
            {
                for (final Step step : p.steps())
                {
                    assertTrue(step.layer() != c2 && step.layer() != c3 && step.layer() != exit1,
                        "fuse " + fuse + ": device " + p.device() + " has a step of a layer exit 0 does not read: " +
                        step);
                }
            }
            assertTrue(simulate(graph, plan, early, new int[]{ exit0 }, random) > 0);
            final List<DeviceProgram> both = StepCompiler.compile(graph, plan, new int[]{ exit0, exit1 });
            for (final int layer : new int[]{ c1, exit0, c2, c3, exit1 })
            {
                assertTrue(both.stream().anyMatch(p -> p.computes(layer)), "layer " + layer + " computed somewhere");
            }
        }
    }

    @Test
    void shouldExchangeOneHaloRowEachWayForTwoThreeByThreeConvs()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 4, 1);
        final int c1 = b.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1,
            100, 16);
        b.addLayer("c2", new int[]{ c1 }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1, 100, 16);
        final LayerGraph g = b.build();
        final Plan plan = new Plan(0, List.of(new Stage(0, 2, Mode.PER_LAYER,
            new RowRange[]{ RowRange.of(0, 4), RowRange.of(4, 8) })));

        final List<DeviceProgram> p = StepCompiler.compile(g, plan, new int[]{ 2 });

        assertEquals(List.of(
            "SEND SCATTER layer 0 rows [3, 8) to 1 #0 (80 B)",
            "COMPUTE layer 1 rows [0, 4)",
            "SEND HALO layer 1 rows [3, 4) to 1 #1 (16 B)",
            "AWAIT HALO layer 1 rows [4, 5) from 1 #0 (16 B)",
            "COMPUTE layer 2 rows [0, 4)",
            "AWAIT GATHER layer 2 rows [4, 8) from 1 #1 (64 B)"), strings(p.get(0)));
        assertEquals(List.of(
            "AWAIT SCATTER layer 0 rows [3, 8) from 0 #0 (80 B)",
            "COMPUTE layer 1 rows [4, 8)",
            "SEND HALO layer 1 rows [4, 5) to 0 #0 (16 B)",
            "AWAIT HALO layer 1 rows [3, 4) from 0 #1 (16 B)",
            "COMPUTE layer 2 rows [4, 8)",
            "SEND GATHER layer 2 rows [4, 8) to 0 #1 (64 B)"), strings(p.get(1)));
        assertEquals(RowRange.of(3, 8), p.get(1).window(1));
        assertEquals(RowRange.of(0, 8), p.get(0).window(2));
        assertTrue(p.get(1).computes(2));
    }

    @Test
    void shouldComputeWholeAFusedLayerThatALaterStageReads()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 4, 1);
        final int c1 = b.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10, 16);
        b.addLayer("c2", new int[]{ c1 }, new RowMap[]{ RowMap.window(1, 2, 1, 0, 8, 4) }, 4, 4, 1, 10, 16);
        b.addLayer("skip", new int[]{ c1 }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10, 16);
        final LayerGraph g = b.build();
        // the stride-2 c2 reads c1's rows 0..6 only, but the later stage reads row 7 too: the block computes all 8
        final Plan plan = new Plan(0, List.of(
            new Stage(0, 2, Mode.FUSED, new RowRange[]{ RowRange.of(0, 2), RowRange.of(2, 4) }),
            new Stage(3, 3, Mode.PER_LAYER, new RowRange[]{ RowRange.of(0, 8), RowRange.EMPTY })));
        final RowRange[][] rows = StageRows.computed(g, plan.stages().get(0));
        assertEquals(RowRange.of(0, 4), rows[0][c1]);
        assertEquals(RowRange.of(4, 8), rows[1][c1]);
        final int[] outputs = { 3 };
        assertTrue(simulate(g, plan, StepCompiler.compile(g, plan, outputs), outputs, new Random(5)) > 0);
    }

    @Test
    void shouldRefuseAnOutputLayerOutsideTheGraph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 4, 1);
        b.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.identity(8) }, 8, 4, 1, 10, 16);
        final LayerGraph g = b.build();
        final IllegalArgumentException badOutput = assertThrows(IllegalArgumentException.class,
            () -> StepCompiler.compile(g, Planner.uniform(g, new double[]{ 1 }, 1), new int[]{ 9 }));
        assertTrue(badOutput.getMessage().contains("output layer 9"), badOutput.getMessage());
    }

    private static List<String> strings(final DeviceProgram p)
    {
        return p.steps().stream().map(Step::toString).toList();
    }

    /**
     * Executes the programs row by row with FIFO streams, interleaving devices at random: every AWAIT must find its
     * message at the head of its stream, every read row must be valid, no device may be left waiting, and the
     * coordinator must end with every output row.
     *
     * @return payload bytes moved.
     */
    private static long simulate(
        final LayerGraph graph, final Plan plan, final List<DeviceProgram> programs, final int[] outputs,
        final Random random)
    {
        final int devices = plan.deviceCount();
        final int layers = graph.layerCount();
        final boolean[][][] valid = new boolean[devices][layers][];
        for (int d = 0; d < devices; d++)
        {
            for (int id = 0; id < layers; id++)
            {
                valid[d][id] = new boolean[graph.layer(id).heightRows()];
                if (graph.layer(id).isSource() && d == StepCompiler.COORDINATOR)
                {
                    java.util.Arrays.fill(valid[d][id], true);
                }
            }
        }
        @SuppressWarnings("unchecked")
        final ArrayDeque<Step>[][] streams = new ArrayDeque[devices][devices];
        for (int s = 0; s < devices; s++)
        {
            for (int r = 0; r < devices; r++)
            {
                streams[s][r] = new ArrayDeque<>();
            }
        }
        final int[] pc = new int[devices];
        long moved = 0;
        int done = 0;
        while (done < devices)
        {
            boolean progressed = false;
            done = 0;
            final int first = random.nextInt(devices);
            for (int k = 0; k < devices; k++)
            {
                final int d = (first + k) % devices;
                final List<Step> steps = programs.get(d).steps();
                if (pc[d] == steps.size())
                {
                    continue;
                }
                final Step step = steps.get(pc[d]);
                final String where = "device " + d + " step " + pc[d] + " " + step + " of " + plan;
                switch (step.kind())
                {
                    case COMPUTE:
                    {
                        final Layer layer = graph.layer(step.layer());
                        for (int j = 0; j < layer.inputCount(); j++)
                        {
                            final RowRange need = RowRanges.inputRows(layer, j, step.rows());
                            for (int row = need.start(); row < need.end(); row++)
                            {
                                assertTrue(valid[d][layer.inputId(j)][row], "reads invalid row " + row + " at " +
                                    where);
                            }
                            assertTrue(programs.get(d).window(layer.inputId(j)).hull(need)
                                .equals(programs.get(d).window(layer.inputId(j))), "window misses input at " + where);
                        }
                        mark(valid[d][step.layer()], step.rows());
                        break;
                    }
                    case SEND:
                    {
                        for (int row = step.rows().start(); row < step.rows().end(); row++)
                        {
                            assertTrue(valid[d][step.layer()][row], "sends invalid row " + row + " at " + where);
                        }
                        streams[d][step.peer()].addLast(step);
                        break;
                    }
                    case AWAIT:
                    {
                        final Step head = streams[step.peer()][d].peekFirst();
                        if (head == null)
                        {
                            continue; // waits
                        }
                        streams[step.peer()][d].removeFirst();
                        if (head.layer() != step.layer() || !head.rows().equals(step.rows()) ||
                            head.sequence() != step.sequence() || head.bytes() != step.bytes())
                        {
                            fail("stream out of order: got " + head + " at " + where);
                        }
                        assertTrue(step.layer() < layers, where);
                        final RowRange w = programs.get(d).window(step.layer());
                        assertEquals(w, w.hull(step.rows()), "window misses received rows at " + where);
                        mark(valid[d][step.layer()], step.rows());
                        moved += step.bytes();
                        break;
                    }
                    default:
                        fail("unknown step " + step);
                }
                pc[d]++;
                progressed = true;
            }
            for (int d = 0; d < devices; d++)
            {
                done += pc[d] == programs.get(d).steps().size() ? 1 : 0;
            }
            if (!progressed && done < devices)
            {
                fail("deadlock: program counters " + java.util.Arrays.toString(pc) + " of " + plan);
            }
        }
        for (int s = 0; s < devices; s++)
        {
            for (int r = 0; r < devices; r++)
            {
                assertTrue(streams[s][r].isEmpty(), "unread message from " + s + " to " + r);
            }
        }
        for (final int out : outputs)
        {
            for (int row = 0; row < graph.layer(out).heightRows(); row++)
            {
                assertTrue(valid[StepCompiler.COORDINATOR][out][row], "output row " + row + " missing");
            }
        }
        return moved;
    }

    private static void mark(final boolean[] rows, final RowRange r)
    {
        for (int row = r.start(); row < r.end(); row++)
        {
            rows[row] = true;
        }
    }
}
