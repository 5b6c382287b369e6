package org.coedge.engine.api;

import java.nio.FloatBuffer;
import java.util.Arrays;

import org.coedge.engine.exec.Layouts;
import org.coedge.engine.exec.LocalExecutor;
import org.coedge.engine.exec.MapShape;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.Value;
import org.coedge.kernels.Blas;

/**
 * A prepared model bound to its own arena and threads, ready to run many times. Inputs and outputs are exchanged in
 * the model's NCHW layout; {@link #setInput}, {@link #run} and {@link #outputInto} allocate nothing. A multi-exit
 * model serves each request up to the exit it chooses with {@link #runFor}, on the same weights and arena. One caller
 * thread at a time. Close it to stop its threads and free its memory at once: the session owns the model it prepared
 * (weights) and its executor (arena, scratch); both are released off-heap on {@link #close()}, after which every run
 * throws {@link IllegalStateException}.
 */
public final class Session implements AutoCloseable
{
    private final PreparedModel model;
    private final LocalExecutor executor;
    private final int[][] outputPrograms; // per output: the layers it needs (PreparedModel.layersFor)

    Session(final PreparedModel model, final int threads)
    {
        this.model = model;
        // Row splitting gives the parallelism: OpenBLAS running threads of its own would oversubscribe the cores.
        Blas.setThreads(1);
        try
        {
            this.executor = new LocalExecutor(model, threads);
        }
        catch (final RuntimeException | Error e)
        {
            model.close();
            throw e;
        }
        this.outputPrograms = new int[model.outputs().size()][];
        for (int i = 0; i < outputPrograms.length; i++)
        {
            outputPrograms[i] = model.layersFor(i);
        }
    }

    public PreparedModel prepared()
    {
        return model;
    }

    public int inputCount()
    {
        return model.inputs().size();
    }

    public int outputCount()
    {
        return model.outputs().size();
    }

    public String inputName(final int index)
    {
        return model.inputs().get(index).name();
    }

    public String outputName(final int index)
    {
        return model.outputs().get(index).name();
    }

    public long[] inputDims(final int index)
    {
        return model.inputDims(index);
    }

    public long[] outputDims(final int index)
    {
        return model.outputDims(index);
    }

    /** @return the number of floats of input {@code index}. */
    public int inputSize(final int index)
    {
        return model.inputs().get(index).shape().size();
    }

    /** @return the number of floats of output {@code index}. */
    public int outputSize(final int index)
    {
        return model.outputs().get(index).shape().size();
    }

    /**
     * Copies input {@code index} in (NCHW).
     *
     * @throws IllegalArgumentException if {@code nchw} does not hold exactly the input's element count.
     * @throws IllegalStateException    if the session is closed.
     */
    public void setInput(final int index, final float[] nchw)
    {
        executor.checkOpen();
        final Value v = model.inputs().get(index);
        if (nchw.length != v.shape().size())
        {
            throw new IllegalArgumentException("input '" + v.name() + "' needs " + v.shape().size() +
                " floats for dims " + Arrays.toString(model.inputDims(index)) + ", got " + nchw.length);
        }
        Layouts.inputInto(v, nchw, executor.arena());
    }

    /** Runs the model once on the inputs set. */
    public void run()
    {
        executor.run();
    }

    /**
     * Runs the model once and adds each layer's wall time to {@code layerNanos} (one slot per layer of
     * {@link #prepared()}).
     */
    public void run(final long[] layerNanos)
    {
        executor.run(layerNanos);
    }

    /**
     * Runs only what output {@code outputIndex} needs, e.g. one exit of a multi-exit model: the layers it depends on
     * ({@link PreparedModel#layersFor}), on the same weights and arena as {@link #run()}. Afterwards only that output
     * is valid; the others hold whatever the arena holds. Allocates nothing.
     *
     * @throws IllegalArgumentException if there is no such output.
     */
    public void runFor(final int outputIndex)
    {
        executor.run(programFor(outputIndex));
    }

    /**
     * As {@link #runFor(int)}, adding each layer's wall time to {@code layerNanos} (one slot per layer of
     * {@link #prepared()}); the layers it does not run keep their slot as it was.
     */
    public void runFor(final int outputIndex, final long[] layerNanos)
    {
        executor.run(programFor(outputIndex), layerNanos);
    }

    /** @return how many layers {@link #runFor} runs for output {@code outputIndex}, of {@code prepared().layers()}. */
    public int layerCountFor(final int outputIndex)
    {
        return programFor(outputIndex).length;
    }

    /** @return the index of the output named {@code name}, or -1. */
    public int outputIndex(final String name)
    {
        for (int i = 0; i < model.outputs().size(); i++)
        {
            if (model.outputs().get(i).name().equals(name))
            {
                return i;
            }
        }
        return -1;
    }

    private int[] programFor(final int outputIndex)
    {
        if (outputIndex < 0 || outputIndex >= outputPrograms.length)
        {
            throw new IllegalArgumentException("no output " + outputIndex + ": the model has " +
                outputPrograms.length);
        }
        return outputPrograms[outputIndex];
    }

    /**
     * Copies output {@code index} out (NCHW) into {@code nchw}.
     *
     * @throws IllegalArgumentException if {@code nchw} does not hold exactly the output's element count.
     * @throws IllegalStateException    if the session is closed.
     */
    public void outputInto(final int index, final float[] nchw)
    {
        executor.checkOpen();
        final Value v = model.outputs().get(index);
        if (nchw.length != v.shape().size())
        {
            throw new IllegalArgumentException("output '" + v.name() + "' has " + v.shape().size() +
                " floats, array holds " + nchw.length);
        }
        Layouts.outputOf(v, executor.arena().floats(), nchw);
    }

    /** @return a new array with output {@code index} (NCHW); convenience, allocates. */
    public float[] output(final int index)
    {
        final float[] out = new float[outputSize(index)];
        outputInto(index, out);
        return out;
    }

    /**
     * @return the output's NHWC memory, read-only, for zero-copy consumers. The buffer may outlive the session, so
     * once one was handed out the session leaves its arena to the garbage collector rather than freeing it on close.
     */
    public FloatBuffer outputNhwc(final int index)
    {
        executor.checkOpen();
        final Value v = model.outputs().get(index);
        executor.keepArenaForViews();
        final MapShape s = v.shape();
        return executor.arena().floats().slice(v.offset(), s.size()).asReadOnlyBuffer();
    }

    /** Stops the threads and frees the arena, scratch and prepared weights; idempotent. */
    @Override
    public void close()
    {
        executor.close();
        model.close();
    }
}
