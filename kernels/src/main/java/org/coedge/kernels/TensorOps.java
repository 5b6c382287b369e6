package org.coedge.kernels;

/**
 * Generic tensor kernels over {@link TensorView}s of any rank and layout: elementwise math, broadcasting n-ary
 * operations, copies (transpose, slice, expand, concat, split and depth-to-space are copies between suitably derived
 * views), tile, gather, pad and batched matrix products ({@link Reductions} has softmax, reductions and
 * normalizations). They are plain loops over the output's row-major index, written for clarity: they serve operators
 * that no fast kernel covers and the model parts that are not split by rows. Each is its own naive reference, tested against ONNX Runtime.
 * <p>
 * Stateless; allocation-free; a caller may run several on disjoint outputs at once.
 */
public final class TensorOps
{
    private TensorOps()
    {
    }

    /** Elementwise functions of one value, with up to two parameters {@code p} and {@code q}. */
    public enum Unary
    {
        IDENTITY, RELU, LEAKY_RELU, SIGMOID, HARD_SIGMOID, HARD_SWISH, TANH, CLIP, EXP, LOG, SQRT, ABS, NEG,
        RECIPROCAL, ERF, SOFTPLUS, SOFTSIGN, ELU, SELU, CELU, MISH, GELU, GELU_TANH, FLOOR, CEIL, ROUND, SIGN, SIN,
        COS, THRESHOLDED_RELU;

