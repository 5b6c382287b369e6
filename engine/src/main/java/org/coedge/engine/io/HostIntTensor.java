package org.coedge.engine.io;

import java.util.Arrays;

/**
 * A named int64 tensor on the Java heap, row-major with ONNX dims: what {@link TensorFiles#readIntegers} reads for a
 * model input of an integer type (a sample rate, a shape, a size), which the engine folds into its shape arithmetic
 * rather than computing on. Immutable: the constructor and the accessors copy, so it may be shared between threads.
 */
public final class HostIntTensor
{
    private final String name;
    private final long[] dims;
    private final long[] data;

    /**
     * @param name a name, possibly empty; never null.
     * @param dims the shape; every dimension >= 0, rank 0 for a scalar.
     * @param data the values, row-major; as many as the dims' product.
     * @throws IllegalArgumentException if the data length does not match the shape.
     */
    public HostIntTensor(final String name, final long[] dims, final long[] data)
    {
        if (name == null)
        {
            throw new IllegalArgumentException("tensor name must not be null, use \"\" for none");
        }
        final long count = HostTensor.elementCount(dims);
        if (count != data.length)
        {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + Arrays.toString(dims) + " needs " +
                count + " elements, given " + data.length);
        }
        this.name = name;
        this.dims = dims.clone();
        this.data = data.clone();
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

    /** @return a copy of the values, row-major. */
    public long[] data()
    {
        return data.clone();
    }

    @Override
    public String toString()
    {
        return "HostIntTensor{name='" + name + "', dims=" + Arrays.toString(dims) + ", data=" +
            (data.length <= 8 ? Arrays.toString(data) : data.length + " values") + "}";
    }
}
