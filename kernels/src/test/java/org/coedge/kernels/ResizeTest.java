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

import org.coedge.kernels.Resize.CoordinateMode;
import org.coedge.kernels.Resize.Mode;
import org.coedge.kernels.Resize.NearestMode;
import org.junit.jupiter.api.Test;

class ResizeTest
{
    private static final float[] SCALES = {2f, 3f, 0.5f, 0.6f, 1.5f, 1f, 0.75f};

    @Test
    void shouldMatchReferenceForEveryModeOnRowSlices()
    {
        final SplittableRandom random = new SplittableRandom(91);
        for (final Mode mode : Mode.values())
        {
            for (final CoordinateMode coordinateMode : CoordinateMode.values())
            {
                for (final NearestMode nearestMode : NearestMode.values())
                {
                    if (mode == Mode.LINEAR && nearestMode != NearestMode.ROUND_PREFER_FLOOR)
                    {
                        continue;
                    }
                    for (int trial = 0; trial < 6; trial++)
                    {
                        final int h = 1 + random.nextInt(9);
                        final int w = 1 + random.nextInt(9);
                        final int c = 1 + random.nextInt(5);
                        final Resize resize = random.nextBoolean() ?
                            Resize.toSize(mode, coordinateMode, nearestMode, h, w, 1 + random.nextInt(17),
                                1 + random.nextInt(17)) :
                            byScale(random, mode, coordinateMode, nearestMode, h, w);
                        check(random, resize, c);
                    }
                }
            }
        }
    }

    @Test
    void shouldMatchOnnxExamples()
    {
        final float[] twoByTwo = {1, 2, 3, 4};
        assertArrayEquals(new float[]{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4},
            run(Resize.byScale(Mode.NEAREST, CoordinateMode.HALF_PIXEL, NearestMode.ROUND_PREFER_FLOOR,
                2, 2, 2f, 3f), twoByTwo), 0f);
        assertArrayEquals(new float[]{1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f,
                3, 3.25f, 3.75f, 4},
            run(Resize.byScale(Mode.LINEAR, CoordinateMode.HALF_PIXEL, NearestMode.ROUND_PREFER_FLOOR,
                2, 2, 2f, 2f), twoByTwo), 1e-6f);
        assertArrayEquals(new float[]{1, 4f / 3, 5f / 3, 2, 5f / 3, 2, 7f / 3, 8f / 3, 7f / 3, 8f / 3, 3, 10f / 3,
                3, 10f / 3, 11f / 3, 4},
            run(Resize.byScale(Mode.LINEAR, CoordinateMode.ALIGN_CORNERS, NearestMode.ROUND_PREFER_FLOOR,
                2, 2, 2f, 2f), twoByTwo), 1e-6f);
        final float[] twoByFour = {1, 2, 3, 4, 5, 6, 7, 8};
        final Resize nearestDown = Resize.byScale(Mode.NEAREST, CoordinateMode.HALF_PIXEL,
            NearestMode.ROUND_PREFER_FLOOR, 2, 4, 0.6f, 0.6f);
        assertEquals(1, nearestDown.outputHeight());
        assertEquals(2, nearestDown.outputWidth());
        assertArrayEquals(new float[]{1, 3}, run(nearestDown, twoByFour), 0f);
        assertArrayEquals(new float[]{2.6666665f, 4.3333331f},
            run(Resize.byScale(Mode.LINEAR, CoordinateMode.HALF_PIXEL, NearestMode.ROUND_PREFER_FLOOR,
                2, 4, 0.6f, 0.6f), twoByFour), 1e-6f);
        final float[] fourByFour = new float[16];
        for (int i = 0; i < 16; i++)
        {
            fourByFour[i] = i + 1;
        }
        assertArrayEquals(new float[]{6, 8, 10, 12, 14, 16},
            run(Resize.toSize(Mode.NEAREST, CoordinateMode.TF_HALF_PIXEL_FOR_NEAREST, NearestMode.ROUND_PREFER_FLOOR,
                4, 4, 3, 2), fourByFour), 0f);
    }

    @Test
    void shouldRoundNearestTiesAsEachModeSays()
    {
        assertEquals(1, Resize.nearestIndex(NearestMode.ROUND_PREFER_FLOOR, 1.5f, 9));
        assertEquals(2, Resize.nearestIndex(NearestMode.ROUND_PREFER_CEIL, 1.5f, 9));
        assertEquals(2, Resize.nearestIndex(NearestMode.ROUND_PREFER_FLOOR, 1.6f, 9));
        assertEquals(1, Resize.nearestIndex(NearestMode.FLOOR, 1.9f, 9));
        assertEquals(2, Resize.nearestIndex(NearestMode.CEIL, 1.1f, 9));
        assertEquals(0, Resize.nearestIndex(NearestMode.ROUND_PREFER_CEIL, -0.5f, 9));
        assertEquals(8, Resize.nearestIndex(NearestMode.CEIL, 8.2f, 9));
    }

