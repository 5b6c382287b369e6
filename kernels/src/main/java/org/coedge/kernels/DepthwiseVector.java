package org.coedge.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loop of {@link DepthwiseConv2d} on the Vector API ({@code jdk.incubator.vector}): one output row from the
 * staged input rows, channels innermost, the whole window's taps summed in vector registers for four output pixels
 * at a time (four independent FMA chains, each tap's weights loaded once for the four). C2 does not vectorize this
 * loop as plain Java (the input runs sit at run-time offsets), so the plain path has to copy every tap's run into a
 * tile first; here nothing is copied after the row staging, and the accumulators never leave registers.
 * <p>
 * Loaded only when the JVM was started with {@code --add-modules jdk.incubator.vector} ({@link #AVAILABLE}); every
 * reference to this class sits behind that check, so without the module it is never loaded. Stateless; called from
 * any thread.
 */
final class DepthwiseVector
{
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    /** Output pixels computed together. */
    private static final int PIXELS = 4;

    private DepthwiseVector()
    {
    }

    /**
     * Writes bias plus the window's taps for output pixels {@code [0, outW)} of one row into {@code o}
     * ({@code (outW, C)}).
     *
     * @param rows    the staged input rows, one per kernel row (columns from {@code -padLeft}, padding zero).
     * @param used    which kernel rows lie inside the map (the others add nothing).
     * @param weights per tap {@code kh * kernelW + kw}, its {@code C} weights at offset 0.
     * @param bias    {@code C} floats at offset 0 (zeros without bias).
     */
    static void row(
        final float[][] rows, final boolean[] used, final int kernelH, final int kernelW, final int strideW,
        final int dilationW, final int channels, final float[][] weights, final float[] bias, final int outW,
        final float[] o)
    {
        final int lanes = SPECIES.length();
        final int step = strideW * channels;
        final int tapStep = dilationW * channels;
        int c = 0;
        for (; c + lanes <= channels; c += lanes)
        {
            final FloatVector b = FloatVector.fromArray(SPECIES, bias, c);
            int x = 0;
            for (; x + PIXELS <= outW; x += PIXELS)
            {
                FloatVector a0 = b;
                FloatVector a1 = b;
                FloatVector a2 = b;
                FloatVector a3 = b;
                for (int kh = 0; kh < kernelH; kh++)
                {
                    if (!used[kh])
                    {
                        continue;
                    }
                    final float[] r = rows[kh];
                    int base = x * step + c;
                    for (int kw = 0; kw < kernelW; kw++, base += tapStep)
                    {
                        final FloatVector w = FloatVector.fromArray(SPECIES, weights[kh * kernelW + kw], c);
                        a0 = FloatVector.fromArray(SPECIES, r, base).fma(w, a0);
                        a1 = FloatVector.fromArray(SPECIES, r, base + step).fma(w, a1);
                        a2 = FloatVector.fromArray(SPECIES, r, base + 2 * step).fma(w, a2);
                        a3 = FloatVector.fromArray(SPECIES, r, base + 3 * step).fma(w, a3);
                    }
                }
                final int out = x * channels + c;
                a0.intoArray(o, out);
                a1.intoArray(o, out + channels);
                a2.intoArray(o, out + 2 * channels);
                a3.intoArray(o, out + 3 * channels);
            }
            for (; x < outW; x++)
            {
                FloatVector a = b;
                for (int kh = 0; kh < kernelH; kh++)
                {
                    if (used[kh])
                    {
                        final float[] r = rows[kh];
                        int base = x * step + c;
                        for (int kw = 0; kw < kernelW; kw++, base += tapStep)
                        {
                            a = FloatVector.fromArray(SPECIES, r, base).fma(
                                FloatVector.fromArray(SPECIES, weights[kh * kernelW + kw], c), a);
                        }
                    }
                }
                a.intoArray(o, x * channels + c);
            }
        }
        if (c < channels)
        {
            tail(rows, used, kernelH, kernelW, step, tapStep, channels, weights, bias, outW, o, c);
        }
    }

    /** The channels {@code [c0, C)} that fill no whole vector, one float at a time. */
    private static void tail(
        final float[][] rows, final boolean[] used, final int kernelH, final int kernelW, final int step,
        final int tapStep, final int channels, final float[][] weights, final float[] bias, final int outW,
        final float[] o, final int c0)
    {
        for (int x = 0; x < outW; x++)
        {
            for (int c = c0; c < channels; c++)
            {
                float a = bias[c];
                for (int kh = 0; kh < kernelH; kh++)
                {
                    if (used[kh])
                    {
                        final float[] r = rows[kh];
                        int base = x * step + c;
                        for (int kw = 0; kw < kernelW; kw++, base += tapStep)
                        {
                            a = Math.fma(r[base], weights[kh * kernelW + kw][c], a);
                        }
                    }
                }
                o[x * channels + c] = a;
            }
        }
    }
}
