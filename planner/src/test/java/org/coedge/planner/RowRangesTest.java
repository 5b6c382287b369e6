package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RowRangesTest
{
    @Test
    void shouldMatchRowByRowOracleOnRandomChains()
    {
        final Random random = new Random(11);
        for (int trial = 0; trial < 300; trial++)
        {
            checkRandomBlock(RandomGraphs.chain(random, 1 + random.nextInt(8)), random);
        }
    }

    @Test
    void shouldMatchRowByRowOracleOnRandomBranchAndMergeGraphs()
    {
        final Random random = new Random(12);
        for (int trial = 0; trial < 300; trial++)
        {
            checkRandomBlock(RandomGraphs.branchy(random, 1 + random.nextInt(4)), random);
        }
    }

    @Test
    void shouldTakeWidestBranchAtMerge()
    {
        // input -> 1x1 branch and 5x5 branch -> concat: the input needs the 5x5 branch's two extra rows per side
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 20, 4, 1);
        final int narrow = b.addLayer("1x1", new int[]{ in }, new RowMap[]{ RowMap.identity(20) }, 20, 4, 1, 1, 1);
        final int wide = b.addLayer("5x5", new int[]{ in }, new RowMap[]{ RowMap.window(5, 1, 1, 2, 20, 20) }, 20,
            4, 1, 1, 1);
        final int cat = b.addLayer("cat", new int[]{ narrow, wide },
            new RowMap[]{ RowMap.identity(20), RowMap.identity(20) }, 20, 4, 2, 1, 1);
        final RowRange[] needed = RowRanges.backward(b.build(), narrow, cat, RowRange.of(5, 10));
        assertEquals(RowRange.of(3, 12), needed[in]);
        assertEquals(RowRange.of(5, 10), needed[narrow]);
        assertEquals(RowRange.of(5, 10), needed[wide]);
    }

    private static void checkRandomBlock(final LayerGraph graph, final Random random)
    {
        final int n = graph.layerCount();
        final int last = random.nextInt(n);
        final int first = random.nextInt(last + 1);
        final int h = graph.layer(last).heightRows();
        final int o0 = random.nextInt(h + 1);
        final int o1 = o0 + random.nextInt(h - o0 + 1);
        final RowRange[] needed = RowRanges.backward(graph, first, last, RowRange.of(o0, o1));

        final boolean[][] sets = new boolean[n][];
        for (int id = 0; id < n; id++)
        {
            sets[id] = new boolean[graph.layer(id).heightRows()];
        }
        for (int o = o0; o < o1; o++)
        {
            sets[last][o] = true;
        }
        for (int id = last; id >= first; id--)
        {
            final Layer layer = graph.layer(id);
            // a device computes one contiguous range of a layer: every row between the first and last needed one
            fillHull(sets[id]);
            for (int o = 0; o < layer.heightRows(); o++)
            {
                if (sets[id][o])
                {
                    for (int j = 0; j < layer.inputCount(); j++)
                    {
                        final RowMap map = layer.rowMap(j);
                        for (int r = map.first(o); r < map.end(o); r++)
                        {
                            sets[layer.inputId(j)][r] = true;
                        }
                    }
                }
            }
        }
        for (int id = 0; id < n; id++)
        {
            int lo = -1;
            int hi = -1;
            for (int r = 0; r < sets[id].length; r++)
            {
                if (sets[id][r])
                {
                    lo = lo < 0 ? r : lo;
                    hi = r + 1;
                }
            }
            final RowRange expected = lo < 0 ? RowRange.EMPTY : RowRange.of(lo, hi);
            assertEquals(expected, needed[id], "layer " + id + " of block [" + first + ", " + last + "] rows [" +
                o0 + ", " + o1 + ")");
        }
    }

    private static void fillHull(final boolean[] rows)
    {
        int lo = -1;
        int hi = -1;
        for (int r = 0; r < rows.length; r++)
        {
            if (rows[r])
            {
                lo = lo < 0 ? r : lo;
                hi = r + 1;
            }
        }
        for (int r = Math.max(lo, 0); r < hi; r++)
        {
            rows[r] = true;
        }
    }
}
