package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.assertRows;
import static org.coedge.kernels.OpsTestSupport.emptyWindow;
import static org.coedge.kernels.OpsTestSupport.outputWindow;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.rowRange;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class PoolingTest
{
    @Test
    void shouldMatchReferenceOnRandomGeometriesAndRowSlices()
    {
        final SplittableRandom random = new SplittableRandom(11);
        int checked = 0;
        while (checked < 300)
        {
            final int h = 1 + random.nextInt(13);
            final int w = 1 + random.nextInt(11);
            final int c = 1 + random.nextInt(9);
            final int kH = 1 + random.nextInt(4);
            final int kW = 1 + random.nextInt(4);
            final PoolParams p = new PoolParams(kH, kW, 1 + random.nextInt(3), 1 + random.nextInt(3),
                1 + random.nextInt(2), 1 + random.nextInt(2),
                random.nextInt(kH + 1), random.nextInt(kW + 1), random.nextInt(kH + 1), random.nextInt(kW + 1),
                random.nextBoolean(), random.nextBoolean());
            final Pooling.Kind kind = random.nextBoolean() ? Pooling.Kind.MAX : Pooling.Kind.AVERAGE;
            final int outH = OpsReference.poolOutputSize(h, kH, p.strideH(), p.dilationH(), p.padTop(),
                p.padBottom(), p.ceilMode());
            final int outW = OpsReference.poolOutputSize(w, kW, p.strideW(), p.dilationW(), p.padLeft(),
                p.padRight(), p.ceilMode());
            if (outH < 1 || outW < 1)
            {
                continue;
            }
            assertEquals(outH, p.outputHeight(h), p.toString());
            assertEquals(outW, p.outputWidth(w), p.toString());

            final float[] x = random(random, h * w * c);
            final float[] expected = OpsReference.pool(kind, x, h, w, c, p);
            final int[] range = rowRange(random, outH);
            final int r0 = p.firstInputRowClipped(range[0], range[1], h);
            final int r1 = p.endInputRowClipped(range[0], range[1], h);
            final MapView in = window(random, x, h, w, c, r0, r1);
            final MapView out = outputWindow(random, outH, outW, c, range[0], range[1]);
            new Pooling(kind, p).forward(in, out, range[0], range[1]);
            assertRows(kind + " " + p + " on " + h + "x" + w + "x" + c, expected, out, range[0], range[1]);
            checked++;
        }
    }

    @Test
    void shouldComputeDisjointRowRangesFromSeveralThreadsAtOnce() throws InterruptedException
    {
        final SplittableRandom random = new SplittableRandom(12);
        final int h = 31;
        final int w = 17;
        final int c = 8;
        final PoolParams p = new PoolParams(3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, true);
        final Pooling pooling = Pooling.average(p);
        final float[] x = random(random, h * w * c);
        final MapView in = window(random, x, h, w, c, 0, h);
        final MapView out = emptyWindow(random, h, w, c, 0, h);
        final int[] cuts = {0, 7, 15, 16, 31};
        final Thread[] threads = new Thread[cuts.length - 1];
        for (int t = 0; t < threads.length; t++)
        {
            final int h0 = cuts[t];
            final int h1 = cuts[t + 1];
            threads[t] = new Thread(() -> pooling.forward(in, out, h0, h1));
            threads[t].start();
        }
        for (final Thread thread : threads)
        {
            thread.join();
        }
        assertRows("threads " + p, OpsReference.pool(Pooling.Kind.AVERAGE, x, h, w, c, p), out, 0, h);
    }

    @Test
    void shouldMatchOnnxCeilModeExamples()
    {
        final float[] x = new float[16];
        for (int i = 0; i < 16; i++)
        {
            x[i] = i + 1;
        }
        final PoolParams p = new PoolParams(3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true, false);
        assertArrayEquals(new float[]{11, 12, 15, 16}, run(Pooling.max(p), x, 4, 4, 1), 0f);
        assertArrayEquals(new float[]{6, 7.5f, 12, 13.5f}, run(Pooling.average(p), x, 4, 4, 1), 0f);
    }

    @Test
    void shouldDropCeilWindowStartingInTrailingPadding()
    {
        final PoolParams p = new PoolParams(3, 3, 3, 3, 1, 1, 1, 1, 1, 1, true, false);
        assertEquals(2, p.outputHeight(5));
        assertEquals(2, OpsReference.poolOutputSize(5, 3, 3, 1, 1, 1, true));
        final PoolParams floor = new PoolParams(3, 3, 3, 3, 1, 1, 1, 1, 1, 1, false, false);
        assertEquals(2, floor.outputHeight(5));
        assertEquals(3, PoolParams.of(2, 2).outputHeight(7));
        assertEquals(4, new PoolParams(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, true, false).outputHeight(7));
    }

    @Test
    void shouldCountPaddedTapsOnlyUpToTrailingPadding()
    {
        final float[] x = {1, 2, 3};
        final PoolParams noPad = new PoolParams(2, 1, 2, 1, 1, 1, 0, 0, 0, 0, true, true);
        assertArrayEquals(new float[]{1.5f, 3f}, run(Pooling.average(noPad), x, 3, 1, 1), 0f);
        final PoolParams bottomPad = new PoolParams(2, 1, 2, 1, 1, 1, 0, 0, 1, 0, true, true);
        assertArrayEquals(new float[]{1.5f, 1.5f}, run(Pooling.average(bottomPad), x, 3, 1, 1), 0f);
        final PoolParams excluded = new PoolParams(2, 1, 2, 1, 1, 1, 0, 0, 1, 0, true, false);
        assertArrayEquals(new float[]{1.5f, 3f}, run(Pooling.average(excluded), x, 3, 1, 1), 0f);
    }

    @Test
    void shouldGiveHaloRowsOfTheWindowFormula()
    {
        final PoolParams p = new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false);
        assertEquals(-1, p.firstInputRow(0));
        assertEquals(2, p.endInputRow(1));
        assertEquals(5, p.firstInputRow(3));
        assertEquals(10, p.endInputRow(5));
        assertEquals(0, p.firstInputRowClipped(0, 2, 9));
        assertEquals(4, p.endInputRowClipped(0, 2, 9));
        assertEquals(9, p.endInputRowClipped(3, 5, 9));
        final PoolParams dilated = new PoolParams(3, 3, 1, 1, 2, 2, 0, 0, 0, 0, false, false);
        assertEquals(4, dilated.firstInputRow(4));
        assertEquals(11, dilated.endInputRow(7));
        final PoolParams allPadding = new PoolParams(2, 1, 1, 1, 1, 1, 4, 0, 0, 0, false, false);
        assertEquals(0, allPadding.firstInputRowClipped(0, 2, 6));
        assertEquals(0, allPadding.endInputRowClipped(0, 2, 6));
    }

    @Test
    void shouldRejectWindowMissingAnInputRow()
    {
        final SplittableRandom random = new SplittableRandom(3);
        final PoolParams p = new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false);
        final float[] x = random(random, 9 * 9 * 2);
        final MapView in = window(random, x, 9, 9, 2, 2, 6);
        final MapView out = emptyWindow(random, 5, 5, 2, 0, 5);
        final Pooling max = Pooling.max(p);
        max.forward(in, out, 2, 3);
        assertThrows(IllegalArgumentException.class, () -> max.forward(in, out, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> max.forward(in, out, 2, 4));
    }

    @Test
    void shouldRejectWrongShapesAndRows()
    {
        final SplittableRandom random = new SplittableRandom(5);
        final Pooling max = Pooling.max(PoolParams.of(2, 2));
        final MapView in = window(random, random(random, 8 * 8 * 3), 8, 8, 3, 0, 8);
        assertThrows(IllegalArgumentException.class, () -> max.forward(in, emptyWindow(random, 4, 4, 2, 0, 4), 0, 4));
        assertThrows(IllegalArgumentException.class, () -> max.forward(in, emptyWindow(random, 5, 4, 3, 0, 5), 0, 4));
        assertThrows(IllegalArgumentException.class, () -> max.forward(in, emptyWindow(random, 4, 4, 3, 1, 3), 0, 3));
        assertThrows(IllegalArgumentException.class, () -> max.forward(in, emptyWindow(random, 4, 4, 3, 0, 4), 0, 5));
        assertThrows(IllegalArgumentException.class, () -> Pooling.max(PoolParams.of(1, 1)).forward(in, in, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> PoolParams.of(9, 1).outputHeight(8));
        assertThrows(IllegalArgumentException.class, () -> PoolParams.of(0, 1));
        assertThrows(IllegalArgumentException.class,
            () -> new PoolParams(2, 2, 1, 1, 1, 1, -1, 0, 0, 0, false, false));
    }

    private static float[] run(final Pooling pooling, final float[] x, final int h, final int w, final int c)
    {
        final PoolParams p = pooling.params();
        final int outH = p.outputHeight(h);
        final int outW = p.outputWidth(w);
        final FloatRegion in = FloatRegion.allocate(x.length);
        in.put(0, x);
        final FloatRegion out = FloatRegion.allocate(outH * outW * c);
        pooling.forward(MapView.of(in, 0, h, w, c), MapView.of(out, 0, outH, outW, c), 0, outH);
        return out.toArray(0, outH * outW * c);
    }
}
