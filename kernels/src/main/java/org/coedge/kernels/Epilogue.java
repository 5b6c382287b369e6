package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * The end of the GEMM convolution kernels ({@link Conv2d}, {@link ConvTranspose2d}): adds the bias (if any) per
 * channel, then the residual (if the call has one), and applies the fused activation and its affine tail, in place,
 * to whole pixels of an NHWC map. The kernels call it on each GEMM output chunk right after its product, while the
 * chunk is in cache.
 * <p>
 * Loops over direct buffers do not vectorize on JDK 17 (about 0.7 ns a float measured, more than a small-K GEMM
 * spends per output), loops over heap arrays at offset zero do: so each piece of output (and of the residual) is
 * copied into per-thread heap arrays, transformed there against the bias repeated over a whole piece, and copied
 * back (about 0.2 ns a float). Where the JVM has the Vector API ({@link DepthwiseConv2d#vectorByDefault()}) and the
 * activation is none, ReLU, clip or hard swish without an affine tail, {@link EpilogueVector} does it in one pass over
 * the direct buffer instead.
 * Immutable; the staging arrays belong to the calling thread, so one instance serves
 * all threads.
 */
final class Epilogue
{
    /** Floats staged at a time: 16 KiB, comfortably inside L1 with its bias pattern (and residual piece). */
    private static final int STAGING_FLOATS = 4096;

    private static final ThreadLocal<float[][]> STAGING = ThreadLocal.withInitial(
        () -> new float[][] {new float[STAGING_FLOATS], new float[STAGING_FLOATS], new float[STAGING_FLOATS]});

    private final Activation activation;
    private final boolean identity;
    private final float[] pattern; // (pieceFloats): the bias repeated pixel after pixel, zeros without bias
    private final int pieceFloats;
    private final boolean vector;

    /**
     * @param biasOrNull {@code [channels]} or {@code null}; copied.
     * @param channels   floats per pixel.
     * @param activation applied after the bias.
     */
    Epilogue(final float[] biasOrNull, final int channels, final Activation activation)
    {
        this(biasOrNull, channels, activation, DepthwiseConv2d.vectorByDefault());
    }

    /** As {@link #Epilogue(float[], int, Activation)}, choosing the loop (tests run both). */
    Epilogue(final float[] biasOrNull, final int channels, final Activation activation, final boolean vector)
    {
        this.activation = activation;
        this.identity = biasOrNull == null && activation.isIdentity();
        this.pieceFloats = Math.max(1, STAGING_FLOATS / channels) * channels;
        // an affine tail takes the staged loop: a longer vector loop, compiled after PP-OCR's tails had been seen,
        // left MobileNetV2's clip epilogue allocating its vectors (69 MB per 5 inferences in the allocation test)
        this.vector = vector && DepthwiseConv2d.vectorAvailable() && EpilogueVector.handles(activation) &&
            !activation.hasAffine();
        this.pattern = new float[pieceFloats];
        if (biasOrNull != null)
        {
            for (int i = 0; i < pieceFloats; i++)
            {
                pattern[i] = biasOrNull[i % channels];
            }
        }
    }

    /** @return {@code true} if {@link #apply} without a residual changes nothing. */
    boolean isIdentity()
    {
        return identity;
    }

    /**
     * Applies bias, residual and activation to floats {@code [offset, offset + count)}, which start at a pixel's
     * first channel and cover whole pixels of whole rows.
     *
     * @param residual null, or a map of the output's shape whose rows from {@code firstRow} on are added.
     * @param firstRow the full-map row of the first pixel at {@code offset}.
     */
    void apply(
        final FloatRegion region, final int offset, final int count, final MapView residual, final int firstRow)
    {
        if (identity && residual == null)
        {
            return;
        }
        region.checkRange(offset, count);
        final int rOffset = residual == null ? 0 : residual.rowOffset(firstRow);
        if (residual != null)
        {
            residual.region().checkRange(rOffset, count);
        }
        if (vector)
        {
            EpilogueVector.apply(region.bytes(), offset, count, pattern, 0, pieceFloats, activation,
                residual == null ? null : residual.region().bytes(), rOffset);
            return;
        }
        final float[][] staging = staging();
        final float[] x = staging[0];
        final float[] r = staging[1];
        final FloatBuffer f = region.floats();
        final FloatBuffer rf = residual == null ? null : residual.region().floats();
        for (int done = 0; done < count; done += pieceFloats)
        {
            final int length = Math.min(pieceFloats, count - done);
            f.get(offset + done, x, 0, length);
            if (rf == null)
            {
                transform(x, pattern, length);
            }
            else
            {
                rf.get(rOffset + done, r, 0, length);
                transform(x, r, pattern, length);
            }
            f.put(offset + done, x, 0, length);
        }
    }

    /**
     * As {@link #apply}, for channels {@code [c0, c1)} of each of {@code pixels} pixels {@code pixelFloats} apart from
     * {@code offset} (the first pixel's channel 0), and nothing else: the window of the output channels one thread
     * computes when a layer's threads split its channels.
     */
    void applyWindow(final FloatRegion region, final int offset, final int pixels, final int pixelFloats,
        final int c0, final int c1, final MapView residual, final int firstRow)
    {
        if ((identity && residual == null) || pixels == 0 || c0 == c1)
        {
            return;
        }
        final int span = (pixels - 1) * pixelFloats + c1;
        region.checkRange(offset, span);
        final int rOffset = residual == null ? 0 : residual.rowOffset(firstRow);
        if (residual != null)
        {
            residual.region().checkRange(rOffset, span);
        }
        final int w = c1 - c0;
        if (vector)
        {
            final java.nio.ByteBuffer rb = residual == null ? null : residual.region().bytes();
            for (int p = 0; p < pixels; p++)
            {
                final int at = p * pixelFloats + c0;
                EpilogueVector.apply(region.bytes(), offset + at, w, pattern, c0, pieceFloats, activation, rb,
                    rOffset + at);
            }
            return;
        }
        final float[][] staging = staging();
        final float[] x = staging[0];
        final float[] r = staging[1];
        final float[] b = staging[2];
        System.arraycopy(pattern, c0, b, 0, w);
        final FloatBuffer f = region.floats();
        final FloatBuffer rf = residual == null ? null : residual.region().floats();
        for (int p = 0; p < pixels; p++)
        {
            final int at = p * pixelFloats + c0;
            f.get(offset + at, x, 0, w);
            if (rf == null)
            {
                transform(x, b, w);
            }
            else
            {
                rf.get(rOffset + at, r, 0, w);
                transform(x, r, b, w);
            }
            f.put(offset + at, x, 0, w);
        }
    }

    /** @return the calling thread's staging arrays: a piece, its residual, a window's bias. */
    private float[][] staging()
    {
        float[][] staging = STAGING.get();
        if (staging[0].length < pieceFloats)
        {
            // Only layers with more than STAGING_FLOATS channels get here, once per thread.
            staging = new float[][] {new float[pieceFloats], new float[pieceFloats], new float[pieceFloats]};
            STAGING.set(staging);
        }
        return staging;
    }

    /** {@code x = f(x + b)}, {@code b} the bias of each float (at offset 0, so that C2 vectorizes the loop). */
    private void transform(final float[] x, final float[] b, final int length)
    {
        switch (activation.kind())
        {
            case NONE:
                for (int i = 0; i < length; i++)
                {
                    x[i] += b[i];
                }
                break;
            case RELU:
                for (int i = 0; i < length; i++)
                {
                    x[i] = Math.max(x[i] + b[i], 0f);
                }
                break;
            case CLIP:
                final float lo = activation.alpha();
                final float hi = activation.beta();
                for (int i = 0; i < length; i++)
                {
                    x[i] = Math.min(Math.max(x[i] + b[i], lo), hi);
                }
                break;
            case HARD_SWISH:
                // as Activation.apply, written out so that C2 vectorizes it (PP-OCR's convolutions with a tail)
                for (int i = 0; i < length; i++)
                {
                    final float v = x[i] + b[i];
                    x[i] = v * Math.max(0f, Math.min(1f, v * (1f / 6f) + 0.5f));
                }
                break;
            default:
                for (int i = 0; i < length; i++)
                {
                    x[i] = activation.applyCore(x[i] + b[i]);
                }
        }
        activation.affine(x, length);
    }

    /** {@code x = f((x + b) + r)}: the order the unfused Conv then Add computes in. */
    private void transform(final float[] x, final float[] r, final float[] b, final int length)
    {
        switch (activation.kind())
        {
            case NONE:
                for (int i = 0; i < length; i++)
                {
                    x[i] = (x[i] + b[i]) + r[i];
                }
                break;
            case RELU:
                for (int i = 0; i < length; i++)
                {
                    x[i] = Math.max((x[i] + b[i]) + r[i], 0f);
                }
                break;
            default:
                for (int i = 0; i < length; i++)
                {
                    x[i] = activation.applyCore((x[i] + b[i]) + r[i]);
                }
        }
        activation.affine(x, length);
    }
}
