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
        final float[] input = randomInput(42, (int)size(dims));
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
