package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowMapTest
{
    @Test
    void shouldMatchWindowFormulaRowByRow()
    {
        final Random random = new Random(1);
        for (int trial = 0; trial < 500; trial++)
        {
            final int k = 1 + random.nextInt(7);
            final int s = 1 + random.nextInt(4);
            final int d = 1 + random.nextInt(3);
            final int p = random.nextInt(k + 2);
            final int in = 1 + random.nextInt(40);
            final int out = 1 + random.nextInt(40);
            final RowMap map = RowMap.window(k, s, d, p, in, out);
            for (int o = 0; o < out; o++)
            {
                // every tap inside the input is covered; the range is the window's span clipped to the input
                for (int t = 0; t < k; t++)
                {
                    final int row = o * s - p + t * d;
                    if (row >= 0 && row < in)
                    {
                        assertTrue(map.first(o) <= row && row < map.end(o), "tap row " + row + " of o=" + o);
                    }
                }
                final int lo = Math.max(0, Math.min(in, o * s - p));
                final int hi = Math.max(0, Math.min(in, o * s - p + (k - 1) * d + 1));
                assertEquals(lo, map.first(o));
                assertEquals(Math.max(lo, hi), map.end(o));
            }
        }
    }

    @Test
    void shouldCoverEveryContributingInputRowOfTransposedWindow()
    {
        final Random random = new Random(2);
        for (int trial = 0; trial < 500; trial++)
        {
            final int k = 1 + random.nextInt(5);
            final int s = 1 + random.nextInt(4);
            final int d = 1 + random.nextInt(4);
            final int p = random.nextInt(k + 1);
            final int in = 1 + random.nextInt(20);
            final int out = 1 + random.nextInt(80);
            final RowMap map = RowMap.transposedWindow(k, s, d, p, in, out);
            for (int i = 0; i < in; i++)
            {
                for (int t = 0; t < k; t++)
                {
                    final int o = i * s - p + t * d;
                    if (o >= 0 && o < out)
                    {
                        assertTrue(map.first(o) <= i && i < map.end(o), "row " + i + " feeds output " + o);
                    }
                }
            }
        }
    }

    @Test
    void shouldBeExactForPlainTransposedWindow()
    {
        // stride 2, kernel 3, pad 1: output 2i-1..2i+1 read input i
        final RowMap map = RowMap.transposedWindow(3, 2, 1, 1, 4, 8);
        assertEquals(RowRange.of(0, 1), map.inputRows(RowRange.of(0, 1)));
        assertEquals(RowRange.of(0, 2), map.inputRows(RowRange.of(1, 2)));
        assertEquals(RowRange.of(3, 4), map.inputRows(RowRange.of(7, 8)));
    }

    @Test
    void shouldSkipOutputRowsThatNeedNothing()
    {
        final RowMap map = RowMap.table(10, new int[]{ 0, 2, 2, 5 }, new int[]{ 0, 4, 4, 6 });
        assertEquals(RowRange.of(2, 4), map.inputRows(RowRange.of(0, 2)));
        assertTrue(map.inputRows(RowRange.of(0, 1)).isEmpty());
        assertEquals(RowRange.of(2, 6), map.inputRows(RowRange.of(0, 4)));
    }

    @Test
    void shouldTakeTheHullOfEveryRowWhenRowsReadBackwardsLikeAReflectPad()
    {
        // reflect pad 2 of 5 rows: output rows 0..8 read input rows 2, 1, 0, 1, 2, 3, 4, 3, 2
        final int[] source = { 2, 1, 0, 1, 2, 3, 4, 3, 2 };
        final int[] end = new int[source.length];
        for (int o = 0; o < source.length; o++)
        {
            end[o] = source[o] + 1;
        }
        final RowMap map = RowMap.table(5, source, end);
        assertEquals(RowRange.of(2, 3), map.inputRows(RowRange.of(0, 1)));
        assertEquals(RowRange.of(1, 3), map.inputRows(RowRange.of(0, 2)));
        assertEquals(RowRange.of(0, 3), map.inputRows(RowRange.of(0, 3)));
        assertEquals(RowRange.of(0, 2), map.inputRows(RowRange.of(1, 4)));
        assertEquals(RowRange.of(3, 5), map.inputRows(RowRange.of(6, 8)));
        assertEquals(RowRange.of(2, 5), map.inputRows(RowRange.of(6, 9)));
        assertEquals(RowRange.of(0, 5), map.inputRows(RowRange.of(0, 9)));
    }

    @Test
    void shouldRejectOutOfRangeTables()
    {
        assertThrows(IllegalArgumentException.class,
            () -> RowMap.table(10, new int[]{ 1, 1 }, new int[]{ 4, 11 }));
        assertThrows(IllegalArgumentException.class,
            () -> RowMap.table(10, new int[]{ 3 }, new int[]{ 2 }));
        assertThrows(IllegalArgumentException.class, () -> RowMap.window(0, 1, 1, 0, 4, 4));
    }

    @Test
    void shouldNeedAllRowsForGlobal()
    {
        final RowMap map = RowMap.global(7, 1);
        assertTrue(map.isGlobal());
        assertFalse(RowMap.identity(7).isGlobal());
        assertEquals(RowRange.of(0, 7), map.inputRows(RowRange.of(0, 1)));
    }
}
