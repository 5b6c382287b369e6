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

class PadTest
{
    @Test
    void shouldMatchReferenceForEveryModeIncludingCropsOnRowSlices()
    {
        final SplittableRandom random = new SplittableRandom(101);
        for (final Pad.Mode mode : Pad.Mode.values())
        {
            int checked = 0;
            while (checked < 40)
            {
                final int h = 1 + random.nextInt(8);
                final int w = 1 + random.nextInt(8);
                final int c = 1 + random.nextInt(5);
                final int top = pad(random, mode, h);
                final int left = pad(random, mode, w);
                final int bottom = pad(random, mode, h);
                final int right = pad(random, mode, w);
                final int front = mode == Pad.Mode.CONSTANT ? random.nextInt(3) : 0;
                final int back = mode == Pad.Mode.CONSTANT ? random.nextInt(3) : 0;
                if (h + top + bottom < 1 || w + left + right < 1)
                {
                    continue;
                }
                final float value = (float)random.nextDouble();
                final Pad pad = new Pad(mode, value, h, w, c, top, left, bottom, right, front, back);
                final float[] x = random(random, h * w * c);
                final int[] range = rowRange(random, pad.outputHeight());
                final MapView in = window(random, x, h, w, c, pad.firstInputRow(range[0], range[1]),
                    pad.endInputRow(range[0], range[1]));
                final MapView out = outputWindow(random, pad.outputHeight(), pad.outputWidth(), pad.outputChannels(),
                    range[0], range[1]);
                pad.forward(in, out, range[0], range[1]);
                final float[] expected = OpsReference.pad(x, h, w, c, mode, value, top, left, bottom, right, front,
                    back);
                assertRows(pad + " on " + h + "x" + w + "x" + c, expected, out, range[0], range[1]);
                checked++;
            }
        }
    }

    @Test
    void shouldMatchOnnxReflectAndEdgeExamples()
    {
        final float[] x = {1, 2, 3, 4, 5, 6};
        assertArrayEquals(new float[]{5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2},
            run(Pad.spatial(Pad.Mode.REFLECT, 0f, 2, 3, 1, 1, 1, 1, 1), x), 0f);
        assertArrayEquals(new float[]{1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6},
            run(Pad.spatial(Pad.Mode.EDGE, 0f, 2, 3, 1, 1, 1, 1, 1), x), 0f);
        assertArrayEquals(new float[]{9, 9, 2, 3, 5, 6},
            run(Pad.spatial(Pad.Mode.CONSTANT, 9f, 2, 3, 1, 1, -1, 0, 0), x), 0f);
    }

    @Test
    void shouldReadOnlyRowsThePaddedRangeMapsTo()
    {
        final Pad constant = Pad.spatial(Pad.Mode.CONSTANT, 0f, 5, 4, 2, 2, 0, 2, 0);
        assertEquals(0, constant.firstInputRow(0, 2));
        assertEquals(0, constant.endInputRow(0, 2));
        assertEquals(0, constant.firstInputRow(1, 4));
        assertEquals(2, constant.endInputRow(1, 4));
        assertEquals(-1, constant.sourceRow(8));
        final Pad reflect = Pad.spatial(Pad.Mode.REFLECT, 0f, 5, 4, 2, 2, 0, 2, 0);
        assertEquals(1, reflect.firstInputRow(0, 2));
        assertEquals(3, reflect.endInputRow(0, 2));
        assertEquals(2, reflect.firstInputRow(7, 9));
        assertEquals(4, reflect.endInputRow(7, 9));
    }

    @Test
    void shouldRejectBadPadsMissingRowsAndWrongShapes()
    {
        final SplittableRandom random = new SplittableRandom(102);
        assertThrows(IllegalArgumentException.class, () -> Pad.spatial(Pad.Mode.REFLECT, 0f, 3, 3, 1, 3, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new Pad(Pad.Mode.EDGE, 0f, 3, 3, 1, 0, 0, 0, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Pad.spatial(Pad.Mode.CONSTANT, 0f, 3, 3, 1, -2, 0, -1, 0));
        final Pad pad = Pad.spatial(Pad.Mode.EDGE, 0f, 6, 4, 2, 1, 1, 1, 1);
        final MapView in = window(random, random(random, 6 * 4 * 2), 6, 4, 2, 1, 4);
        final MapView out = emptyWindow(random, 8, 6, 2, 0, 8);
        pad.forward(in, out, 2, 5);
        assertThrows(IllegalArgumentException.class, () -> pad.forward(in, out, 1, 5));
        assertThrows(IllegalArgumentException.class, () -> pad.forward(in, out, 2, 6));
        assertThrows(IllegalArgumentException.class, () -> pad.forward(in, emptyWindow(random, 8, 6, 3, 0, 8), 2, 5));
        assertThrows(IllegalArgumentException.class, () -> pad.forward(in, emptyWindow(random, 8, 6, 2, 3, 5), 2, 5));
    }

    private static int pad(final SplittableRandom random, final Pad.Mode mode, final int length)
    {
        if (mode == Pad.Mode.REFLECT)
        {
            return random.nextInt(length) - random.nextInt(2) * random.nextInt(Math.max(1, length / 2));
        }
        return random.nextInt(4) - random.nextInt(2) * random.nextInt(Math.max(1, length / 2));
    }

    private static float[] run(final Pad pad, final float[] x)
    {
        final FloatRegion in = FloatRegion.allocate(x.length);
        in.put(0, x);
        final int n = pad.outputHeight() * pad.outputWidth() * pad.outputChannels();
        final FloatRegion out = FloatRegion.allocate(n);
        pad.forward(MapView.of(in, 0, 2, 3, 1), MapView.of(out, 0, pad.outputHeight(), pad.outputWidth(),
            pad.outputChannels()), 0, pad.outputHeight());
        return out.toArray(0, n);
    }
}
