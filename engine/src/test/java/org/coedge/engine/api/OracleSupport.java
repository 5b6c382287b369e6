package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;

import org.coedge.engine.testing.OrtReference;

/** Runs a model through the engine and through ONNX Runtime on the same input and compares. */
final class OracleSupport
{
    /** The project's tolerance: max abs error / max |reference|. */
    static final double TOLERANCE = 1e-4;

    private OracleSupport()
    {
    }

    static float[] randomInput(final long seed, final int n)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)(random.nextDouble() * 2 - 1);
        }
        return x;
    }

    /**
     * A synthetic document page in the PP-OCR input convention (RGB, NCHW, each channel normalized as
     * {@code (v / 255 - mean) / std} with ImageNet mean and std): light paper with lines of dark, character-sized
     * strokes, so that text detectors see text and their probability maps span the whole 0..1 range.
     */
    static float[] documentImage(final long seed, final int height, final int width)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final float[] gray = new float[height * width];
        for (int i = 0; i < gray.length; i++)
        {
            gray[i] = 225 + random.nextInt(30);
        }
        final int lineHeight = Math.max(6, height / 8);
        for (int top = lineHeight / 2; top + lineHeight <= height; top += lineHeight * 2)
        {
            int x = 2 + random.nextInt(Math.max(1, width / 8));
            final int end = width - 2 - random.nextInt(Math.max(1, width / 4));
            while (x < end)
            {
                final int glyph = Math.max(2, lineHeight / 2 + random.nextInt(Math.max(1, lineHeight / 2)));
                for (int y = top; y < top + lineHeight; y++)
                {
                    for (int c = x; c < Math.min(end, x + glyph); c++)
                    {
                        if (random.nextInt(3) != 0)
                        {
                            gray[y * width + c] = 10 + random.nextInt(60);
                        }
                    }
                }
                x += glyph + 1 + random.nextInt(Math.max(2, glyph / 2));
            }
        }
        final float[] mean = {0.485f, 0.456f, 0.406f};
        final float[] std = {0.229f, 0.224f, 0.225f};
        final float[] x = new float[3 * gray.length];
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < gray.length; i++)
            {
                x[c * gray.length + i] = (gray[i] / 255f - mean[c]) / std[c];
            }
        }
        return x;
    }

    static long size(final long[] dims)
    {
        long n = 1;
        for (final long d : dims)
        {
            n *= d;
        }
        return n;
    }

    /**
     * Runs {@code model} on one input of {@code dims} through both and asserts every output agrees.
     *
     * @return the worst relative error seen.
     */
    static double assertMatchesOrt(final byte[] model, final String name, final long[] dims, final int threads)
    {
        return assertMatchesOrt(model, name, dims, threads, randomInput(42, (int)size(dims)));
    }

    static double assertMatchesOrt(
        final byte[] model, final String name, final long[] dims, final int threads, final float[] input)
    {
        final OrtReference.Result ref = OrtReference.run(model, List.of(input), List.of(dims), threads);
        final Model m = Model.load(model, name);
        double worst = 0;
        try (Session s = m.newSession(SessionOptions.threads(threads).withInputDims(m.inputNames().get(0), dims)))
        {
            s.setInput(0, input);
            s.run();
            assertEquals(ref.count(), s.outputCount(), "output count");
            for (int i = 0; i < s.outputCount(); i++)
            {
                assertArrayEquals(ref.dims(i), s.outputDims(i), "dims of output " + i);
                worst = Math.max(worst, assertClose(ref.data(i), s.output(i), name + " output " + i));
            }
        }
        return worst;
    }

    /** @return max abs error / max |reference|, after asserting it is within {@link #TOLERANCE}. */
    static double assertClose(final float[] reference, final float[] actual, final String what)
    {
        assertEquals(reference.length, actual.length, what + ": length");
        double maxRef = 0;
        double maxErr = 0;
        int worstAt = -1;
        for (int i = 0; i < reference.length; i++)
        {
            assertTrue(Float.isFinite(actual[i]), what + ": non-finite value at " + i);
            maxRef = Math.max(maxRef, Math.abs(reference[i]));
            final double err = Math.abs((double)reference[i] - actual[i]);
            if (err > maxErr)
            {
                maxErr = err;
                worstAt = i;
            }
        }
        final double rel = maxRef == 0 ? maxErr : maxErr / maxRef;
        assertTrue(rel <= TOLERANCE, what + ": max abs error " + maxErr + " at " + worstAt + " / max |ref| " + maxRef +
            " = " + rel + " > " + TOLERANCE);
        return rel;
    }
}
