package org.coedge.engine.io;

import java.util.Arrays;

/**
 * A named float32 tensor on the Java heap, row-major with ONNX dims: what {@link TensorFiles} reads and writes, and
 * what a caller hands to or gets from the engine at its edges (model inputs, outputs, reference results).
 * Immutable: the constructor and the accessors copy, so it may be shared between threads.
 */
public final class HostTensor
{
    private final String name;
    private final long[] dims;
    private final float[] data;

    /**
     * @param name a name, possibly empty; never null.
     * @param dims the shape; every dimension >= 0, rank 0 for a scalar.
     * @param data the values, row-major; as many as the dims' product.
     * @throws IllegalArgumentException if the data length does not match the shape.
     */
    public HostTensor(final String name, final long[] dims, final float[] data)
    {
        if (name == null)
        {
            throw new IllegalArgumentException("tensor name must not be null, use \"\" for none");
        }
        final long count = elementCount(dims);
        if (count != data.length)
        {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(dims) + " needs " +
                count + " elements, given " + data.length);
        }
        this.name = name;
        this.dims = dims.clone();
        this.data = data.clone();
    }

    /**
     * @param dims a shape.
     * @return the product of the dims (1 for a scalar).
     * @throws IllegalArgumentException if a dimension is negative or the product overflows a long.
     */
    public static long elementCount(final long[] dims)
    {
        long count = 1;
        for (final long d : dims)
        {
            if (d < 0)
            {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(dims));
            }
            count = Math.multiplyExact(count, d);
        }
        return count;
    }

    public String name()
    {
        return name;
    }

    /** @return a copy of the shape. */
    public long[] dims()
    {
        return dims.clone();
    }

    public int rank()
    {
        return dims.length;
    }

    /** @return the number of elements. */
    public int size()
    {
        return data.length;
    }

    /** @return element {@code index} in row-major order. */
    public float get(final int index)
    {
        return data[index];
    }

    /** @return a copy of the values, row-major. */
    public float[] data()
    {
        return data.clone();
    }

    /** @return a tensor with the same shape and values under another name. */
    public HostTensor withName(final String newName)
    {
        return new HostTensor(newName, dims, data);
    }

    @Override
    public boolean equals(final Object other)
    {
        if (this == other)
        {
            return true;
        }
        if (!(other instanceof HostTensor))
        {
            return false;
        }
        final HostTensor that = (HostTensor)other;
        return name.equals(that.name) && Arrays.equals(dims, that.dims) && Arrays.equals(data, that.data);
    }

    @Override
    public int hashCode()
    {
        return 31 * (31 * name.hashCode() + Arrays.hashCode(dims)) + Arrays.hashCode(data);
    }

    @Override
    public String toString()
    {
        return "HostTensor{name='" + name + "', dims=" + Arrays.toString(dims) + "}";
    }
}