    @Test
    void shouldNeedOnlyRowsWithNonZeroWeight()
    {
        final Resize up = Resize.byScale(Mode.LINEAR, CoordinateMode.ASYMMETRIC, NearestMode.ROUND_PREFER_FLOOR,
            4, 4, 2f, 2f);
        assertEquals(0, up.firstInputRow(0, 1));
        assertEquals(1, up.endInputRow(0, 1));
        assertEquals(2, up.endInputRow(0, 2));
        assertEquals(2, up.firstInputRow(4, 6));
        assertEquals(4, up.endInputRow(4, 8));
        final Resize nearest = Resize.byScale(Mode.NEAREST, CoordinateMode.ASYMMETRIC, NearestMode.FLOOR,
            4, 4, 2f, 2f);
        assertEquals(1, nearest.firstInputRow(2, 4));
        assertEquals(2, nearest.endInputRow(2, 4));
    }

    @Test
    void shouldRejectMissingRowsWrongShapesAndBadParameters()
    {
        final SplittableRandom random = new SplittableRandom(92);
        final Resize resize = Resize.byScale(Mode.LINEAR, CoordinateMode.HALF_PIXEL, NearestMode.ROUND_PREFER_FLOOR,
            6, 5, 2f, 2f);
        final float[] x = random(random, 6 * 5 * 3);
        final MapView in = window(random, x, 6, 5, 3, 2, 5);
        final MapView out = emptyWindow(random, 12, 10, 3, 0, 12);
        resize.forward(in, out, 6, 8);
        assertThrows(IllegalArgumentException.class, () -> resize.forward(in, out, 3, 8));
        assertThrows(IllegalArgumentException.class, () -> resize.forward(in, out, 6, 11));
        assertThrows(IllegalArgumentException.class,
            () -> resize.forward(in, emptyWindow(random, 12, 10, 2, 0, 12), 6, 8));
        assertThrows(IllegalArgumentException.class,
            () -> resize.forward(window(random, random(random, 90), 6, 6, 3, 0, 5), out, 6, 8));
        assertThrows(IllegalArgumentException.class, () -> resize.firstInputRow(3, 3));
        assertThrows(IllegalArgumentException.class, () -> Resize.byScale(Mode.LINEAR, CoordinateMode.HALF_PIXEL,
            NearestMode.ROUND_PREFER_FLOOR, 6, 5, 0f, 2f));
        assertThrows(IllegalArgumentException.class, () -> Resize.byScale(Mode.LINEAR, CoordinateMode.HALF_PIXEL,
            NearestMode.ROUND_PREFER_FLOOR, 6, 5, 0.1f, 2f));
    }

    private static Resize byScale(
        final SplittableRandom random, final Mode mode, final CoordinateMode coordinateMode,
        final NearestMode nearestMode, final int h, final int w)
    {
        while (true)
        {
            final float scaleH = SCALES[random.nextInt(SCALES.length)];
            final float scaleW = SCALES[random.nextInt(SCALES.length)];
            if ((int)(scaleH * h) >= 1 && (int)(scaleW * w) >= 1)
            {
                return Resize.byScale(mode, coordinateMode, nearestMode, h, w, scaleH, scaleW);
            }
        }
    }

    private static void check(final SplittableRandom random, final Resize resize, final int c)
    {
        final int h = resize.inputHeight();
        final int w = resize.inputWidth();
        final int outH = resize.outputHeight();
        final int outW = resize.outputWidth();
        final float[] x = random(random, h * w * c);
        final int[] range = rowRange(random, outH);
        final MapView in = window(random, x, h, w, c, resize.firstInputRow(range[0], range[1]),
            resize.endInputRow(range[0], range[1]));
        final MapView out = outputWindow(random, outH, outW, c, range[0], range[1]);
        resize.forward(in, out, range[0], range[1]);
        final float[] expected = OpsReference.resize(x, h, w, c, outH, outW, resize.scaleH(), resize.scaleW(),
            resize.mode(), resize.coordinateMode(), resize.nearestMode());
        assertRows(resize.toString(), expected, out, range[0], range[1]);
    }

    private static float[] run(final Resize resize, final float[] x)
    {
        final int h = resize.inputHeight();
        final int w = resize.inputWidth();
        final FloatRegion in = FloatRegion.allocate(x.length);
        in.put(0, x);
        final int outH = resize.outputHeight();
        final int outW = resize.outputWidth();
        final FloatRegion out = FloatRegion.allocate(outH * outW);
        resize.forward(MapView.of(in, 0, h, w, 1), MapView.of(out, 0, outH, outW, 1), 0, outH);
        return out.toArray(0, outH * outW);
    }
}
