package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX GlobalAveragePool and GlobalMaxPool: an {@code H x W x C} map reduced to {@code 1 x 1 x C}.
 * <p>
 * Because a device may hold only some rows of the map, the reduction is split into steps that can run apart and be
 * combined: {@link #begin} clears a C-float accumulator, {@link #accumulate} folds rows {@code [r0, r1)} into it
 * (a sum, or a running max), {@link #combine} folds one device's accumulator into another's, and {@link #finish}
 * turns the total into the result (sum / (H * W), or the max). {@link #forward} runs them over a whole map.
 * <p>
 * Immutable; the accumulator is caller memory, so several threads may use one instance, each with its own
 * accumulator.
 */
public final class GlobalPooling
{
    /** Floats staged at a time. */
    private static final int TILE_FLOATS = 4096;

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    /** Which reduction over the map. */
    public enum Kind
    {
        AVERAGE,
        MAX
    }

    private final Kind kind;

    public GlobalPooling(final Kind kind)
    {
        if (kind == null)
        {
            throw new IllegalArgumentException("global pooling kind is required");
        }
        this.kind = kind;
    }

    public Kind kind()
    {
        return kind;
    }

    /**
     * Reduces the whole of {@code in} into {@code out}; the output itself is the accumulator.
     *
     * @param in  input map; must hold all its rows.
     * @param out a {@code 1 x 1 x in.channels()} map holding its row.
     */
    public void forward(final MapView in, final MapView out)
    {
        OpsChecks.checkShape(name(), "output", out, 1, 1, in.channels());
        OpsChecks.checkOutputRows(name(), out, 0, 1);
        OpsChecks.checkInputRows(name(), "input", in, 0, in.height());
        OpsChecks.checkDisjoint(name(), in, out);
        final int accOffset = out.rowOffset(0);
        begin(out.region(), accOffset, in.channels());
        accumulate(in, 0, in.height(), out.region(), accOffset);
        finish(out.region(), accOffset, in.channels(), (long)in.height() * in.width(), out.region(), accOffset);
    }

    /** Sets {@code channels} floats at {@code accOffset} to the reduction's identity (0, or negative infinity). */
    public void begin(final FloatRegion acc, final int accOffset, final int channels)
    {
        checkChannels(channels);
        acc.fill(accOffset, channels, kind == Kind.AVERAGE ? 0f : Float.NEGATIVE_INFINITY);
    }

    /**
     * Folds input rows {@code [r0, r1)} into the accumulator of {@code in.channels()} floats at {@code accOffset}.
     *
     * @throws IllegalArgumentException if the rows are not inside the map or not held by {@code in}.
     */
    public void accumulate(final MapView in, final int r0, final int r1, final FloatRegion acc, final int accOffset)
    {
        if (r0 < 0 || r1 < r0 || r1 > in.height())
        {
            throw new IllegalArgumentException(
                name() + ": rows [" + r0 + ", " + r1 + ") not inside [0, " + in.height() + ")");
        }
        OpsChecks.checkInputRows(name(), "input", in, r0, r1);
        final int channels = in.channels();
        checkAccumulator(acc, accOffset, channels);
        if (r0 == r1)
        {
            return;
        }
        final FloatBuffer src = in.region().floats();
        final FloatBuffer a = acc.floats();
        final int pixels = (r1 - r0) * in.width();
        final int start = in.rowOffset(r0);
        final boolean average = kind == Kind.AVERAGE;
        // A wide accumulator of whole pixel tiles: the folding loop then runs over heap arrays at offset 0, which
        // C2 vectorizes; the tile slots are folded into the C accumulators at the end.
        final int tilePixels = Math.max(1, TILE_FLOATS / channels);
        final int tileFloats = tilePixels * channels;
        final Staging staging = STAGING.get().ensure(tileFloats);
        final float[] wide = staging.wide;
        final float[] x = staging.x;
        java.util.Arrays.fill(wide, 0, tileFloats, average ? 0f : Float.NEGATIVE_INFINITY);
        for (int p0 = 0; p0 < pixels; p0 += tilePixels)
        {
            final int length = Math.min(tilePixels, pixels - p0) * channels;
            src.get(start + p0 * channels, x, 0, length);
            if (average)
            {
                for (int i = 0; i < length; i++)
                {
                    wide[i] += x[i];
                }
            }
            else
            {
                for (int i = 0; i < length; i++)
                {
                    wide[i] = Math.max(wide[i], x[i]);
                }
            }
        }
        for (int c = 0; c < channels; c++)
        {
            float folded = a.get(accOffset + c);
            for (int slot = c; slot < tileFloats; slot += channels)
            {
                folded = average ? folded + wide[slot] : Math.max(folded, wide[slot]);
            }
            a.put(accOffset + c, folded);
        }
    }

    /** One thread's staging arrays; grown when a layer needs more, never shrunk. */
    private static final class Staging
    {
        float[] wide = new float[0];
        float[] x = new float[0];

        Staging ensure(final int floats)
        {
            if (wide.length < floats)
            {
                wide = new float[floats];
                x = new float[floats];
            }
            return this;
        }
    }

    /** Folds the accumulator at {@code fromOffset} (for instance another device's) into the one at {@code intoOffset}. */
    public void combine(
        final FloatRegion from, final int fromOffset, final FloatRegion into, final int intoOffset, final int channels)
    {
        checkChannels(channels);
        checkAccumulator(from, fromOffset, channels);
        checkAccumulator(into, intoOffset, channels);
        final FloatBuffer f = from.floats();
        final FloatBuffer t = into.floats();
        for (int c = 0; c < channels; c++)
        {
            final float x = f.get(fromOffset + c);
            final float y = t.get(intoOffset + c);
            t.put(intoOffset + c, kind == Kind.AVERAGE ? x + y : Math.max(x, y));
        }
    }

    /**
     * Writes the result of a complete accumulator to {@code out} (may be the accumulator itself).
     *
     * @param pixelCount {@code H * W} of the whole map, the divisor of the average.
     */
    public void finish(
        final FloatRegion acc, final int accOffset, final int channels, final long pixelCount,
        final FloatRegion out, final int outOffset)
    {
        checkChannels(channels);
        if (pixelCount < 1)
        {
            throw new IllegalArgumentException(name() + ": pixel count must be >= 1: " + pixelCount);
        }
        checkAccumulator(acc, accOffset, channels);
        checkAccumulator(out, outOffset, channels);
        final FloatBuffer a = acc.floats();
        final FloatBuffer o = out.floats();
        final double scale = kind == Kind.AVERAGE ? 1.0 / pixelCount : 1.0;
        for (int c = 0; c < channels; c++)
        {
            o.put(outOffset + c, (float)(a.get(accOffset + c) * scale));
        }
    }

    private String name()
    {
        return kind == Kind.AVERAGE ? "GlobalAveragePool" : "GlobalMaxPool";
    }

    private void checkChannels(final int channels)
    {
        if (channels < 1)
        {
            throw new IllegalArgumentException(name() + ": channels must be >= 1: " + channels);
        }
    }

    private void checkAccumulator(final FloatRegion acc, final int offset, final int channels)
    {
        if (offset < 0 || (long)offset + channels > acc.length())
        {
            throw new IllegalArgumentException(name() + ": accumulator floats [" + offset + ", " +
                ((long)offset + channels) + ") outside region of " + acc.length());
        }
    }

    @Override
    public String toString()
    {
        return name();
    }
}
