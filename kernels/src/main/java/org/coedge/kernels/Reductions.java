package org.coedge.kernels;

/**
 * Generic reductions and normalizations over {@link TensorView}s of any rank: softmax, reductions over trailing
 * axes, standardization (the core of LayerNormalization and InstanceNormalization) and local response
 * normalization. Plain loops like {@link TensorOps}'s, each its own naive reference, tested against ONNX Runtime.
 * <p>
 * Stateless; allocation-free; a caller may run several on disjoint outputs at once.
 */
public final class Reductions
{
    private Reductions()
    {
    }

    /** Reductions over a set of axes. */
    public enum Reduce
    {
        SUM, MEAN, MAX, MIN, PROD, L1, L2, SUM_SQUARE, LOG_SUM, LOG_SUM_EXP,
        /** {@code 1 / sqrt(population variance + epsilon)} (LayerNormalization's third output). */
        INV_STD_DEV
    }

    /**
     * Softmax (or log-softmax) over the last {@code reduced} dims of {@code in} jointly; {@code in} and {@code out} are
     * views with the same dims, permuted by the caller so that the reduced dims come last.
     */
    public static void softmax(final TensorView in, final TensorView out, final int reduced, final boolean log)
    {
        final int inner = trailingSize(in, reduced);
        if (inner == 0)
        {
            return;
        }
        final int outer = in.size() / inner;
        for (int o = 0; o < outer; o++)
        {
            final int base = o * inner;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < inner; i++)
            {
                max = Math.max(max, in.get(base + i));
            }
            double sum = 0;
            for (int i = 0; i < inner; i++)
            {
                sum += Math.exp(in.get(base + i) - max);
            }
            final double logSum = Math.log(sum);
            for (int i = 0; i < inner; i++)
            {
                final double shifted = in.get(base + i) - max;
                out.set(base + i, (float)(log ? shifted - logSum : Math.exp(shifted) / sum));
            }
        }
    }

    /**
     * Reduces the last {@code reduced} dims of {@code in} (permuted by the caller so that they come last) into
     * {@code out}, which holds one value per combination of the leading dims, in their row-major order.
     */
    public static void reduce(final Reduce kind, final TensorView in, final int reduced, final TensorView out)
    {
        reduce(kind, 0f, in, reduced, out);
    }

    /** As {@link #reduce(Reduce, TensorView, int, TensorView)}; {@code epsilon} serves {@link Reduce#INV_STD_DEV}. */
    public static void reduce(final Reduce kind, final float epsilon, final TensorView in, final int reduced,
        final TensorView out)
    {
        final int inner = trailingSize(in, reduced);
        final int outer = out.size();
        for (int o = 0; o < outer; o++)
        {
            final int base = o * inner;
            double acc = kind == Reduce.MAX ? Double.NEGATIVE_INFINITY : kind == Reduce.MIN ?
                Double.POSITIVE_INFINITY : kind == Reduce.PROD ? 1 : 0;
            double max = Double.NEGATIVE_INFINITY;
            if (kind == Reduce.INV_STD_DEV)
            {
                double sum = 0;
                for (int i = 0; i < inner; i++)
                {
                    sum += in.get(base + i);
                }
                final double mean = sum / inner;
                double sq = 0;
                for (int i = 0; i < inner; i++)
                {
                    final double d = in.get(base + i) - mean;
                    sq += d * d;
                }
                out.set(o, (float)(1 / Math.sqrt(sq / inner + epsilon)));
                continue;
            }
            if (kind == Reduce.LOG_SUM_EXP)
            {
                for (int i = 0; i < inner; i++)
                {
                    max = Math.max(max, in.get(base + i));
                }
                max = inner == 0 || Double.isInfinite(max) ? 0 : max;
            }
            for (int i = 0; i < inner; i++)
            {
                final double x = in.get(base + i);
                switch (kind)
                {
                    case MAX:
                        acc = Math.max(acc, x);
                        break;
                    case MIN:
                        acc = Math.min(acc, x);
                        break;
                    case PROD:
                        acc *= x;
                        break;
                    case L1:
                        acc += Math.abs(x);
                        break;
                    case L2:
                    case SUM_SQUARE:
                        acc += x * x;
                        break;
                    case LOG_SUM_EXP:
                        acc += Math.exp(x - max);
                        break;
                    default:
                        acc += x;
                        break;
                }
            }
            switch (kind)
            {
                case MEAN:
                    acc /= inner;
                    break;
                case L2:
                    acc = Math.sqrt(acc);
                    break;
                case LOG_SUM:
                    acc = Math.log(acc);
                    break;
                case LOG_SUM_EXP:
                    acc = Math.log(acc) + max;
                    break;
                default:
                    break;
            }
            out.set(o, (float)acc);
        }
    }

    /**
     * Standardizes each group of the last {@code reduced} dims: {@code (x - mean) / sqrt(variance + epsilon)}, the
     * population variance; {@code in} and {@code out} share dims.
     */
    public static void standardize(final TensorView in, final TensorView out, final int reduced, final float epsilon)
    {
        final int inner = trailingSize(in, reduced);
        if (inner == 0)
        {
            return;
        }
        final int outer = in.size() / inner;
        for (int o = 0; o < outer; o++)
        {
            final int base = o * inner;
            double sum = 0;
            for (int i = 0; i < inner; i++)
            {
                sum += in.get(base + i);
            }
            final double mean = sum / inner;
            double sq = 0;
            for (int i = 0; i < inner; i++)
            {
                final double d = in.get(base + i) - mean;
                sq += d * d;
            }
            final double inv = 1 / Math.sqrt(sq / inner + epsilon);
            for (int i = 0; i < inner; i++)
            {
                out.set(base + i, (float)((in.get(base + i) - mean) * inv));
            }
        }
    }

    /**
     * LRN across channels of {@code in} [N, C, ...]: {@code x / (bias + alpha / size * sum of squares over the
     * channels c - (size-1)/2 .. c + size/2) ^ beta}.
     */
    public static void lrn(final int size, final float alpha, final float beta, final float bias,
        final TensorView in, final TensorView out)
    {
        final int batch = in.dim(0);
        final int channels = in.dim(1);
        final int spatial = channels == 0 || batch == 0 ? 0 : in.size() / (batch * channels);
        final int before = (size - 1) / 2;
        final int after = size / 2;
        for (int nb = 0; nb < batch; nb++)
        {
            for (int c = 0; c < channels; c++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    double sq = 0;
                    for (int j = Math.max(0, c - before); j <= Math.min(channels - 1, c + after); j++)
                    {
                        final double v = in.get((nb * channels + j) * spatial + p);
                        sq += v * v;
                    }
                    final int at = (nb * channels + c) * spatial + p;
                    out.set(at, (float)(in.get(at) / Math.pow(bias + alpha / size * sq, beta)));
                }
            }
        }
    }

    /** @return the number of elements in the last {@code dims} dims of {@code v}. */
    private static int trailingSize(final TensorView v, final int dims)
    {
        int size = 1;
        for (int a = v.rank() - dims; a < v.rank(); a++)
        {
            size *= v.dim(a);
        }
        return size;
    }
}
