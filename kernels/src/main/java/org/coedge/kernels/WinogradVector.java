package org.coedge.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link WinogradTransforms}' input and output transforms on the Vector API ({@code jdk.incubator.vector}), over the
 * whole vectors of a channel run; the caller finishes the rest on the plain loop. JDK 17's C2 leaves the plain loops
 * scalar (six strided loads and stores into arrays it cannot tell apart), and there they were about 0.6 ns per float
 * against 0.1 here (measured, 64 and 512 channels, AVX-512): over half of a 64-channel layer's time went to them.
 * Every expression is the plain loop's, evaluated in the same order with the same roundings (no fused multiply-add),
 * so both paths give the same bits.
 * <p>
 * Loaded only where the JVM has the module ({@link DepthwiseConv2d#vectorByDefault()}); stateless, any thread.
 */
final class WinogradVector
{
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private WinogradVector()
    {
    }

    /**
     * {@link WinogradTransforms#inputRow} over the whole vectors of channels {@code [0, n)}.
     *
     * @return the channels done: the plain loop does {@code [return, n)}.
     */
    static int inputRow(
        final float[] src, final int so, final int ss, final float[] dst, final int dOff, final int ds, final int n)
    {
        final int lanes = SPECIES.length();
        final int s1 = so + ss;
        final int s2 = so + 2 * ss;
        final int s3 = so + 3 * ss;
        final int s4 = so + 4 * ss;
        final int s5 = so + 5 * ss;
        int c = 0;
        for (; c + lanes <= n; c += lanes)
        {
            final FloatVector d0 = FloatVector.fromArray(SPECIES, src, so + c);
            final FloatVector d1 = FloatVector.fromArray(SPECIES, src, s1 + c);
            final FloatVector d2 = FloatVector.fromArray(SPECIES, src, s2 + c);
            final FloatVector d3 = FloatVector.fromArray(SPECIES, src, s3 + c);
            final FloatVector d4 = FloatVector.fromArray(SPECIES, src, s4 + c);
            final FloatVector d5 = FloatVector.fromArray(SPECIES, src, s5 + c);
            d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(dst, dOff + c);
            d1.add(d2).mul(-4f).add(d3).add(d4).intoArray(dst, dOff + ds + c);
            d1.sub(d2).mul(4f).sub(d3).add(d4).intoArray(dst, dOff + 2 * ds + c);
            d3.sub(d1).mul(2f).sub(d2).add(d4).intoArray(dst, dOff + 3 * ds + c);
            d1.sub(d3).mul(2f).sub(d2).add(d4).intoArray(dst, dOff + 4 * ds + c);
            d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(dst, dOff + 5 * ds + c);
        }
        return c;
    }

    /**
     * {@link WinogradTransforms#outputRow} over the whole vectors of channels {@code [0, n)}, two vectors a step while
     * there are. Written out (no helper), like {@link #inputRow}: both then stay above C2's size limit for inlining a
     * hot call (325 bytecodes), so each compiles on its own with the whole inlining budget for its vector operations.
     * Inlined into a caller that had used up its budget, a vector operation left as a call boxes its vectors: a
     * smaller version of this method allocated 1.7 MB per ResNet-18 inference in the allocation test, after other
     * tests in the same JVM.
     *
     * @return the channels done: the plain loop does {@code [return, n)}.
     */
    static int outputRow(
        final float[] src, final int so, final int ss, final float[] dst, final int dOff, final int ds, final int n)
    {
        final int lanes = SPECIES.length();
        final int s1 = so + ss;
        final int s2 = so + 2 * ss;
        final int s3 = so + 3 * ss;
        final int s4 = so + 4 * ss;
        final int s5 = so + 5 * ss;
        final int d1 = dOff + ds;
        final int d2 = dOff + 2 * ds;
        final int d3 = dOff + 3 * ds;
        int c = 0;
        for (; c + 2 * lanes <= n; c += 2 * lanes)
        {
            final int e = c + lanes;
            final FloatVector x1 = FloatVector.fromArray(SPECIES, src, s1 + c);
            final FloatVector x2 = FloatVector.fromArray(SPECIES, src, s2 + c);
            final FloatVector x3 = FloatVector.fromArray(SPECIES, src, s3 + c);
            final FloatVector x4 = FloatVector.fromArray(SPECIES, src, s4 + c);
            final FloatVector y1 = FloatVector.fromArray(SPECIES, src, s1 + e);
            final FloatVector y2 = FloatVector.fromArray(SPECIES, src, s2 + e);
            final FloatVector y3 = FloatVector.fromArray(SPECIES, src, s3 + e);
            final FloatVector y4 = FloatVector.fromArray(SPECIES, src, s4 + e);
            final FloatVector a = x1.add(x2);
            final FloatVector b = x1.sub(x2);
            final FloatVector p = x3.add(x4);
            final FloatVector q = x3.sub(x4);
            final FloatVector f = y1.add(y2);
            final FloatVector g = y1.sub(y2);
            final FloatVector h = y3.add(y4);
            final FloatVector k = y3.sub(y4);
            FloatVector.fromArray(SPECIES, src, so + c).add(a).add(p).intoArray(dst, dOff + c);
            FloatVector.fromArray(SPECIES, src, so + e).add(f).add(h).intoArray(dst, dOff + e);
            b.add(q.mul(2f)).intoArray(dst, d1 + c);
            g.add(k.mul(2f)).intoArray(dst, d1 + e);
            a.add(p.mul(4f)).intoArray(dst, d2 + c);
            f.add(h.mul(4f)).intoArray(dst, d2 + e);
            b.add(q.mul(8f)).add(FloatVector.fromArray(SPECIES, src, s5 + c)).intoArray(dst, d3 + c);
            g.add(k.mul(8f)).add(FloatVector.fromArray(SPECIES, src, s5 + e)).intoArray(dst, d3 + e);
        }
        for (; c + lanes <= n; c += lanes)
        {
            final FloatVector x1 = FloatVector.fromArray(SPECIES, src, s1 + c);
            final FloatVector x2 = FloatVector.fromArray(SPECIES, src, s2 + c);
            final FloatVector x3 = FloatVector.fromArray(SPECIES, src, s3 + c);
            final FloatVector x4 = FloatVector.fromArray(SPECIES, src, s4 + c);
            final FloatVector a = x1.add(x2);
            final FloatVector b = x1.sub(x2);
            final FloatVector p = x3.add(x4);
            final FloatVector q = x3.sub(x4);
            FloatVector.fromArray(SPECIES, src, so + c).add(a).add(p).intoArray(dst, dOff + c);
            b.add(q.mul(2f)).intoArray(dst, d1 + c);
            a.add(p.mul(4f)).intoArray(dst, d2 + c);
            b.add(q.mul(8f)).add(FloatVector.fromArray(SPECIES, src, s5 + c)).intoArray(dst, d3 + c);
        }
        return c;
    }
}
