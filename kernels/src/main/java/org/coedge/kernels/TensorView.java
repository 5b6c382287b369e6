package org.coedge.kernels;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A borrowed view of a tensor of any rank (0 to 8) in a {@link FloatBuffer}: logical dims in ONNX order and, per dim,
 * the stride in floats between neighbours. One view describes a dense row-major tensor, an NHWC map read in NCHW
 * order, a transposed, sliced or broadcast (stride 0) tensor alike, so that the generic kernels ({@link TensorOps},
 * {@link TensorConv}) run on any layout without copies.
 * <p>
 * Views are derived ({@link #permuted}, {@link #broadcastTo}, ...) on the cold path; {@link #get} and {@link #set}
 * map a row-major flat index of the logical dims to memory, allocate nothing and check nothing beyond the buffer's
 * own bounds checks. Not thread-safe to re-point ({@link #bind}); reads and writes are.
 */
public final class TensorView
{
    private final int[] dims;
    private final int[] strides;
    private final int size;
    private FloatBuffer buffer;
    private int offset;

    /**
     * @param dims    logical dims, each at least 0.
     * @param strides floats between neighbours along each dim (may be 0 or negative).
     */
    public TensorView(final int[] dims, final int[] strides)
    {
        if (dims.length != strides.length || dims.length > 8)
        {
            throw new IllegalArgumentException("dims " + Arrays.toString(dims) + " and strides " +
                Arrays.toString(strides) + " must have the same rank, at most 8");
        }
        long n = 1;
        for (final int d : dims)
        {
            if (d < 0)
            {
                throw new IllegalArgumentException("negative dim in " + Arrays.toString(dims));
            }
            n *= d;
        }
        if (n > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("tensor " + Arrays.toString(dims) + " is too large");
        }
        this.dims = dims.clone();
        this.strides = strides.clone();
        this.size = (int)n;
    }

    /** @return a dense row-major view of {@code dims}. */
    public static TensorView rowMajor(final int... dims)
    {
        return new TensorView(dims, rowMajorStrides(dims));
    }

    /** @return the row-major strides of {@code dims}. */
    public static int[] rowMajorStrides(final int[] dims)
    {
        final int[] s = new int[dims.length];
        int stride = 1;
        for (int i = dims.length - 1; i >= 0; i--)
        {
            s[i] = stride;
            stride *= Math.max(1, dims[i]);
        }
        return s;
    }

    /**
     * Points the view at {@code buffer}, its element {@code [0, ..., 0]} at {@code offset}.
     *
     * @return this.
     * @throws IllegalArgumentException if an element the view reaches lies outside the buffer.
     */
    public TensorView bind(final FloatBuffer buffer, final int offset)
    {
        if (size > 0)
        {
            long lo = offset;
            long hi = offset;
            for (int i = 0; i < dims.length; i++)
            {
                final long span = (long)(dims[i] - 1) * strides[i];
                lo += Math.min(0, span);
                hi += Math.max(0, span);
            }
            if (lo < 0 || hi >= buffer.capacity())
            {
                throw new IllegalArgumentException("view " + this + " at " + offset + " reaches [" + lo + ", " + hi +
                    "] outside a buffer of " + buffer.capacity() + " floats");
            }
        }
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    public int rank()
    {
        return dims.length;
    }

    public int dim(final int i)
    {
        return dims[i];
    }

    public int stride(final int i)
    {
        return strides[i];
    }

    /** @return a copy of the dims. */
    public int[] dims()
    {
        return dims.clone();
    }

    /** @return the element count. */
    public int size()
    {
        return size;
    }

    public FloatBuffer buffer()
    {
        return buffer;
    }

    public int offset()
    {
        return offset;
    }

    /** @return the memory index of row-major flat index {@code flat}. */
    public int indexOf(final int flat)
    {
        int rest = flat;
        int at = offset;
        for (int i = dims.length - 1; i >= 0; i--)
        {
            final int d = dims[i];
            final int q = rest / d;
            at += (rest - q * d) * strides[i];
            rest = q;
        }
        return at;
    }

    public float get(final int flat)
    {
        return buffer.get(indexOf(flat));
    }

    public void set(final int flat, final float value)
    {
        buffer.put(indexOf(flat), value);
    }

    /** @return a view (same memory) whose dim {@code i} is this view's dim {@code perm[i]}. */
    public TensorView permuted(final int[] perm)
    {
        final int[] d = new int[perm.length];
        final int[] s = new int[perm.length];
        for (int i = 0; i < perm.length; i++)
        {
            d[i] = dims[perm[i]];
            s[i] = strides[perm[i]];
        }
        return new TensorView(d, s).rebind(this, 0);
    }

    /** @return this view numpy-broadcast to {@code target} (leading dims added, dims of 1 given stride 0). */
    public TensorView broadcastTo(final int[] target)
    {
        if (target.length < dims.length)
        {
            throw new IllegalArgumentException("cannot broadcast " + this + " to rank " + target.length);
        }
        final int lead = target.length - dims.length;
        final int[] s = new int[target.length];
        for (int i = 0; i < dims.length; i++)
        {
            if (dims[i] == target[lead + i])
            {
                s[lead + i] = strides[i];
            }
            else if (dims[i] != 1)
            {
                throw new IllegalArgumentException("cannot broadcast " + this + " to " + Arrays.toString(target));
            }
        }
        return new TensorView(target, s).rebind(this, 0);
    }

    /**
     * @return a view of {@code count} elements along {@code axis} starting at {@code start} with step {@code step}
     * (negative steps walk backwards).
     */
    public TensorView sliced(final int axis, final int start, final int count, final int step)
    {
        final int[] d = dims.clone();
        final int[] s = strides.clone();
        d[axis] = count;
        s[axis] = strides[axis] * step;
        return new TensorView(d, s).rebind(this, start * strides[axis]);
    }

    /** @return a view with {@code newDims}, which must hold the same elements, over a dense row-major tensor. */
    public TensorView reshaped(final int[] newDims)
    {
        if (!Arrays.equals(strides, rowMajorStrides(dims)))
        {
            throw new IllegalArgumentException("only a dense row-major view can be reshaped, not " + this);
        }
        final TensorView v = new TensorView(newDims, rowMajorStrides(newDims));
        if (v.size != size)
        {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newDims));
        }
        return v.rebind(this, 0);
    }

    /** @return a view with dim {@code axis} (of size {@code outer * inner}) split into {@code [outer, inner]}. */
    public TensorView splitDim(final int axis, final int outer)
    {
        if (outer < 1 || dims[axis] % outer != 0)
        {
            throw new IllegalArgumentException("cannot split dim " + axis + " of " + this + " into " + outer);
        }
        final int inner = dims[axis] / outer;
        final int[] d = new int[dims.length + 1];
        final int[] s = new int[dims.length + 1];
        for (int i = 0, j = 0; i < dims.length; i++, j++)
        {
            if (i == axis)
            {
                d[j] = outer;
                s[j] = strides[i] * inner;
                j++;
                d[j] = inner;
                s[j] = strides[i];
            }
            else
            {
                d[j] = dims[i];
                s[j] = strides[i];
            }
        }
        return new TensorView(d, s).rebind(this, 0);
    }

    /** @return a view with a dim of 1 inserted before dim {@code axis} (0..rank). */
    public TensorView unsqueezed(final int axis)
    {
        final int[] d = new int[dims.length + 1];
        final int[] s = new int[dims.length + 1];
        for (int i = 0, j = 0; j < d.length; j++)
        {
            if (j == axis)
            {
                d[j] = 1;
                s[j] = 0;
            }
            else
            {
                d[j] = dims[i];
                s[j] = strides[i];
                i++;
            }
        }
        return new TensorView(d, s).rebind(this, 0);
    }

    /** @return this dense view with new dims of the same count (alias of {@link #reshaped}). */
    public TensorView reshapedDims(final int[] newDims)
    {
        return reshaped(newDims);
    }

    private TensorView rebind(final TensorView base, final int delta)
    {
        if (base.buffer != null)
        {
            bind(base.buffer, base.offset + delta);
        }
        else
        {
            offset = base.offset + delta;
        }
        return this;
    }

    @Override
    public String toString()
    {
        return "dims " + Arrays.toString(dims) + " strides " + Arrays.toString(strides);
    }
}
