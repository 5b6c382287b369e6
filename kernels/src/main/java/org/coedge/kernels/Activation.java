package org.coedge.kernels;

/**
 * A pointwise activation, either run as its own layer or fused into the epilogue of a producing kernel (conv, gemm,
 * elementwise). Parameters are {@code alpha} and {@code beta} as ONNX defines them per operator.
 * <p>
 * A convolution's activation may end in an <em>affine tail</em>, {@code f(x) * scale + shift} with scalar
 * {@code scale} and {@code shift} ({@link #withAffine}): a {@code Mul} and an {@code Add} by scalar constants after the
 * activation (PP-OCR's learnable affine blocks) then cost no passes of their own. The tail multiplies, then adds, in
 * float, exactly as the two operators would; the convolution kernels apply it ({@link #affine}), the other kernels
 * refuse it.
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
    private final boolean affine;
    private final float scale;
    private final float shift;

    private Activation(final Kind kind, final float alpha, final float beta)
    {
        this(kind, alpha, beta, false, 1f, 0f);
    }

    private Activation(final Kind kind, final float alpha, final float beta, final boolean affine, final float scale,
        final float shift)
    {
        this.kind = kind;
        this.alpha = alpha;
        this.beta = beta;
        this.affine = affine;
        this.scale = scale;
        this.shift = shift;
    }

    /**
     * @param scale what {@code f(x)} is multiplied by (1 for no {@code Mul}).
     * @param shift what is then added (0 for no {@code Add}).
     * @return this activation followed by {@code * scale + shift}.
     * @throws IllegalArgumentException if this one has a tail already, or a parameter is not finite.
     */
    public Activation withAffine(final float scale, final float shift)
    {
        if (affine)
        {
            throw new IllegalArgumentException("activation " + this + " has an affine tail already");
        }
        if (!Float.isFinite(scale) || !Float.isFinite(shift))
        {
            throw new IllegalArgumentException("affine tail * " + scale + " + " + shift + " is not finite");
        }
        return new Activation(kind, alpha, beta, true, scale, shift);
    }

    /** @return whether {@code f} ends in {@code * scale + shift}. */
    public boolean hasAffine()
    {
        return affine;
    }

    public float scale()
    {
        return scale;
    }

    public float shift()
    {
        return shift;
    }

    /**
     * Applies the affine tail to {@code x[0, length)} in place (nothing without one): for kernels that apply
     * {@link #applyCore} or a written-out activation first.
     */
    void affine(final float[] x, final int length)
    {
        if (!affine)
        {
            return;
        }
        final float s = scale;
        final float t = shift;
        for (int i = 0; i < length; i++)
        {
            x[i] = x[i] * s + t;
        }
    }

    /** @throws IllegalArgumentException naming {@code kernel} if this activation has an affine tail. */
    Activation withoutAffine(final String kernel)
    {
        if (affine)
        {
            throw new IllegalArgumentException(kernel + " does not apply an affine tail (" + this + ")");
        }
        return this;
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
        return kind == Kind.NONE && !affine;
    }

    /** @return {@code f(x)}, its affine tail included. */
    public float apply(final float x)
    {
        return affine ? applyCore(x) * scale + shift : applyCore(x);
    }

    /** @return {@code f(x)} without the affine tail. */
    float applyCore(final float x)
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
        if (isIdentity())
        {
            return;
        }
        region.checkRange(offset, count);
        final java.nio.FloatBuffer f = region.floats();
        final int end = offset + count;
        if (affine)
        {
            for (int i = offset; i < end; i++)
            {
                f.put(i, apply(f.get(i)));
            }
            return;
        }
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
        final String f = kind == Kind.NONE ? "none" : kind.name().toLowerCase() + (alpha != 0f || beta != 0f ?
            "(" + alpha + ", " + beta + ")" : "");
        return affine ? f + " * " + scale + " + " + shift : f;
    }
}
