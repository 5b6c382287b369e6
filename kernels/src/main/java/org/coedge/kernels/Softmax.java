package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * Softmax over the channels of each pixel of an NHWC map: {@code y[c] = exp(x[c] - max) / sum(exp(x[i] - max))},
 * subtracting the pixel's maximum so that no exponential overflows. The engine maps ONNX's {@code axis} onto this
 * (after Flatten or for a 1 x 1 x N classifier output the channels are the only axis). No halo is needed and the
 * output may be the input (same memory, element for element).
 * <p>
 * Stateless; the engine calls one instance from several threads at once on disjoint row ranges.
 */
public final class Softmax
{
    /**
     * Computes rows {@code [h0, h1)} of {@code out} from the same rows of {@code in} (same shape).
     *
     * @throws IllegalArgumentException if the shapes differ, a row is not held, or the views overlap without being
     *                                  the same memory.
     */
    public void forward(final MapView in, final MapView out, final int h0, final int h1)
    {
        OpsChecks.checkShape("Softmax", "output", out, in.height(), in.width(), in.channels());
        OpsChecks.checkOutputRows("Softmax", out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        OpsChecks.checkInputRows("Softmax", "input", in, h0, h1);
        OpsChecks.checkSameOrDisjoint("Softmax", in, out);

        final FloatBuffer src = in.region().floats();
        final FloatBuffer dst = out.region().floats();
        final int channels = in.channels();
        final int pixels = (h1 - h0) * in.width();
        final int srcStart = in.rowOffset(h0);
        final int dstStart = out.rowOffset(h0);
        for (int p = 0; p < pixels; p++)
        {
            final int s = srcStart + p * channels;
            final int d = dstStart + p * channels;
            float max = src.get(s);
            for (int c = 1; c < channels; c++)
            {
                max = Math.max(max, src.get(s + c));
            }
            double sum = 0;
            for (int c = 0; c < channels; c++)
            {
                final float e = (float)Math.exp(src.get(s + c) - max);
                dst.put(d + c, e);
                sum += e;
            }
            final float scale = (float)(1.0 / sum);
            for (int c = 0; c < channels; c++)
            {
                dst.put(d + c, dst.get(d + c) * scale);
            }
        }
    }

    @Override
    public String toString()
    {
        return "Softmax(channels)";
    }
}
