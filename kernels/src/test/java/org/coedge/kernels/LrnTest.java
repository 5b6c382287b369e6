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

class LrnTest
{
    @Test
    void shouldMatchReferenceForOddAndEvenSizesOnRowSlices()
    {
        final SplittableRandom random = new SplittableRandom(31);
        final float[] betas = {0.75f, 0.5f, 1.3f};
        for (int trial = 0; trial < 80; trial++)
        {
            final int h = 1 + random.nextInt(9);
            final int w = 1 + random.nextInt(9);
            final int c = 1 + random.nextInt(24);
            final int size = 1 + random.nextInt(7);
            final float alpha = (float)(random.nextDouble() * 2);
            final float beta = betas[random.nextInt(betas.length)];
            final float bias = (float)(0.5 + random.nextDouble() * 2);
            final float[] x = random(random, h * w * c);
            for (int i = 0; i < x.length; i++)
            {
                x[i] *= 4;
            }
            final int[] range = rowRange(random, h);
            final MapView in = window(random, x, h, w, c, range[0], range[1]);
            final MapView out = outputWindow(random, h, w, c, range[0], range[1]);
            final Lrn lrn = new Lrn(size, alpha, beta, bias);
            lrn.forward(in, out, range[0], range[1]);
            assertRows(lrn + " on " + h + "x" + w + "x" + c,
                OpsReference.lrn(x, h, w, c, size, alpha, beta, bias), out, range[0], range[1]);
        }
    }

    @Test
    void shouldRejectInPlaceMissingRowsAndShapeMismatch()
    {
        final SplittableRandom random = new SplittableRandom(32);
        final Lrn lrn = new Lrn(5, 1e-4f, 0.75f, 1f);
        final MapView in = window(random, random(random, 6 * 4 * 8), 6, 4, 8, 2, 5);
        assertThrows(IllegalArgumentException.class, () -> lrn.forward(in, in, 2, 5));
        assertThrows(IllegalArgumentException.class, () -> lrn.forward(in, emptyWindow(random, 6, 4, 8, 0, 6), 1, 5));
        assertThrows(IllegalArgumentException.class, () -> lrn.forward(in, emptyWindow(random, 6, 4, 7, 0, 6), 2, 5));
        assertThrows(IllegalArgumentException.class, () -> new Lrn(0, 1f, 1f, 1f));
    }
}
