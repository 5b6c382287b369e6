package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX Add, Sub, Mul and Div of two NHWC operands with broadcasting, and an optional fused activation on the result.
 * <p>
 * Each of an operand's height, width and channels is either the output's or 1, so the shapes covered are map and map
 * (residual connections), map and {@code 1 x 1 x C} (per-channel scale or shift), map and {@code 1 x 1 x 1} (scalar),
 * in either order, and the mixed cases ({@code H x W x 1}, {@code 1 x W x C}, ...). A constant operand is a
 * {@link MapView} over a constant region; an operand of height 1 is read at its row 0 for every output row. Rows of
 * a full-height operand line up with output rows, so no halo is needed.
 * <p>
 * The output may be either operand when that operand has the output's shape (same memory, element for element): a
 * tile of both operands is staged in heap arrays before the tile is written. The staging is what makes the arithmetic
 * and the fused activation loops vectorize on JDK 17, which leaves loops over direct buffers scalar.
 * <p>
 * Immutable; the staging arrays are per thread, so the engine calls one instance from several threads at once on
 * disjoint output row ranges.
 */
public final class Elementwise
{
    /** Floats staged at a time per operand. */
    private static final int TILE_FLOATS = 4096;

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    /** The binary operator, {@code a op b}. */
    public enum Op
    {
        ADD,
        SUB,
        MUL,
        DIV
    }

    private final Op op;
    private final Activation activation;
    private final boolean plusA;

    public Elementwise(final Op op, final Activation activation)
    {
        this(op, activation, false);
    }

    /**
     * @param plusA true for {@code out = f(a * b + a)} (op {@link Op#MUL} only, {@code a} of the output's shape): a
     *              {@code Mul} and the {@code Add} of its result to its own map operand (the residual of a squeeze
     *              and excitation block) in one pass, multiplied and added in float as the two operators would.
     */
    public Elementwise(final Op op, final Activation activation, final boolean plusA)
    {
        if (op == null || activation == null)
        {
            throw new IllegalArgumentException("elementwise op and activation are required");
        }
        if (plusA && op != Op.MUL)
        {
            throw new IllegalArgumentException("only MUL adds its operand A after it, not " + op);
        }
        this.op = op;
        this.activation = activation;
        this.plusA = plusA;
    }

    /** {@code a op b} with no activation. */
    public static Elementwise of(final Op op)
    {
        return new Elementwise(op, Activation.NONE);
    }

    public Op op()
    {
        return op;
    }

    public Activation activation()
    {
        return activation;
    }

