package org.coedge.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Epilogue}'s loop on the Vector API ({@code jdk.incubator.vector}) for the activations that are a few vector
 * operations (none, ReLU, clip, hard swish): reads the GEMM output straight from its direct buffer, adds the bias
 * pattern (and the residual, read the same way), clamps, and writes it back, one pass. The plain path has to stage
 * every piece through a heap array (C2 does not vectorize loops over direct buffers), three passes; on the 1x1 layers
 * with few input channels that staging was a quarter to two fifths of the layer's time (measured).
 * <p>
 * The sigmoid stays on the plain path: with it on this loop (through the vector exp), MobileNetV2's steady state
 * allocated 13.8 MB per inference after PP-OCR det had run in the same JVM under OPENBLAS_CORETYPE=Haswell (the
 * loop compiled with the exp in its profile boxed its vectors), while either alone allocated nothing.
 * <p>
 * Loaded only where the JVM has the module ({@link DepthwiseConv2d#vectorByDefault()}); stateless, any thread.
 */
final class EpilogueVector
{
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private EpilogueVector()
    {
    }

    /** @return whether {@link #apply} computes this activation. */
    static boolean handles(final Activation activation)
    {
        switch (activation.kind())
        {
            case NONE:
            case RELU:
            case CLIP:
            case HARD_SWISH:
                return true;
            default:
                return false;
        }
    }

    /**
     * {@code x = f((x + bias) + residual)} over floats {@code [offset, offset + count)} of {@code out}, which cover
     * whole pixels from a pixel's first channel; the bias is {@code pattern}, repeated every {@code pieceFloats}
     * floats (a whole number of pixels), read from {@code patternOffset} on. The caller has checked both ranges.
     *
     * @param patternOffset 0 for whole pixels; for a window of a pixel's channels (one piece: {@code count <=
     *                      pieceFloats - patternOffset}), the window's first channel.
     * @param residual      null, or the residual's bytes, its floats from {@code residualOffset} added one for one.
     */
    static void apply(
        final ByteBuffer out, final int offset, final int count, final float[] pattern, final int patternOffset,
        final int pieceFloats, final Activation activation, final ByteBuffer residual, final int residualOffset)
    {
        final boolean clip = activation.kind() == Activation.Kind.CLIP;
        final boolean relu = activation.kind() == Activation.Kind.RELU;
        final boolean hardSwish = activation.kind() == Activation.Kind.HARD_SWISH;
        final float lo = clip ? activation.alpha() : relu ? 0f : Float.NEGATIVE_INFINITY;
        final float hi = clip ? activation.beta() : Float.POSITIVE_INFINITY;
        final int lanes = SPECIES.length();
        for (int done = 0; done < count; done += pieceFloats)
        {
            final int length = Math.min(pieceFloats, count - done);
            final long base = (long)(offset + done) * Float.BYTES;
            final long rBase = (long)(residualOffset + done) * Float.BYTES;
            int i = 0;
            for (; i + lanes <= length; i += lanes)
            {
                final int at = (int)(base + (long)i * Float.BYTES);
                FloatVector x = FloatVector.fromByteBuffer(SPECIES, out, at, ORDER)
                    .add(FloatVector.fromArray(SPECIES, pattern, patternOffset + i));
                if (residual != null)
                {
                    x = x.add(FloatVector.fromByteBuffer(SPECIES, residual, (int)(rBase + (long)i * Float.BYTES),
                        ORDER));
                }
                if (hardSwish)
                {
                    // x * max(0, min(1, x / 6 + 1/2)), with Activation.apply's roundings
                    x = x.mul(x.mul(1f / 6f).add(0.5f).max(0f).min(1f));
                }
                else
                {
                    x = x.max(lo).min(hi);
                }
                x.intoByteBuffer(out, at, ORDER);
            }
            for (; i < length; i++)
            {
                final int at = (int)(base + (long)i * Float.BYTES);
                float x = out.getFloat(at) + pattern[patternOffset + i];
                if (residual != null)
                {
                    x += residual.getFloat((int)(rBase + (long)i * Float.BYTES));
                }
                out.putFloat(at, hardSwish ? activation.apply(x) : Math.min(Math.max(x, lo), hi));
            }
        }
    }
}
