package org.coedge.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner loop of {@link DepthwiseConv2d} for 3x3 windows on the Vector API ({@code jdk.incubator.vector}): one
 * output row from the staged input rows, channels innermost, the nine taps summed in vector registers for four output
 * pixels at a time (four independent FMA chains; the nine weight vectors of a channel block stay in registers over
 * the row). C2 does not vectorize this
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

    /** @return whether {@link #row} computes this kernel: 3x3 windows (any stride, dilation and pads). */
    static boolean supports(final ConvParams p)
    {
        return p.kernelH() == 3 && p.kernelW() == 3;
    }

    /**
     * Writes bias plus the 3x3 window's taps for output pixels {@code [0, outW)} of one row into {@code o}
     * ({@code (outW, C)}). The taps are written out straight (no loop carries a vector: C2 in JDK 17 boxes vectors
     * that flow around a tap loop, measured 3x slower than the plain path).
     *
     * @param r0      the staged input row of kernel row 0 (columns from {@code -padLeft}, padding zero), or a zero
     *                row when it lies outside the map; likewise {@code r1}, {@code r2}.
     * @param weights per tap {@code kh * 3 + kw}, its {@code C} weights at offset 0.
     * @param bias    {@code C} floats at offset 0 (zeros without bias).
     */
    static void row(
        final float[] r0, final float[] r1, final float[] r2, final int strideW, final int dilationW,
        final int channels, final float[][] weights, final float[] bias, final int outW, final float[] o)
    {
        final int lanes = SPECIES.length();
        final int step = strideW * channels;
        final int t1 = dilationW * channels;
        final int t2 = 2 * t1;
        int c = 0;
        for (; c + lanes <= channels; c += lanes)
        {
            final FloatVector b = FloatVector.fromArray(SPECIES, bias, c);
            final FloatVector w0 = FloatVector.fromArray(SPECIES, weights[0], c);
            final FloatVector w1 = FloatVector.fromArray(SPECIES, weights[1], c);
            final FloatVector w2 = FloatVector.fromArray(SPECIES, weights[2], c);
            final FloatVector w3 = FloatVector.fromArray(SPECIES, weights[3], c);
            final FloatVector w4 = FloatVector.fromArray(SPECIES, weights[4], c);
            final FloatVector w5 = FloatVector.fromArray(SPECIES, weights[5], c);
            final FloatVector w6 = FloatVector.fromArray(SPECIES, weights[6], c);
            final FloatVector w7 = FloatVector.fromArray(SPECIES, weights[7], c);
            final FloatVector w8 = FloatVector.fromArray(SPECIES, weights[8], c);
            int x = 0;
            for (; x + PIXELS <= outW; x += PIXELS)
            {
                // four pixels, four independent chains
                final int i0 = x * step + c;
                final int i1 = i0 + step;
                final int i2 = i1 + step;
                final int i3 = i2 + step;
                FloatVector a0 = FloatVector.fromArray(SPECIES, r0, i0).fma(w0, b);
                FloatVector a1 = FloatVector.fromArray(SPECIES, r0, i1).fma(w0, b);
                FloatVector a2 = FloatVector.fromArray(SPECIES, r0, i2).fma(w0, b);
                FloatVector a3 = FloatVector.fromArray(SPECIES, r0, i3).fma(w0, b);
                a0 = FloatVector.fromArray(SPECIES, r0, i0 + t1).fma(w1, a0);
                a1 = FloatVector.fromArray(SPECIES, r0, i1 + t1).fma(w1, a1);
                a2 = FloatVector.fromArray(SPECIES, r0, i2 + t1).fma(w1, a2);
                a3 = FloatVector.fromArray(SPECIES, r0, i3 + t1).fma(w1, a3);
                a0 = FloatVector.fromArray(SPECIES, r0, i0 + t2).fma(w2, a0);
                a1 = FloatVector.fromArray(SPECIES, r0, i1 + t2).fma(w2, a1);
                a2 = FloatVector.fromArray(SPECIES, r0, i2 + t2).fma(w2, a2);
                a3 = FloatVector.fromArray(SPECIES, r0, i3 + t2).fma(w2, a3);
                a0 = FloatVector.fromArray(SPECIES, r1, i0).fma(w3, a0);
                a1 = FloatVector.fromArray(SPECIES, r1, i1).fma(w3, a1);
                a2 = FloatVector.fromArray(SPECIES, r1, i2).fma(w3, a2);
                a3 = FloatVector.fromArray(SPECIES, r1, i3).fma(w3, a3);
                a0 = FloatVector.fromArray(SPECIES, r1, i0 + t1).fma(w4, a0);
                a1 = FloatVector.fromArray(SPECIES, r1, i1 + t1).fma(w4, a1);
                a2 = FloatVector.fromArray(SPECIES, r1, i2 + t1).fma(w4, a2);
                a3 = FloatVector.fromArray(SPECIES, r1, i3 + t1).fma(w4, a3);
                a0 = FloatVector.fromArray(SPECIES, r1, i0 + t2).fma(w5, a0);
                a1 = FloatVector.fromArray(SPECIES, r1, i1 + t2).fma(w5, a1);
                a2 = FloatVector.fromArray(SPECIES, r1, i2 + t2).fma(w5, a2);
                a3 = FloatVector.fromArray(SPECIES, r1, i3 + t2).fma(w5, a3);
                a0 = FloatVector.fromArray(SPECIES, r2, i0).fma(w6, a0);
                a1 = FloatVector.fromArray(SPECIES, r2, i1).fma(w6, a1);
                a2 = FloatVector.fromArray(SPECIES, r2, i2).fma(w6, a2);
                a3 = FloatVector.fromArray(SPECIES, r2, i3).fma(w6, a3);
                a0 = FloatVector.fromArray(SPECIES, r2, i0 + t1).fma(w7, a0);
                a1 = FloatVector.fromArray(SPECIES, r2, i1 + t1).fma(w7, a1);
                a2 = FloatVector.fromArray(SPECIES, r2, i2 + t1).fma(w7, a2);
                a3 = FloatVector.fromArray(SPECIES, r2, i3 + t1).fma(w7, a3);
                a0 = FloatVector.fromArray(SPECIES, r2, i0 + t2).fma(w8, a0);
                a1 = FloatVector.fromArray(SPECIES, r2, i1 + t2).fma(w8, a1);
                a2 = FloatVector.fromArray(SPECIES, r2, i2 + t2).fma(w8, a2);
                a3 = FloatVector.fromArray(SPECIES, r2, i3 + t2).fma(w8, a3);
                final int out = x * channels + c;
                a0.intoArray(o, out);
                a1.intoArray(o, out + channels);
                a2.intoArray(o, out + 2 * channels);
                a3.intoArray(o, out + 3 * channels);
            }
            for (; x < outW; x++)
            {
                final int i = x * step + c;
                FloatVector a = FloatVector.fromArray(SPECIES, r0, i).fma(w0, b);
                a = FloatVector.fromArray(SPECIES, r0, i + t1).fma(w1, a);
                a = FloatVector.fromArray(SPECIES, r0, i + t2).fma(w2, a);
                a = FloatVector.fromArray(SPECIES, r1, i).fma(w3, a);
                a = FloatVector.fromArray(SPECIES, r1, i + t1).fma(w4, a);
                a = FloatVector.fromArray(SPECIES, r1, i + t2).fma(w5, a);
                a = FloatVector.fromArray(SPECIES, r2, i).fma(w6, a);
                a = FloatVector.fromArray(SPECIES, r2, i + t1).fma(w7, a);
                a = FloatVector.fromArray(SPECIES, r2, i + t2).fma(w8, a);
                a.intoArray(o, x * channels + c);
            }
        }
        for (; c < channels; c++)
        {
            // the channels that fill no whole vector, one float at a time
            for (int x = 0; x < outW; x++)
            {
                final int i = x * step + c;
                float a = bias[c];
                a = Math.fma(r0[i], weights[0][c], a);
                a = Math.fma(r0[i + t1], weights[1][c], a);
                a = Math.fma(r0[i + t2], weights[2][c], a);
                a = Math.fma(r1[i], weights[3][c], a);
                a = Math.fma(r1[i + t1], weights[4][c], a);
                a = Math.fma(r1[i + t2], weights[5][c], a);
                a = Math.fma(r2[i], weights[6][c], a);
                a = Math.fma(r2[i + t1], weights[7][c], a);
                a = Math.fma(r2[i + t2], weights[8][c], a);
                o[x * channels + c] = a;
            }
        }
    }
}
