package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.RegionOwner;

/**
 * A model lowered for one set of input shapes: the layers in execution order with their kernels and transformed
 * weights, the runtime values with arena offsets planned, and the sizes an executor must allocate. Immutable once
 * built; shared by the executors (sessions) created from it, each with its own arena.
 * <p>
 * It owns the off-heap memory of its weights and constants ({@link RegionOwner}); whoever prepared it closes it once
 * no executor runs on it any more, which frees that memory at once. An executor refuses to run a closed model
 * ({@link LocalExecutor#run()}), so nothing reads the freed memory. Nothing else holds a region of it: each
 * preparation packs its own copy.
 */
public final class PreparedModel implements AutoCloseable
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
    private final int[][] outputLayers; // per output: indices into layers of what it depends on, in order
    private final RegionOwner memory;
    private volatile boolean closed;

    PreparedModel(
        final String name, final List<Layer> layers, final List<Value> inputs, final List<long[]> inputDims,
        final List<Value> outputs, final List<long[]> outputDims, final int arenaFloats,
        final long arenaFloatsWithoutReuse, final int scratchFloats, final long weightBytes,
        final RegionOwner memory)
    {
        this.memory = memory;
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
        this.outputLayers = new int[this.outputs.size()][];
        for (int i = 0; i < outputLayers.length; i++)
        {
            outputLayers[i] = ancestors(this.layers, this.outputs.get(i));
        }
    }

    /**
     * The part of the program one output needs, e.g. one exit of a multi-exit model: the layers its value depends on,
     * through the values each reads. Running only these, in this order, over the arena planned for the whole program
     * computes that output as the whole program would (a subset of the layers writes a subset of the values, so no
     * value a kept layer reads is overwritten before it is read). What the other outputs hold afterwards is undefined.
     *
     * @return indices into {@link #layers()}, ascending (a new array).
     */
    public int[] layersFor(final int outputIndex)
    {
        if (outputIndex < 0 || outputIndex >= outputLayers.length)
        {
            throw new IllegalArgumentException("no output " + outputIndex + ": the model has " +
                outputLayers.length);
        }
        return outputLayers[outputIndex].clone();
    }

    /**
     * Walks back from {@code output}: a layer is kept if it writes the storage of a value a kept layer (or the output)
     * reads; every earlier writer of that storage is kept, so aliases and layers writing in place stay correct.
     */
    private static int[] ancestors(final List<Layer> layers, final Value output)
    {
        final java.util.Set<Value.Storage> needed =
            java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        needed.add(output.storage());
        final boolean[] keep = new boolean[layers.size()];
        int count = 0;
        for (int i = layers.size() - 1; i >= 0; i--)
        {
            final Layer layer = layers.get(i);
            if (needed.contains(layer.output().storage()))
            {
                keep[i] = true;
                count++;
                for (final Value in : layer.inputs())
                {
                    needed.add(in.storage());
                }
            }
        }
        final int[] indices = new int[count];
        for (int i = 0, j = 0; i < keep.length; i++)
        {
            if (keep[i])
            {
                indices[j++] = i;
            }
        }
        return indices;
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

    /** @return bytes of off-heap memory this model's weights and constants hold now (0 once closed). */
    public long offHeapBytes()
    {
        return memory.allocatedBytes();
    }

    /** @return true once {@link #close()} freed the weights: no executor may run the model any more. */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * Frees the off-heap memory of the weights and constants now; idempotent. Call it only when no executor runs on
     * the model (they are cold-checked: a later run throws {@link IllegalStateException}).
     */
    @Override
    public void close()
    {
        closed = true;
        memory.close();
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