        /** @return the function at {@code x}. */
        public float apply(final float x, final float p, final float q)
        {
            switch (this)
            {
                case IDENTITY:
                    return x;
                case RELU:
                    return x > 0 ? x : 0f;
                case LEAKY_RELU:
                    return x >= 0 ? x : p * x;
                case SIGMOID:
                    return (float)(1.0 / (1.0 + Math.exp(-x)));
                case HARD_SIGMOID:
                    return Math.max(0f, Math.min(1f, p * x + q));
                case HARD_SWISH:
                    return x * Math.max(0f, Math.min(1f, x / 6f + 0.5f));
                case TANH:
                    return (float)Math.tanh(x);
                case CLIP:
                    return Math.min(q, Math.max(p, x));
                case EXP:
                    return (float)Math.exp(x);
                case LOG:
                    return (float)Math.log(x);
                case SQRT:
                    return (float)Math.sqrt(x);
                case ABS:
                    return Math.abs(x);
                case NEG:
                    return -x;
                case RECIPROCAL:
                    return 1f / x;
                case ERF:
                    return (float)erf(x);
                case SOFTPLUS:
                    return (float)(x > 20 ? x : Math.log1p(Math.exp(x)));
                case SOFTSIGN:
                    return x / (1f + Math.abs(x));
                case ELU:
                    return x >= 0 ? x : (float)(p * Math.expm1(x));
                case SELU:
                    return q * (x > 0 ? x : (float)(p * Math.expm1(x)));
                case CELU:
                    return Math.max(0f, x) + Math.min(0f, (float)(p * Math.expm1(x / p)));
                case MISH:
                    return (float)(x * Math.tanh(x > 20 ? x : Math.log1p(Math.exp(x))));
                case GELU:
                    return (float)(0.5 * x * (1 + erf(x / Math.sqrt(2))));
                case GELU_TANH:
                    return (float)(0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))));
                case FLOOR:
                    return (float)Math.floor(x);
                case CEIL:
                    return (float)Math.ceil(x);
                case ROUND:
                    return (float)Math.rint(x);
                case SIGN:
                    return Math.signum(x);
                case SIN:
                    return (float)Math.sin(x);
                case COS:
                    return (float)Math.cos(x);
                case THRESHOLDED_RELU:
                    return x > p ? x : 0f;
                default:
                    throw new IllegalStateException(name());
            }
        }
    }

    /** Elementwise functions of two values. */
    public enum Binary
    {
        ADD, SUB, MUL, DIV, MAX, MIN, POW, PRELU, MOD, FMOD;

        public float apply(final float a, final float b)
        {
            switch (this)
            {
                case ADD:
                    return a + b;
                case SUB:
                    return a - b;
                case MUL:
                    return a * b;
                case DIV:
                    return a / b;
                case MAX:
                    return Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.max(a, b);
                case MIN:
                    return Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.min(a, b);
                case POW:
                    return (float)Math.pow(a, b);
                case PRELU:
                    return a < 0 ? a * b : a;
                case MOD:
                {
                    final float r = a % b;
                    return r != 0 && (r < 0) != (b < 0) ? r + b : r;
                }
                case FMOD:
                    return a % b;
                default:
                    throw new IllegalStateException(name());
            }
        }
    }

    /**
     * The error function, to double precision well beyond float's: a Taylor series near 0, the complementary
     * function's continued fraction (Lentz) further out.
     */
    public static double erf(final double x)
    {
        final double ax = Math.abs(x);
        if (ax < 2.5)
        {
            // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax;
            double sum = ax;
            final double x2 = ax * ax;
            for (int n = 1; n < 80 && Math.abs(term) > 1e-17 * Math.abs(sum); n++)
            {
                term *= -x2 / n;
                sum += term / (2 * n + 1);
            }
            final double r = 2 / Math.sqrt(Math.PI) * sum;
            return x < 0 ? -r : r;
        }
        if (ax > 6)
        {
            return x < 0 ? -1 : 1;
        }
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
        double f = ax;
        double c = ax;
        double d = 0;
        for (int k = 1; k < 200; k++)
        {
            final double a = k / 2.0;
            d = ax + a * d;
            d = 1 / d;
            c = ax + a / c;
            final double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16)
            {
                break;
            }
        }
        final double erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        return x < 0 ? erfc - 1 : 1 - erfc;
    }

    /** {@code out[i] = op(in[i])}; {@code in} has {@code out}'s dims. */
    public static void unary(final Unary op, final float p, final float q, final TensorView in, final TensorView out)
    {
        final int n = out.size();
        for (int i = 0; i < n; i++)
        {
            out.set(i, op.apply(in.get(i), p, q));
        }
    }

    /** {@code out[i] = op(a[i], b[i])}; both operands are views with {@code out}'s dims (broadcast if need be). */
    public static void binary(final Binary op, final TensorView a, final TensorView b, final TensorView out)
    {
        final int n = out.size();
        for (int i = 0; i < n; i++)
        {
            out.set(i, op.apply(a.get(i), b.get(i)));
        }
    }

    /**
     * Folds {@code op} over the operands left to right ({@code mean} divides the sum by their count); every operand
     * is a view with {@code out}'s dims.
     */
    public static void nary(final Binary op, final boolean mean, final TensorView[] in, final TensorView out)
    {
        final int n = out.size();
        final float scale = 1f / in.length;
        for (int i = 0; i < n; i++)
        {
            float acc = in[0].get(i);
            for (int k = 1; k < in.length; k++)
            {
                acc = op.apply(acc, in[k].get(i));
            }
            out.set(i, mean ? acc * scale : acc);
        }
    }

    /** {@code out[i] = in[i]}: with derived views, a transpose, slice, expand, concat part or split part. */
    public static void copy(final TensorView in, final TensorView out)
    {
        final int n = out.size();
        for (int i = 0; i < n; i++)
        {
            out.set(i, in.get(i));
        }
    }

    /** ONNX Tile: output element {@code (i0, i1, ...)} is input element {@code (i0 % d0, i1 % d1, ...)}. */
    public static void tile(final TensorView in, final TensorView out)
    {
        final int n = out.size();
        final int rank = out.rank();
        for (int i = 0; i < n; i++)
        {
            int rest = i;
            int src = 0;
            int scale = 1;
            for (int a = rank - 1; a >= 0; a--)
            {
                final int d = out.dim(a);
                final int q = rest / d;
                src += ((rest - q * d) % in.dim(a)) * scale;
                scale *= in.dim(a);
                rest = q;
            }
            out.set(i, in.get(src));
        }
    }

    /**
     * ONNX Gather along {@code axis}: {@code out} has dims {@code in[:axis] + indices dims + in[axis+1:]}; the indices
     * (already made non-negative and checked against the axis) are given flat.
     */
    public static void gather(final TensorView in, final int axis, final int[] indices, final TensorView out)
    {
        int inner = 1;
        for (int a = axis + 1; a < in.rank(); a++)
        {
            inner *= in.dim(a);
        }
        final int axisDim = in.dim(axis);
        final int n = out.size();
        for (int i = 0; i < n; i++)
        {
            final int in0 = i % inner;
            final int t = i / inner;
            final int p = t % indices.length;
            final int outer = t / indices.length;
            out.set(i, in.get((outer * axisDim + indices[p]) * inner + in0));
        }
    }

    /** Pad modes. */
    public enum PadMode
    {
        CONSTANT, REFLECT, EDGE, WRAP
    }

    /**
     * ONNX Pad with non-negative {@code begin} pads per dim ({@code out} dims give the end pads): every output index
     * is mapped back to an input index by the mode, or set to {@code value}.
     */
    public static void pad(final PadMode mode, final float value, final int[] begin, final TensorView in,
        final TensorView out)
    {
        final int n = out.size();
        final int rank = out.rank();
        for (int i = 0; i < n; i++)
        {
            int rest = i;
            int src = 0;
            int scale = 1;
            boolean outside = false;
            for (int a = rank - 1; a >= 0; a--)
            {
                final int d = out.dim(a);
                final int q = rest / d;
                final int size = in.dim(a);
                int x = rest - q * d - begin[a];
                if (x < 0 || x >= size)
                {
                    switch (mode)
                    {
                        case CONSTANT:
                            outside = true;
                            break;
                        case EDGE:
                            x = x < 0 ? 0 : size - 1;
                            break;
                        case WRAP:
                            x = ((x % size) + size) % size;
                            break;
                        default:
                            final int period = 2 * (size - 1);
                            x = period == 0 ? 0 : ((x % period) + period) % period;
                            x = x >= size ? period - x : x;
                            break;
                    }
                }
                src += x * scale;
                scale *= size;
                rest = q;
            }
            out.set(i, outside ? value : in.get(src));
        }
    }

    /**
     * Batched matrix product {@code out[b] = alpha * a[b] x b[b] + beta * c[b]}: every view has rank r >= 2 with
     * {@code out}'s leading (batch) dims, broadcast by the caller; {@code a} is (M x K), {@code b} (K x N),
     * {@code c} (M x N) or null.
     */
    public static void matMul(final TensorView a, final TensorView b, final TensorView c, final float alpha,
        final float beta, final TensorView out)
    {
        final int r = out.rank();
        final int m = out.dim(r - 2);
        final int n = out.dim(r - 1);
        final int k = a.dim(r - 1);
        final int batches = m * n == 0 ? 0 : out.size() / (m * n);
        for (int bt = 0; bt < batches; bt++)
        {
            final int aBase = bt * m * k;
            final int bBase = bt * k * n;
            final int oBase = bt * m * n;
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int p = 0; p < k; p++)
                    {
                        acc += (double)a.get(aBase + i * k + p) * b.get(bBase + p * n + j);
                    }
                    double v = alpha * acc;
                    if (c != null)
                    {
                        v += beta * c.get(oBase + i * n + j);
                    }
                    out.set(oBase + i * n + j, (float)v);
                }
            }
        }
    }

    /** {@code out[i] = op(in[i])} over rows {@code [h0, h1)} of two maps of the same shape (row-split friendly). */
    public static void unaryRows(final Unary op, final float p, final float q, final MapView in, final MapView out,
        final int h0, final int h1)
    {
        if (h0 >= h1)
        {
            return;
        }
        in.checkRows(h0, h1);
        out.checkRows(h0, h1);
        final java.nio.FloatBuffer src = in.region().floats();
        final java.nio.FloatBuffer dst = out.region().floats();
        final int from = in.rowOffset(h0);
        final int to = out.rowOffset(h0);
        final int count = (h1 - h0) * in.rowStride();
        for (int i = 0; i < count; i++)
        {
            dst.put(to + i, op.apply(src.get(from + i), p, q));
        }
    }
}
