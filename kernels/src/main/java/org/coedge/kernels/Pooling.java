package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX MaxPool and AveragePool over an NHWC map, computing a range of output rows from a window of input rows.
 * <p>
 * Padding never holds a value: max pooling skips it (a window with no input element gives
 * {@code -Float.MAX_VALUE}, as ONNX Runtime does), and average pooling divides by the number of input elements in the
 * window, or with {@code count_include_pad} by the number of window taps inside the padded map (so a ceil-mode window
 * that overhangs the trailing padding counts only the taps up to it; a window with no input element gives 0).
 * <p>
 * Immutable and without per-call state: the engine calls one instance from several threads at once on disjoint output
 * row ranges. The output must not overlap the input.
 */
public final class Pooling
{
    /** Which reduction a window applies. */
    public enum Kind
    {
        MAX,
        AVERAGE
    }

    private final Kind kind;
    private final PoolParams params;

    public Pooling(final Kind kind, final PoolParams params)
    {
        if (kind == null || params == null)
        {
            throw new IllegalArgumentException("pooling kind and params are required");
        }
        this.kind = kind;
        this.params = params;
    }

    public static Pooling max(final PoolParams params)
    {
        return new Pooling(Kind.MAX, params);
    }

    public static Pooling average(final PoolParams params)
    {
        return new Pooling(Kind.AVERAGE, params);
    }

    public Kind kind()
    {
        return kind;
    }

    public PoolParams params()
    {
        return params;
    }

    /**
     * Computes output rows {@code [h0, h1)} (full-map coordinates) of {@code out}.
     *
     * @param in  input map; must hold rows {@code [params.firstInputRow(h0), params.endInputRow(h1))} clipped to it.
     * @param out output map of {@code params.outputHeight(in.height()) x params.outputWidth(in.width()) x
     *            in.channels()}; must hold rows {@code [h0, h1)}.
     * @throws IllegalArgumentException if a shape does not match or a needed row is not held.
     */
    public void forward(final MapView in, final MapView out, final int h0, final int h1)
    {
        final String op = kind == Kind.MAX ? "MaxPool" : "AveragePool";
        OpsChecks.checkShape(op, "output", out,
            params.outputHeight(in.height()), params.outputWidth(in.width()), in.channels());
        OpsChecks.checkOutputRows(op, out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        OpsChecks.checkInputRows(op, "input", in, params.firstInputRow(h0), params.endInputRow(h1));
        OpsChecks.checkDisjoint(op, in, out);

        final FloatBuffer src = in.region().floats();
        final FloatBuffer dst = out.region().floats();
        final int channels = in.channels();
        final int inH = in.height();
        final int inW = in.width();
        final int kH = params.kernelH();
        final int kW = params.kernelW();
        final int dH = params.dilationH();
        final int dW = params.dilationW();
        final int outW = out.width();
        for (int oh = h0; oh < h1; oh++)
        {
            final int hStart = oh * params.strideH() - params.padTop();
            final int khBegin = firstTap(hStart, dH);
            final int khEnd = endTap(hStart, dH, kH, inH);
            final int padTapsH = paddedTaps(hStart, dH, kH, inH + params.padBottom());
            for (int ow = 0; ow < outW; ow++)
            {
                final int wStart = ow * params.strideW() - params.padLeft();
                final int kwBegin = firstTap(wStart, dW);
                final int kwEnd = endTap(wStart, dW, kW, inW);
                final int o = out.index(oh, ow, 0);
                final int validTaps = Math.max(0, khEnd - khBegin) * Math.max(0, kwEnd - kwBegin);
                if (kind == Kind.MAX)
                {
                    fill(dst, o, channels, -Float.MAX_VALUE);
                    for (int kh = khBegin; kh < khEnd; kh++)
                    {
                        final int rowBase = in.rowOffset(hStart + kh * dH);
                        for (int kw = kwBegin; kw < kwEnd; kw++)
                        {
                            final int s = rowBase + (wStart + kw * dW) * channels;
                            for (int c = 0; c < channels; c++)
                            {
                                final float v = src.get(s + c);
                                if (v > dst.get(o + c))
                                {
                                    dst.put(o + c, v);
                                }
                            }
                        }
                    }
                }
                else
                {
                    fill(dst, o, channels, 0f);
                    for (int kh = khBegin; kh < khEnd; kh++)
                    {
                        final int rowBase = in.rowOffset(hStart + kh * dH);
                        for (int kw = kwBegin; kw < kwEnd; kw++)
                        {
                            final int s = rowBase + (wStart + kw * dW) * channels;
                            for (int c = 0; c < channels; c++)
                            {
                                dst.put(o + c, dst.get(o + c) + src.get(s + c));
                            }
                        }
                    }
                    if (validTaps > 0)
                    {
                        final int divisor = params.countIncludePad() ?
                            padTapsH * paddedTaps(wStart, dW, kW, inW + params.padRight()) : validTaps;
                        final float scale = 1f / divisor;
                        for (int c = 0; c < channels; c++)
                        {
                            dst.put(o + c, dst.get(o + c) * scale);
                        }
                    }
                }
            }
        }
    }

    /** @return the first tap index whose position {@code start + tap * dilation} is {@code >= 0}. */
    private static int firstTap(final int start, final int dilation)
    {
        return start >= 0 ? 0 : OpsChecks.ceilDiv(-start, dilation);
    }

    /** @return one past the last tap index (at most {@code kernel}) whose position is {@code < limit}. */
    private static int endTap(final int start, final int dilation, final int kernel, final int limit)
    {
        return Math.min(kernel, Math.max(0, OpsChecks.ceilDiv(limit - start, dilation)));
    }

    /** @return taps of the window inside the padded map (window start is never before the leading padding). */
    private static int paddedTaps(final int start, final int dilation, final int kernel, final int paddedEnd)
    {
        return endTap(start, dilation, kernel, paddedEnd);
    }

    private static void fill(final FloatBuffer dst, final int offset, final int count, final float value)
    {
        for (int i = offset, end = offset + count; i < end; i++)
        {
            dst.put(i, value);
        }
    }

    @Override
    public String toString()
    {
        return (kind == Kind.MAX ? "MaxPool " : "AveragePool ") + params;
    }
}
