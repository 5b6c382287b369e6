package org.coedge.engine.graph;

import java.util.Arrays;

/**
 * A constant tensor known at load time: an initializer, a {@code Constant} node's value, or a folded shape
 * computation. Floating data is held as {@code float[]}, integer data (int64, int32, bool ...) as {@code long[]};
 * exactly one of the two is non-null. Dims follow ONNX (NCHW for maps). Immutable by convention; cold path only.
 */
public final class ConstTensor
{
    private final long[] dims;
    private final float[] floats;
    private final long[] longs;

    private ConstTensor(final long[] dims, final float[] floats, final long[] longs)
    {
        final long count = elementCount(dims);
        final int have = floats != null ? floats.length : longs.length;
        if (count != have)
        {
            throw new IllegalArgumentException(
                "tensor of shape " + Arrays.toString(dims) + " needs " + count + " elements, has " + have);
        }
        this.dims = dims.clone();
        this.floats = floats;
        this.longs = longs;
    }

    public static ConstTensor ofFloats(final long[] dims, final float[] data)
    {
        return new ConstTensor(dims, data, null);
    }

    public static ConstTensor ofLongs(final long[] dims, final long[] data)
    {
        return new ConstTensor(dims, null, data);
    }

    /** @return product of dims (1 for a scalar). */
    public static long elementCount(final long[] dims)
    {
        long n = 1;
        for (final long d : dims)
        {
            if (d < 0)
            {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
            n *= d;
        }
        return n;
    }

    public long[] dims()
    {
        return dims.clone();
    }

    public int rank()
    {
        return dims.length;
    }

    public boolean isFloat()
    {
        return floats != null;
    }

    public int size()
    {
        return floats != null ? floats.length : longs.length;
    }

    /** @return the data as floats (integers converted); the returned array may be the tensor's own: do not modify. */
    public float[] floats()
    {
        if (floats != null)
        {
            return floats;
        }
        final float[] out = new float[longs.length];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = longs[i];
        }
        return out;
    }

    /** @return the data as longs (floats truncated); the returned array may be the tensor's own: do not modify. */
    public long[] longs()
    {
        if (longs != null)
        {
            return longs;
        }
        final long[] out = new long[floats.length];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = (long)floats[i];
        }
        return out;
    }

    @Override
    public String toString()
    {
        return (isFloat() ? "float" : "int") + Arrays.toString(dims);
    }
}
