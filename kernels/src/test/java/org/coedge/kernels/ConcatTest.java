package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.assertRows;
import static org.coedge.kernels.OpsTestSupport.emptyWindow;
import static org.coedge.kernels.OpsTestSupport.outputWindow;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.rowRange;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class ConcatTest
{
    @Test
    void shouldMatchReferenceForSeveralInputsOnRowSlices()
    {
        final SplittableRandom random = new SplittableRandom(71);
        for (int trial = 0; trial < 50; trial++)
        {
            final int h = 1 + random.nextInt(8);
            final int w = 1 + random.nextInt(8);
            final int n = 1 + random.nextInt(4);
            final int[] channels = new int[n];
            final float[][] xs = new float[n][];
            final MapView[] inputs = new MapView[n];
            final int[] range = rowRange(random, h);
            for (int i = 0; i < n; i++)
            {
                channels[i] = 1 + random.nextInt(9);
                xs[i] = random(random, h * w * channels[i]);
                final int r0 = Math.max(0, range[0] - random.nextInt(2));
                final int r1 = Math.min(h, range[1] + random.nextInt(2));
                inputs[i] = window(random, xs[i], h, w, channels[i], r0, r1);
            }
            final Concat concat = new Concat(channels);
            final MapView out = outputWindow(random, h, w, concat.outputChannels(), range[0], range[1]);
            concat.forward(inputs, out, range[0], range[1]);
            assertRows(concat.toString(), OpsReference.concat(xs, h, w, channels), out, range[0], range[1]);
        }
    }

    @Test
    void shouldRejectWrongCountChannelsRowsAndOverlap()
    {
        final SplittableRandom random = new SplittableRandom(72);
        final Concat concat = new Concat(2, 3);
        assertEquals(5, concat.outputChannels());
        final MapView a = window(random, random(random, 4 * 3 * 2), 4, 3, 2, 0, 4);
        final MapView b = window(random, random(random, 4 * 3 * 3), 4, 3, 3, 1, 4);
        final MapView out = emptyWindow(random, 4, 3, 5, 0, 4);
        concat.forward(new MapView[]{a, b}, out, 1, 4);
        assertThrows(IllegalArgumentException.class, () -> concat.forward(new MapView[]{a}, out, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> concat.forward(new MapView[]{b, a}, out, 1, 4));
        assertThrows(IllegalArgumentException.class, () -> concat.forward(new MapView[]{a, b}, out, 0, 4));
        assertThrows(IllegalArgumentException.class,
            () -> concat.forward(new MapView[]{a, b}, emptyWindow(random, 4, 3, 6, 0, 4), 1, 4));
        final MapView overlapping = new MapView().wrap(a.region(), a.offset() + 1, 1, 1, 5, 0, 1);
        final MapView a1 = new MapView().wrap(a.region(), a.offset(), 1, 1, 2, 0, 1);
        final MapView b1 = window(random, random(random, 3), 1, 1, 3, 0, 1);
        assertThrows(IllegalArgumentException.class,
            () -> concat.forward(new MapView[]{a1, b1}, overlapping, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> new Concat());
        assertThrows(IllegalArgumentException.class, () -> new Concat(3, 0));
    }
}
