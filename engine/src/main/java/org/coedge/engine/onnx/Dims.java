package org.coedge.engine.onnx;

import java.util.Arrays;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Arithmetic on static dims shared by shape inference, constant folding and the optimizer: numpy broadcasting,
 * axis normalization, and the reshape family (Reshape, Flatten, Squeeze, Unsqueeze). Stateless; cold path only.
 */
final class Dims
{
    private Dims()
    {
    }

    static String str(final long[] dims)
    {
        return Arrays.toString(dims);
    }

    static long count(final long[] dims)
    {
        return ConstTensor.elementCount(dims);
    }

    /** @return the multidirectional (numpy) broadcast of {@code a} and {@code b}, or null if they do not broadcast. */
    static long[] broadcast(final long[] a, final long[] b)
    {
        final int rank = Math.max(a.length, b.length);
        final long[] out = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            final long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            final long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da == db || db == 1)
            {
                out[i] = da;
            }
            else if (da == 1)
            {
                out[i] = db;
            }
            else
            {
                return null;
            }
        }
        return out;
    }

    /** @return whether {@code from} broadcasts to exactly {@code to} (unidirectional broadcasting). */
    static boolean broadcastsTo(final long[] from, final long[] to)
    {
        final long[] b = broadcast(to, from);
        return b != null && Arrays.equals(b, to);
    }

    /** @return row-major strides of {@code dims} aligned right to {@code rank}, 0 where a dim is broadcast (1). */
    static long[] broadcastStrides(final long[] dims, final int rank)
    {
        final long[] strides = new long[rank];
        long s = 1;
        for (int i = dims.length - 1; i >= 0; i--)
        {
            final int at = i + rank - dims.length;
            strides[at] = dims[i] == 1 ? 0 : s;
            s *= dims[i];
        }
        return strides;
    }

    /** @return the flat index into a tensor with {@code strides} of output element {@code flat} of {@code outDims}. */
    static long sourceIndex(final long flat, final long[] outDims, final long[] strides)
    {
        long rest = flat;
        long at = 0;
        for (int i = outDims.length - 1; i >= 0; i--)
        {
            final long coordinate = rest % outDims[i];
            rest /= outDims[i];
            at += coordinate * strides[i];
        }
        return at;
    }

    /** @return {@code axis} made non-negative for a tensor of {@code rank}, or throws naming the node. */
    static int axis(final Node node, final long axis, final int rank)
    {
        final long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw ModelException.at(node, "axis " + axis + " is out of range for rank " + rank);
        }
        return (int)a;
    }

    /**
     * Resolves a Reshape target: 0 copies the input dim (unless {@code allowZero}), -1 is inferred.
     *
     * @return the output dims, with no 0 (unless allowed) and no -1.
     */
    static long[] reshape(final Node node, final long[] in, final long[] target, final boolean allowZero)
    {
        final long[] out = target.clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++)
        {
            if (out[i] == 0 && !allowZero)
            {
                if (i >= in.length)
                {
                    throw ModelException.at(node, "shape " + str(target) + " copies dim " + i + " of input " +
                        str(in) + ", which has no such dim");
                }
                out[i] = in[i];
            }
            if (out[i] == -1)
            {
                if (inferred >= 0)
                {
                    throw ModelException.at(node, "shape " + str(target) + " has more than one -1");
                }
                inferred = i;
            }
            else if (out[i] < 0)
            {
                throw ModelException.at(node, "shape " + str(target) + " has a negative dim");
            }
            else
            {
                known *= out[i];
            }
        }
        final long total = count(in);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw ModelException.at(node, "cannot reshape " + str(in) + " to " + str(target));
            }
            out[inferred] = total / known;
        }
        else if (known != total)
        {
            throw ModelException.at(node, "cannot reshape " + str(in) + " (" + total + " elements) to " +
                str(target) + " (" + known + " elements)");
        }
        return out;
    }

    static long[] flatten(final Node node, final long[] in, final long axis)
    {
        final int a = axis == in.length ? in.length : axis(node, axis, in.length);
        long outer = 1;
        long inner = 1;
        for (int i = 0; i < in.length; i++)
        {
            if (i < a)
            {
                outer *= in[i];
            }
            else
            {
                inner *= in[i];
            }
        }
        return new long[]{outer, inner};
    }

    /** @param axes the axes to remove, or null to remove every dim of size 1. */
    static long[] squeeze(final Node node, final long[] in, final long[] axes)
    {
        final boolean[] drop = new boolean[in.length];
        if (axes == null)
        {
            for (int i = 0; i < in.length; i++)
            {
                drop[i] = in[i] == 1;
            }
        }
        else
        {
            for (final long axis : axes)
            {
                final int a = axis(node, axis, in.length);
                if (in[a] != 1)
                {
                    throw ModelException.at(node, "cannot squeeze axis " + axis + " of " + str(in) + ": it is not 1");
                }
                drop[a] = true;
            }
        }
        int kept = 0;
        for (final boolean d : drop)
        {
            kept += d ? 0 : 1;
        }
        final long[] out = new long[kept];
        int j = 0;
        for (int i = 0; i < in.length; i++)
        {
            if (!drop[i])
            {
                out[j++] = in[i];
            }
        }
        return out;
    }

    static long[] unsqueeze(final Node node, final long[] in, final long[] axes)
    {
        final int rank = in.length + axes.length;
        final boolean[] inserted = new boolean[rank];
        for (final long axis : axes)
        {
            final int a = axis(node, axis, rank);
            if (inserted[a])
            {
                throw ModelException.at(node, "axis " + axis + " is repeated in " + Arrays.toString(axes));
            }
            inserted[a] = true;
        }
        final long[] out = new long[rank];
        int j = 0;
        for (int i = 0; i < rank; i++)
        {
            out[i] = inserted[i] ? 1 : in[j++];
        }
        return out;
    }
}