    /**
     * Computes output rows {@code [h0, h1)}: {@code out = f(a op b)} with broadcasting.
     *
     * @param a   left operand; holds rows {@code [h0, h1)}, or row 0 when its height is 1.
     * @param b   right operand; same rule.
     * @param out output map, the broadcast shape of {@code a} and {@code b}; holds rows {@code [h0, h1)}.
     * @throws IllegalArgumentException if the shapes do not broadcast to {@code out}, a row is not held, or the output
     *                                  overlaps an operand it does not alias element for element.
     */
    public void forward(final MapView a, final MapView b, final MapView out, final int h0, final int h1)
    {
        final String name = op.name();
        checkBroadcast(name, a, b, out);
        OpsChecks.checkOutputRows(name, out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        checkOperand(name, "A", a, out, h0, h1);
        checkOperand(name, "B", b, out, h0, h1);
        if (plusA && (a.height() != out.height() || a.width() != out.width() || a.channels() != out.channels()))
        {
            throw new IllegalArgumentException(name + "+A: operand A must have the output's shape " + out.height() +
                "x" + out.width() + "x" + out.channels() + ", has " + a.height() + "x" + a.width() + "x" + a.channels());
        }

        final int outW = out.width();
        final int outC = out.channels();
        final FloatBuffer fo = out.region().floats();
        final int tilePixels = Math.max(1, TILE_FLOATS / outC);
        final Staging staging = STAGING.get().ensure(tilePixels * outC, Math.max(a.channels(), b.channels()));
        final float[] x = staging.a;
        final float[] y = staging.b;
        for (int oh = h0; oh < h1; oh++)
        {
            final int aRow = a.rowOffset(a.height() == 1 ? 0 : oh);
            final int bRow = b.rowOffset(b.height() == 1 ? 0 : oh);
            final int oRow = out.rowOffset(oh);
            for (int x0 = 0; x0 < outW; x0 += tilePixels)
            {
                final int pixels = Math.min(tilePixels, outW - x0);
                final int length = pixels * outC;
                stage(a, aRow, x0, pixels, outW, outC, x, staging.vector);
                stage(b, bRow, x0, pixels, outW, outC, y, staging.vector);
                combine(x, y, length);
                Staged.activate(activation, x, length);
                fo.put(oRow + x0 * outC, x, 0, length);
            }
        }
    }

    /**
     * Copies the operand's values for output pixels {@code [x0, x0 + pixels)} of one row into {@code dst}, laid out
     * as the output (pixel after pixel, {@code outC} floats each), repeating broadcast values.
     */
    private static void stage(
        final MapView operand, final int rowOffset, final int x0, final int pixels, final int outW, final int outC,
        final float[] dst, final float[] vector)
    {
        final FloatBuffer src = operand.region().floats();
        final int length = pixels * outC;
        if (operand.width() == outW && operand.channels() == outC)
        {
            src.get(rowOffset + x0 * outC, dst, 0, length);
        }
        else if (operand.width() == 1 && operand.channels() == outC)
        {
            src.get(rowOffset, vector, 0, outC);
            for (int p = 0; p < pixels; p++)
            {
                System.arraycopy(vector, 0, dst, p * outC, outC);
            }
        }
        else if (operand.channels() == 1 && operand.width() == 1)
        {
            java.util.Arrays.fill(dst, 0, length, src.get(rowOffset));
        }
        else
        {
            // one value per pixel, broadcast over channels
            for (int p = 0; p < pixels; p++)
            {
                java.util.Arrays.fill(dst, p * outC, (p + 1) * outC, src.get(rowOffset + x0 + p));
            }
        }
    }

    /** {@code x[i] = x[i] op y[i]} ({@code x[i] * y[i] + x[i]} with {@code plusA}). */
    private void combine(final float[] x, final float[] y, final int length)
    {
        if (plusA)
        {
            for (int i = 0; i < length; i++)
            {
                x[i] = x[i] * y[i] + x[i];
            }
            return;
        }
        switch (op)
        {
            case ADD:
                for (int i = 0; i < length; i++)
                {
                    x[i] += y[i];
                }
                break;
            case SUB:
                for (int i = 0; i < length; i++)
                {
                    x[i] -= y[i];
                }
                break;
            case MUL:
                for (int i = 0; i < length; i++)
                {
                    x[i] *= y[i];
                }
                break;
            default:
                for (int i = 0; i < length; i++)
                {
                    x[i] /= y[i];
                }
        }
    }

    /** One thread's staging arrays; grown when a layer needs more, never shrunk. */
    private static final class Staging
    {
        float[] a = new float[0];
        float[] b = new float[0];
        float[] vector = new float[0];

        Staging ensure(final int tileFloats, final int vectorFloats)
        {
            if (a.length < tileFloats)
            {
                a = new float[tileFloats];
                b = new float[tileFloats];
            }
            if (vector.length < vectorFloats)
            {
                vector = new float[vectorFloats];
            }
            return this;
        }
    }

    private static void checkBroadcast(final String name, final MapView a, final MapView b, final MapView out)
    {
        if (!broadcasts(a.height(), b.height(), out.height()) ||
            !broadcasts(a.width(), b.width(), out.width()) ||
            !broadcasts(a.channels(), b.channels(), out.channels()))
        {
            throw new IllegalArgumentException(name + ": operands " + shape(a) + " and " + shape(b) +
                " do not broadcast to output " + shape(out));
        }
    }

    private static boolean broadcasts(final int a, final int b, final int out)
    {
        return (a == out || a == 1) && (b == out || b == 1) && (a == out || b == out);
    }

    private static void checkOperand(
        final String name, final String which, final MapView operand, final MapView out, final int h0, final int h1)
    {
        if (operand.height() == 1)
        {
            OpsChecks.checkInputRows(name, which, operand, 0, 1);
        }
        else
        {
            OpsChecks.checkInputRows(name, which, operand, h0, h1);
        }
        if (operand.height() == out.height() && operand.width() == out.width() &&
            operand.channels() == out.channels())
        {
            OpsChecks.checkSameOrDisjoint(name, operand, out);
        }
        else
        {
            OpsChecks.checkDisjoint(name, operand, out);
        }
    }

    private static String shape(final MapView view)
    {
        return view.height() + "x" + view.width() + "x" + view.channels();
    }

    @Override
    public String toString()
    {
        return op.name() + (plusA ? "+A" : "") + (activation.isIdentity() ? "" : "+" + activation);
    }
}
