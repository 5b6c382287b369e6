package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.assertRows;
import static org.coedge.kernels.OpsTestSupport.emptyWindow;
import static org.coedge.kernels.OpsTestSupport.outputWindow;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.rowRange;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class SoftmaxTest
{
    @Test
    void shouldMatchReferenceIncludingLogitsThatWouldOverflowExp()
    {
        final SplittableRandom random = new SplittableRandom(41);
        for (int trial = 0; trial < 60; trial++)
        {
            final int h = 1 + random.nextInt(7);
            final int w = 1 + random.nextInt(7);
            final int c = 1 + random.nextInt(40);
            final float spread = trial % 3 == 0 ? 60f : 3f;
            final float shift = trial % 3 == 0 ? 100f : 0f;
            final float[] x = random(random, h * w * c);
            for (int i = 0; i < x.length; i++)
            {
                x[i] = x[i] * spread + shift;
            }
            final int[] range = rowRange(random, h);
            final MapView in = window(random, x, h, w, c, range[0], range[1]);
            final boolean inPlace = random.nextBoolean();
            final MapView out = inPlace ? in : outputWindow(random, h, w, c, range[0], range[1]);
            new Softmax().forward(in, out, range[0], range[1]);
            assertRows("softmax " + h + "x" + w + "x" + c + (inPlace ? " in place" : ""),
                OpsReference.softmax(x, h, w, c), out, range[0], range[1]);
        }
    }

    @Test
    void shouldRejectMissingRowsShapeMismatchAndShiftedAlias()
    {
        final SplittableRandom random = new SplittableRandom(42);
        final Softmax softmax = new Softmax();
        final MapView in = window(random, random(random, 6 * 3 * 5), 6, 3, 5, 1, 6);
        assertThrows(IllegalArgumentException.class, () -> softmax.forward(in, emptyWindow(random, 6, 3, 5, 0, 6), 0, 3));
        assertThrows(IllegalArgumentException.class, () -> softmax.forward(in, emptyWindow(random, 6, 3, 4, 0, 6), 1, 3));
        final MapView shifted = new MapView().wrap(in.region(), in.offset(), 6, 3, 5, 2, 4);
        assertThrows(IllegalArgumentException.class, () -> softmax.forward(in, shifted, 2, 5));
    }
}
