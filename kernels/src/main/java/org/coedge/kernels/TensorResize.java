package org.coedge.kernels;

/**
 * Naive N-d Resize over {@link TensorView}s for the modes the 2-D map kernel ({@link Resize}) does not serve: cubic
 * (Keys' kernel with coefficient {@code a}, optionally excluding taps outside the input and renormalizing), with every
 * ONNX coordinate transformation but tf_crop_and_resize. Each output element sums up to 4 taps per resized dim, the
 * tap indices clamped to the input as ONNX Runtime does. Its own reference, tested against ONNX Runtime.
 * <p>
 * Stateless; allocation-free.
 */
public final class TensorResize
{
    private TensorResize()
    {
    }

    /** ONNX coordinate transformations, by name. */
    public enum Coordinates
    {
        HALF_PIXEL, PYTORCH_HALF_PIXEL, ALIGN_CORNERS, ASYMMETRIC, TF_HALF_PIXEL_FOR_NN
    }

    /** @return the input coordinate of output index {@code x} along a dim of {@code in} -> {@code out} at {@code scale}. */
    public static double source(final Coordinates mode, final int x, final int in, final int out, final float scale)
    {
        switch (mode)
        {
            case HALF_PIXEL:
                return (x + 0.5) / scale - 0.5;
            case PYTORCH_HALF_PIXEL:
                return out > 1 ? (x + 0.5) / scale - 0.5 : 0;
            case ALIGN_CORNERS:
                return out == 1 ? 0 : (double)x * (in - 1) / (out - 1);
            case TF_HALF_PIXEL_FOR_NN:
                return (x + 0.5) / scale;
            default:
                return x / (double)scale;
        }
    }

    private static double cubic(final double d, final double a)
    {
        final double t = Math.abs(d);
        if (t <= 1)
        {
            return ((a + 2) * t - (a + 3)) * t * t + 1;
        }
        if (t < 2)
        {
            return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
        }
        return 0;
    }

    /**
     * Cubic resize of {@code in} into {@code out} (same rank); dims where the sizes agree and the scale is 1 are
     * copied through.
     *
     * @param scales per dim, as ONNX defines them (output / input unless given).
     */
    public static void cubic(final Coordinates mode, final double a, final boolean excludeOutside,
        final float[] scales, final TensorView in, final TensorView out)
    {
        final int rank = out.rank();
        final int n = out.size();
        for (int i = 0; i < n; i++)
        {
            // Per dim: the first tap and the 4 weights, packed into the loop below without arrays.
            double acc = 0;
            double weightSum = 0;
            int taps = 1;
            for (int a0 = 0; a0 < rank; a0++)
            {
                taps *= resized(in, out, scales, a0) ? 4 : 1;
            }
            for (int t = 0; t < taps; t++)
            {
                int rest = i;
                int tapRest = t;
                int src = 0;
                int scale = 1;
                double w = 1;
                for (int d = rank - 1; d >= 0; d--)
                {
                    final int od = out.dim(d);
                    final int x = rest % od;
                    rest /= od;
                    final int size = in.dim(d);
                    int at = x;
                    if (resized(in, out, scales, d))
                    {
                        final int k = tapRest % 4;
                        tapRest /= 4;
                        final double s = source(mode, x, size, od, scales[d]);
                        final int base = (int)Math.floor(s);
                        final int idx = base - 1 + k;
                        final double weight = cubic(s - idx, a);
                        if (excludeOutside && (idx < 0 || idx >= size))
                        {
                            w = 0;
                        }
                        else
                        {
                            w *= weight;
                        }
                        at = Math.max(0, Math.min(size - 1, idx));
                    }
                    src += at * scale;
                    scale *= size;
                }
                acc += w * in.get(src);
                weightSum += w;
            }
            out.set(i, (float)(excludeOutside && weightSum != 0 ? acc / weightSum : acc));
        }
    }

    private static boolean resized(final TensorView in, final TensorView out, final float[] scales, final int d)
    {
        return in.dim(d) != out.dim(d) || scales[d] != 1f;
    }
}
