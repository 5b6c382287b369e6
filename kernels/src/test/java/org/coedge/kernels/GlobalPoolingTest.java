package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.assertRows;
import static org.coedge.kernels.OpsTestSupport.emptyWindow;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class GlobalPoolingTest
{
    @Test
    void shouldMatchReferenceOverWholeMap()
    {
        final SplittableRandom random = new SplittableRandom(21);
        for (int trial = 0; trial < 60; trial++)
        {
            final int h = 1 + random.nextInt(12);
            final int w = 1 + random.nextInt(12);
            final int c = 1 + random.nextInt(20);
            final GlobalPooling.Kind kind = random.nextBoolean() ? GlobalPooling.Kind.AVERAGE : GlobalPooling.Kind.MAX;
            final float[] x = random(random, h * w * c);
            final MapView in = window(random, x, h, w, c, 0, h);
            final MapView out = emptyWindow(random, 1, 1, c, 0, 1);
            new GlobalPooling(kind).forward(in, out);
            assertRows(kind + " " + h + "x" + w + "x" + c, OpsReference.globalPool(kind, x, h, w, c), out, 0, 1);
        }
    }

    @Test
    void shouldCombineRowSlicesHeldApartIntoTheWholeMapResult()
    {
        final SplittableRandom random = new SplittableRandom(22);
        for (int trial = 0; trial < 40; trial++)
        {
            final int h = 3 + random.nextInt(10);
            final int w = 1 + random.nextInt(9);
            final int c = 1 + random.nextInt(17);
            final GlobalPooling.Kind kind = random.nextBoolean() ? GlobalPooling.Kind.AVERAGE : GlobalPooling.Kind.MAX;
            final GlobalPooling pooling = new GlobalPooling(kind);
            final float[] x = random(random, h * w * c);
            final int cut1 = 1 + random.nextInt(h - 2);
            final int cut2 = cut1 + 1 + random.nextInt(h - cut1 - 1);
            final int[] cuts = {0, cut1, cut2, h};
            final FloatRegion total = FloatRegion.allocate(3 + c);
            pooling.begin(total, 3, c);
            for (int s = 0; s < 3; s++)
            {
                final MapView slice = window(random, x, h, w, c, cuts[s], cuts[s + 1]);
                final FloatRegion acc = FloatRegion.allocate(5 + c);
                pooling.begin(acc, 5, c);
                pooling.accumulate(slice, cuts[s], cuts[s + 1], acc, 5);
                pooling.combine(acc, 5, total, 3, c);
            }
            final MapView out = emptyWindow(random, 1, 1, c, 0, 1);
            pooling.finish(total, 3, c, (long)h * w, out.region(), out.offset());
            assertRows(kind + " slices " + cut1 + "," + cut2 + " of " + h, OpsReference.globalPool(kind, x, h, w, c),
                out, 0, 1);
        }
    }

    @Test
    void shouldRejectMissingRowsAndWrongShapes()
    {
        final SplittableRandom random = new SplittableRandom(23);
        final GlobalPooling pooling = new GlobalPooling(GlobalPooling.Kind.AVERAGE);
        final float[] x = random(random, 6 * 5 * 4);
        final MapView partial = window(random, x, 6, 5, 4, 1, 6);
        final MapView whole = window(random, x, 6, 5, 4, 0, 6);
        assertThrows(IllegalArgumentException.class, () -> pooling.forward(partial, emptyWindow(random, 1, 1, 4, 0, 1)));
        assertThrows(IllegalArgumentException.class, () -> pooling.forward(whole, emptyWindow(random, 1, 1, 3, 0, 1)));
        final FloatRegion acc = FloatRegion.allocate(4);
        pooling.begin(acc, 0, 4);
        assertThrows(IllegalArgumentException.class, () -> pooling.accumulate(partial, 0, 2, acc, 0));
        assertThrows(IllegalArgumentException.class, () -> pooling.accumulate(whole, 0, 7, acc, 0));
        assertThrows(IllegalArgumentException.class, () -> pooling.accumulate(whole, 0, 6, acc, 1));
        assertThrows(IllegalArgumentException.class, () -> pooling.finish(acc, 0, 4, 0, acc, 0));
    }
}
