package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * A standalone pointwise layer over a range of rows: an {@link Activation} (Relu, LeakyRelu, Clip, Sigmoid,
 * HardSigmoid, HardSwish, Tanh) or PRelu with a per-channel or scalar slope. Used where an activation could not be fused
 * into the producing kernel. Each element depends only on itself, so no halo is needed and the output may be the
 * input (same memory, element for element).
 * <p>
 * Immutable (the PRelu slope is copied at construction); the engine calls one instance from several threads at once
 * on disjoint row ranges. {@link #apply} is the shared loop other kernels can use for a fused epilogue.
 */
public final class Pointwise
{
    private final Activation activation;
    private final float[] slope;
    private final String name;

    private Pointwise(final Activation activation, final float[] slope)
    {
        this.activation = activation;
        this.slope = slope;
        this.name = slope != null ? "PRelu" : "Activation " + activation;
    }

    /** A layer applying {@code activation}. */
    public static Pointwise of(final Activation activation)
    {
        if (activation == null)
        {
            throw new IllegalArgumentException("activation is required");
        }
        return new Pointwise(activation.withoutAffine("a pointwise activation layer"), null);
    }

    /**
     * ONNX PRelu: {@code x < 0 ? slope * x : x}.
     *
     * @param slope one value per channel, or a single value for all channels; copied.
     */
    public static Pointwise prelu(final float[] slope)
    {
        if (slope == null || slope.length < 1)
        {
            throw new IllegalArgumentException("PRelu slope must have at least one value");
        }
        return new Pointwise(null, slope.clone());
    }

    /** @return the activation, or {@code null} for PRelu. */
    public Activation activation()
    {
        return activation;
    }

    public boolean isPrelu()
    {
        return slope != null;
    }

    /**
     * Computes rows {@code [h0, h1)} of {@code out} from the same rows of {@code in} (same shape).
     *
     * @throws IllegalArgumentException if the shapes differ, a row is not held, the PRelu slope does not match the
     *                                  channels, or the views overlap without being the same memory.
     */
    public void forward(final MapView in, final MapView out, final int h0, final int h1)
    {
        final String op = name;
        OpsChecks.checkShape(op, "output", out, in.height(), in.width(), in.channels());
        OpsChecks.checkOutputRows(op, out, h0, h1);
        if (slope != null && slope.length != 1 && slope.length != in.channels())
        {
            throw new IllegalArgumentException(
                "PRelu: slope has " + slope.length + " values for " + in.channels() + " channels");
        }
        if (h0 == h1)
        {
            return;
        }
        OpsChecks.checkInputRows(op, "input", in, h0, h1);
        OpsChecks.checkSameOrDisjoint(op, in, out);

        final int count = (h1 - h0) * in.rowStride();
        if (slope == null)
        {
            apply(activation, in.region(), in.rowOffset(h0), out.region(), out.rowOffset(h0), count);
        }
        else
        {
            prelu(in.region().floats(), in.rowOffset(h0), out.region().floats(), out.rowOffset(h0), count,
                in.channels());
        }
    }

    /**
     * Writes {@code f(src[i])} to {@code dst[i]} for {@code count} floats; {@code src} and {@code dst} may be the same
     * floats, but must not otherwise overlap.
     *
     * @throws IndexOutOfBoundsException if a range is outside its region.
     */
    public static void apply(
        final Activation activation, final FloatRegion src, final int srcOffset,
        final FloatRegion dst, final int dstOffset, final int count)
    {
        src.checkRange(srcOffset, count);
        dst.checkRange(dstOffset, count);
        final FloatBuffer s = src.floats();
        final FloatBuffer d = dst.floats();
        final float alpha = activation.alpha();
        final float beta = activation.beta();
        switch (activation.kind())
        {
            case NONE:
                if (src.address() + (long)srcOffset * Float.BYTES != dst.address() + (long)dstOffset * Float.BYTES)
                {
                    d.put(dstOffset, s, srcOffset, count);
                }
                break;
            case RELU:
                for (int i = 0; i < count; i++)
                {
                    final float x = s.get(srcOffset + i);
                    d.put(dstOffset + i, x > 0f ? x : 0f);
                }
                break;
            case LEAKY_RELU:
                for (int i = 0; i < count; i++)
                {
                    final float x = s.get(srcOffset + i);
                    d.put(dstOffset + i, x >= 0f ? x : alpha * x);
                }
                break;
            case CLIP:
                for (int i = 0; i < count; i++)
                {
                    d.put(dstOffset + i, Math.min(Math.max(s.get(srcOffset + i), alpha), beta));
                }
                break;
            case HARD_SIGMOID:
                for (int i = 0; i < count; i++)
                {
                    d.put(dstOffset + i, Math.max(0f, Math.min(1f, alpha * s.get(srcOffset + i) + beta)));
                }
                break;
            default:
                for (int i = 0; i < count; i++)
                {
                    d.put(dstOffset + i, activation.apply(s.get(srcOffset + i)));
                }
        }
    }

    private void prelu(
        final FloatBuffer src, final int srcOffset, final FloatBuffer dst, final int dstOffset, final int count,
        final int channels)
    {
        if (slope.length == 1)
        {
            final float a = slope[0];
            for (int i = 0; i < count; i++)
            {
                final float x = src.get(srcOffset + i);
                dst.put(dstOffset + i, x < 0f ? a * x : x);
            }
            return;
        }
        for (int p = 0; p < count; p += channels)
        {
            for (int c = 0; c < channels; c++)
            {
                final float x = src.get(srcOffset + p + c);
                dst.put(dstOffset + p + c, x < 0f ? slope[c] * x : x);
            }
        }
    }

    @Override
    public String toString()
    {
        return slope != null ? "PRelu(" + slope.length + " slopes)" : "Activation(" + activation + ")";
    }
}
