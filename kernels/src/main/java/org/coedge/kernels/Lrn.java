package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX LRN (local response normalisation across channels), as in AlexNet and GoogLeNet:
 * {@code y[c] = x[c] / (bias + alpha / size * sum(x[i]^2))^beta} over
 * {@code i in [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]} clipped to the channels. Each pixel is
 * independent, so a row range needs only the same input rows (no halo).
 * <p>
 * Pixels are staged in heap arrays so that the squares and the normalisation run as loops C2 vectorizes (JDK 17 does
 * not vectorize loops over direct buffers); the window sums slide along the channels of each pixel.
 * <p>
 * Immutable; the staging arrays are per thread, so the engine calls one instance from several threads at once on
 * disjoint output row ranges. The output must not overlap the input.
 */
public final class Lrn
{
    /** Floats staged at a time. */
    private static final int TILE_FLOATS = 4096;

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

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
        final int tilePixels = Math.max(1, TILE_FLOATS / channels);
        final Staging staging = STAGING.get().ensure(tilePixels * channels);
        final float[] x = staging.x;
        final float[] squares = staging.squares;
        final float[] window = staging.window;
        final float scale = (float)alphaOverSize;
        for (int p0 = 0; p0 < pixels; p0 += tilePixels)
        {
            final int length = Math.min(tilePixels, pixels - p0) * channels;
            src.get(srcStart + p0 * channels, x, 0, length);
            for (int i = 0; i < length; i++)
            {
                squares[i] = x[i] * x[i];
            }
            for (int base = 0; base < length; base += channels)
            {
                windowSums(squares, window, base, channels);
            }
            if (beta == 0.75f)
            {
                // x^-0.75 as 1 / (sqrt(x) * sqrt(sqrt(x))): AlexNet's and GoogLeNet's beta; vectorizes, pow does not.
                for (int i = 0; i < length; i++)
                {
                    final float d = bias + scale * window[i];
                    final float root = (float)Math.sqrt(d);
                    x[i] = x[i] / (root * (float)Math.sqrt(root));
                }
            }
            else
            {
                for (int i = 0; i < length; i++)
                {
                    x[i] = (float)(x[i] * Math.pow(bias + alphaOverSize * window[i], -beta));
                }
            }
            dst.put(dstStart + p0 * channels, x, 0, length);
        }
    }

    /** {@code window[base + c]} = sum of {@code squares} over channels {@code [c - before, c + after]} of one pixel. */
    private void windowSums(final float[] squares, final float[] window, final int base, final int channels)
    {
        float sum = 0f;
        for (int i = 0; i < Math.min(after, channels); i++)
        {
            sum += squares[base + i];
        }
        for (int c = 0; c < channels; c++)
        {
            final int enter = c + after;
            if (enter < channels)
            {
                sum += squares[base + enter];
            }
            final int leave = c - before - 1;
            if (leave >= 0)
            {
                sum -= squares[base + leave];
            }
            window[base + c] = sum;
        }
    }

    /** One thread's staging arrays; grown when a layer needs more, never shrunk. */
    private static final class Staging
    {
        float[] x = new float[0];
        float[] squares = new float[0];
        float[] window = new float[0];

        Staging ensure(final int floats)
        {
            if (x.length < floats)
            {
                x = new float[floats];
                squares = new float[floats];
                window = new float[floats];
            }
            return this;
        }
    }

    @Override
    public String toString()
    {
        return "LRN{size " + size + ", alpha " + alpha + ", beta " + beta + ", bias " + bias + "}";
    }
}
