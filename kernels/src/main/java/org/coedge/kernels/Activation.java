package org.coedge.kernels;

/**
 * A pointwise activation, either run as its own layer or fused into the epilogue of a producing kernel (conv, gemm,
 * elementwise). Parameters are {@code alpha} and {@code beta} as ONNX defines them per operator.
 * <p>
 * Immutable; shared across threads.
 */
public final class Activation
{
    /** The functions a kernel can apply element by element. */
    public enum Kind
    {
        /** Identity. */
        NONE,
        RELU,
        /** {@code x >= 0 ? x : alpha * x}. */
        LEAKY_RELU,
        /** {@code min(max(x, alpha), beta)}: alpha = min, beta = max. */
        CLIP,
        SIGMOID,
        /** {@code max(0, min(1, alpha * x + beta))}. */
        HARD_SIGMOID,
        /** {@code x * max(0, min(1, x / 6 + 1/2))}. */
        HARD_SWISH,
        TANH
    }

    public static final Activation NONE = new Activation(Kind.NONE, 0f, 0f);
    public static final Activation RELU = new Activation(Kind.RELU, 0f, 0f);

    private final Kind kind;
    private final float alpha;
    private final float beta;

    private Activation(final Kind kind, final float alpha, final float beta)
    {
        this.kind = kind;
        this.alpha = alpha;
        this.beta = beta;
    }

    public static Activation of(final Kind kind, final float alpha, final float beta)
    {
        if (kind == Kind.CLIP && alpha > beta)
        {
            throw new IllegalArgumentException("Clip min " + alpha + " > max " + beta);
        }
        return new Activation(kind, alpha, beta);
    }

    public static Activation leakyRelu(final float alpha)
    {
        return new Activation(Kind.LEAKY_RELU, alpha, 0f);
    }

    public static Activation clip(final float min, final float max)
    {
        return of(Kind.CLIP, min, max);
    }

    public static Activation hardSigmoid(final float alpha, final float beta)
    {
        return new Activation(Kind.HARD_SIGMOID, alpha, beta);
    }

    public Kind kind()
    {
        return kind;
    }

    public float alpha()
    {
        return alpha;
    }

    public float beta()
    {
        return beta;
    }

    public boolean isIdentity()
    {
        return kind == Kind.NONE;
    }

    /** @return {@code f(x)}. */
    public float apply(final float x)
    {
        switch (kind)
        {
            case NONE:
                return x;
            case RELU:
                return x > 0f ? x : 0f;
            case LEAKY_RELU:
                return x >= 0f ? x : alpha * x;
            case CLIP:
                return Math.min(Math.max(x, alpha), beta);
            case SIGMOID:
                return (float)(1.0 / (1.0 + Math.exp(-x)));
            case HARD_SIGMOID:
                return Math.max(0f, Math.min(1f, alpha * x + beta));
            case HARD_SWISH:
                return x * Math.max(0f, Math.min(1f, x * (1f / 6f) + 0.5f));
            case TANH:
                return (float)Math.tanh(x);
            default:
                throw new IllegalStateException("unknown activation " + kind);
        }
    }

    /** Applies {@code f} in place to floats {@code [offset, offset + count)} of {@code region}. */
    public void applyInPlace(final FloatRegion region, final int offset, final int count)
    {
        if (kind == Kind.NONE)
        {
            return;
        }
        region.checkRange(offset, count);
        final java.nio.FloatBuffer f = region.floats();
        final int end = offset + count;
        switch (kind)
        {
            case RELU:
                for (int i = offset; i < end; i++)
                {
                    final float x = f.get(i);
                    f.put(i, x > 0f ? x : 0f);
                }
                break;
            case CLIP:
                for (int i = offset; i < end; i++)
                {
                    f.put(i, Math.min(Math.max(f.get(i), alpha), beta));
                }
                break;
            default:
                for (int i = offset; i < end; i++)
                {
                    f.put(i, apply(f.get(i)));
                }
        }
    }

    @Override
    public String toString()
    {
        return kind == Kind.NONE ? "none" : kind.name().toLowerCase() + (alpha != 0f || beta != 0f ?
            "(" + alpha + ", " + beta + ")" : "");
    }
}
