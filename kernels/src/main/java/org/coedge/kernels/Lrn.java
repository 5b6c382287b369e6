package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX LRN (local response normalisation across channels), as in AlexNet and GoogLeNet:
 * {@code y[c] = x[c] / (bias + alpha / size * sum(x[i]^2))^beta} over
 * {@code i in [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]} clipped to the channels. Each pixel is
 * independent, so a row range needs only the same input rows (no halo).
 * <p>
 * Immutable; the engine calls one instance from several threads at once on disjoint output row ranges. The output
 * must not overlap the input (a channel's neighbours are read after it would be written).
 */
public final class Lrn
{
    private final int size;
    private final float alpha;
    private final float beta;
    private final float bias;
    private final int before;
    private final int after;
    private final double alphaOverSize;

    /**
     * @param size  number of channels summed, at least 1.
     * @param alpha scaling parameter (ONNX default 1e-4).
     * @param beta  exponent (ONNX default 0.75).
     * @param bias  ONNX default 1.
     */
    public Lrn(final int size, final float alpha, final float beta, final float bias)
    {
        if (size < 1)
        {
            throw new IllegalArgumentException("LRN size must be >= 1: " + size);
        }
        this.size = size;
        this.alpha = alpha;
        this.beta = beta;
        this.bias = bias;
        this.before = (size - 1) / 2;
        this.after = size / 2;
        this.alphaOverSize = (double)alpha / size;
    }

    public int size()
    {
        return size;
    }

    public float alpha()
    {
        return alpha;
    }

    public float beta()
    {
        return beta;
    }

    public float bias()
    {
        return bias;
    }

    /**
     * Computes rows {@code [h0, h1)} of {@code out} from the same rows of {@code in} (same shape).
     *
     * @throws IllegalArgumentException if the shapes differ, a row is not held, or the views overlap.
     */
    public void forward(final MapView in, final MapView out, final int h0, final int h1)
    {
        OpsChecks.checkShape("LRN", "output", out, in.height(), in.width(), in.channels());
        OpsChecks.checkOutputRows("LRN", out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        OpsChecks.checkInputRows("LRN", "input", in, h0, h1);
        OpsChecks.checkDisjoint("LRN", in, out);

        final FloatBuffer src = in.region().floats();
        final FloatBuffer dst = out.region().floats();
        final int channels = in.channels();
        final int pixels = (h1 - h0) * in.width();
        final int srcStart = in.rowOffset(h0);
        final int dstStart = out.rowOffset(h0);
        final boolean threeQuarters = beta == 0.75f;
        for (int p = 0; p < pixels; p++)
        {
            final int s = srcStart + p * channels;
            final int d = dstStart + p * channels;
            for (int c = 0; c < channels; c++)
            {
                final int lo = Math.max(0, c - before);
                final int hi = Math.min(channels - 1, c + after);
                double squares = 0;
                for (int i = lo; i <= hi; i++)
                {
                    final float x = src.get(s + i);
                    squares += x * x;
                }
                final double base = bias + alphaOverSize * squares;
                // x^-0.75 as 1 / (sqrt(x) * sqrt(sqrt(x))): AlexNet's and GoogLeNet's beta, two square roots instead
                // of a pow per element.
                final double factor;
                if (threeQuarters)
                {
                    final double root = Math.sqrt(base);
                    factor = 1.0 / (root * Math.sqrt(root));
                }
                else
                {
                    factor = Math.pow(base, -beta);
                }
                dst.put(d + c, (float)(src.get(s + c) * factor));
            }
        }
    }

    @Override
    public String toString()
    {
        return "LRN{size " + size + ", alpha " + alpha + ", beta " + beta + ", bias " + bias + "}";
    }
}
