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
 * The output may be either operand when that operand has the output's shape (same memory, element for element).
 * <p>
 * Immutable; the engine calls one instance from several threads at once on disjoint output row ranges.
 */
public final class Elementwise
{
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

    public Elementwise(final Op op, final Activation activation)
    {
        if (op == null || activation == null)
        {
            throw new IllegalArgumentException("elementwise op and activation are required");
        }
        this.op = op;
        this.activation = activation;
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

        final int outW = out.width();
        final int outC = out.channels();
        final int rowFloats = outW * outC;
        final FloatBuffer fa = a.region().floats();
        final FloatBuffer fb = b.region().floats();
        final FloatBuffer fo = out.region().floats();
        final boolean aFull = a.width() == outW && a.channels() == outC;
        final boolean bFull = b.width() == outW && b.channels() == outC;
        final boolean aScalar = a.width() == 1 && a.channels() == 1;
        final boolean bScalar = b.width() == 1 && b.channels() == 1;
        final int aPixelStep = a.width() == 1 ? 0 : a.channels();
        final int bPixelStep = b.width() == 1 ? 0 : b.channels();
        final int aChannelStep = a.channels() == 1 ? 0 : 1;
        final int bChannelStep = b.channels() == 1 ? 0 : 1;
        for (int oh = h0; oh < h1; oh++)
        {
            final int aRow = a.rowOffset(a.height() == 1 ? 0 : oh);
            final int bRow = b.rowOffset(b.height() == 1 ? 0 : oh);
            final int oRow = out.rowOffset(oh);
            if ((aFull || aScalar) && (bFull || bScalar))
            {
                line(fa, aRow, aFull ? 1 : 0, fb, bRow, bFull ? 1 : 0, fo, oRow, rowFloats);
            }
            else
            {
                for (int w = 0; w < outW; w++)
                {
                    line(fa, aRow + w * aPixelStep, aChannelStep, fb, bRow + w * bPixelStep, bChannelStep,
                        fo, oRow + w * outC, outC);
                }
            }
            if (!activation.isIdentity())
            {
                activation.applyInPlace(out.region(), oRow, rowFloats);
            }
        }
    }

    /**
     * {@code o[i] = a[i * aStep] op b[i * bStep]} for {@code i < count}, steps 0 (broadcast value) or 1; the
     * all-contiguous case, which covers map op map and map op per-channel vector, gets its own plain loops.
     */
    private void line(
        final FloatBuffer a, final int aOffset, final int aStep,
        final FloatBuffer b, final int bOffset, final int bStep,
        final FloatBuffer o, final int oOffset, final int count)
    {
        if (aStep == 1 && bStep == 1)
        {
            switch (op)
            {
                case ADD:
                    for (int i = 0; i < count; i++)
                    {
                        o.put(oOffset + i, a.get(aOffset + i) + b.get(bOffset + i));
                    }
                    break;
                case SUB:
                    for (int i = 0; i < count; i++)
                    {
                        o.put(oOffset + i, a.get(aOffset + i) - b.get(bOffset + i));
                    }
                    break;
                case MUL:
                    for (int i = 0; i < count; i++)
                    {
                        o.put(oOffset + i, a.get(aOffset + i) * b.get(bOffset + i));
                    }
                    break;
                default:
                    for (int i = 0; i < count; i++)
                    {
                        o.put(oOffset + i, a.get(aOffset + i) / b.get(bOffset + i));
                    }
            }
            return;
        }
        switch (op)
        {
            case ADD:
                for (int i = 0; i < count; i++)
                {
                    o.put(oOffset + i, a.get(aOffset + i * aStep) + b.get(bOffset + i * bStep));
                }
                break;
            case SUB:
                for (int i = 0; i < count; i++)
                {
                    o.put(oOffset + i, a.get(aOffset + i * aStep) - b.get(bOffset + i * bStep));
                }
                break;
            case MUL:
                for (int i = 0; i < count; i++)
                {
                    o.put(oOffset + i, a.get(aOffset + i * aStep) * b.get(bOffset + i * bStep));
                }
                break;
            default:
                for (int i = 0; i < count; i++)
                {
                    o.put(oOffset + i, a.get(aOffset + i * aStep) / b.get(bOffset + i * bStep));
                }
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
        return op.name() + (activation.isIdentity() ? "" : "+" + activation);
    }
}
