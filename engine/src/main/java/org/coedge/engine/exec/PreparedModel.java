package org.coedge.engine.exec;

import java.util.List;

/**
 * A model lowered for one set of input shapes: the layers in execution order with their kernels and transformed
 * weights, the runtime values with arena offsets planned, and the sizes an executor must allocate. Immutable once
 * built; shared by the executors (sessions) created from it, each with its own arena.
 */
public final class PreparedModel
{
    private final String name;
    private final List<Layer> layers;
    private final List<Value> inputs;
    private final List<long[]> inputDims;
    private final List<Value> outputs;
    private final List<long[]> outputDims;
    private final int arenaFloats;
    private final long arenaFloatsWithoutReuse;
    private final int scratchFloats;
    private final long weightBytes;

    PreparedModel(
        final String name, final List<Layer> layers, final List<Value> inputs, final List<long[]> inputDims,
        final List<Value> outputs, final List<long[]> outputDims, final int arenaFloats,
        final long arenaFloatsWithoutReuse, final int scratchFloats, final long weightBytes)
    {
        this.name = name;
        this.layers = List.copyOf(layers);
        this.inputs = List.copyOf(inputs);
        this.inputDims = List.copyOf(inputDims);
        this.outputs = List.copyOf(outputs);
        this.outputDims = List.copyOf(outputDims);
        this.arenaFloats = arenaFloats;
        this.arenaFloatsWithoutReuse = arenaFloatsWithoutReuse;
        this.scratchFloats = scratchFloats;
        this.weightBytes = weightBytes;
    }

    public String name()
    {
        return name;
    }

    public List<Layer> layers()
    {
        return layers;
    }

    public List<Value> inputs()
    {
        return inputs;
    }

    /** @return the model's NCHW dims of input {@code i}. */
    public long[] inputDims(final int i)
    {
        return inputDims.get(i).clone();
    }

    public List<Value> outputs()
    {
        return outputs;
    }

    /** @return the model's NCHW dims of output {@code i}. */
    public long[] outputDims(final int i)
    {
        return outputDims.get(i).clone();
    }

    /** @return floats of activation memory one executor needs (after liveness reuse). */
    public int arenaFloats()
    {
        return arenaFloats;
    }

    /** @return what the activations would take with one buffer each. */
    public long arenaFloatsWithoutReuse()
    {
        return arenaFloatsWithoutReuse;
    }

    /** @return floats of scratch per thread. */
    public int scratchFloats()
    {
        return scratchFloats;
    }

    /** @return bytes of prepared weights and constants held off-heap or on-heap by the layers. */
    public long weightBytes()
    {
        return weightBytes;
    }

    /** @return total floating-point operations of one inference. */
    public long flops()
    {
        long sum = 0;
        for (final Layer l : layers)
        {
            sum += l.flops();
        }
        return sum;
    }
}
