package org.coedge.engine.exec;

import org.coedge.kernels.Blas;
import org.coedge.kernels.FloatRegion;

/**
 * Runs a {@link PreparedModel} on this machine: owns the arena (all activations), one scratch region per thread and
 * the worker pool; each layer's units are split evenly over the threads. One caller thread at a time. After
 * construction, {@link #run()} allocates nothing.
 */
public final class LocalExecutor implements AutoCloseable
{
    private final PreparedModel model;
    private final FloatRegion arena;
    private final FloatRegion[] scratch;
    private final WorkerPool pool;
    private final WorkerPool.Task layerTask = this::runPart;
    private final Layer[] layers; // an array, not the list: iterating a list allocates an iterator per run
    private Layer current;

    public LocalExecutor(final PreparedModel model, final int threads)
    {
        // each of the executor's threads (and each simulated device) calls OpenBLAS single-threaded: OpenBLAS's
        // own pool would put more busy threads than cores on the machine
        Blas.setThreads(1);
        this.model = model;
        this.arena = FloatRegion.allocate(Math.max(1, model.arenaFloats()));
        this.scratch = new FloatRegion[threads];
        for (int i = 0; i < threads; i++)
        {
            scratch[i] = FloatRegion.allocate(Math.max(1, model.scratchFloats()));
        }
        this.layers = model.layers().toArray(new Layer[0]);
        for (final Layer layer : layers)
        {
            layer.bindTo(this, arena);
        }
        this.pool = new WorkerPool(threads, "coedge-worker");
    }

    public PreparedModel model()
    {
        return model;
    }

    /** @return the arena holding every activation, inputs and outputs included. */
    public FloatRegion arena()
    {
        return arena;
    }

    public int threads()
    {
        return pool.threads();
    }

    /** Runs every layer in order; inputs must already be in the arena. */
    public void run()
    {
        for (final Layer layer : layers)
        {
            current = layer;
            pool.run(layerTask);
        }
        current = null;
    }

    /**
     * Runs only the layers {@code program} lists, in that order (an output's part of the model,
     * {@link PreparedModel#layersFor}); allocates nothing.
     *
     * @param program ascending indices into the model's layers, checked by the caller once when it made them.
     */
    public void run(final int[] program)
    {
        for (final int i : program)
        {
            current = layers[i];
            pool.run(layerTask);
        }
        current = null;
    }

    /** As {@link #run(int[])}, adding each run layer's wall time to {@code layerNanos[i]} (one slot per layer). */
    public void run(final int[] program, final long[] layerNanos)
    {
        if (layerNanos.length < layers.length)
        {
            throw new IllegalArgumentException("need " + layers.length + " slots, have " + layerNanos.length);
        }
        for (final int i : program)
        {
            current = layers[i];
            final long start = System.nanoTime();
            pool.run(layerTask);
            layerNanos[i] += System.nanoTime() - start;
        }
        current = null;
    }

    /**
     * Runs every layer in order and adds each layer's wall time to {@code layerNanos[i]} (profiling).
     *
     * @param layerNanos one slot per layer.
     */
    public void run(final long[] layerNanos)
    {
        if (layerNanos.length < layers.length)
        {
            throw new IllegalArgumentException("need " + layers.length + " slots, have " + layerNanos.length);
        }
        for (int i = 0; i < layers.length; i++)
        {
            current = layers[i];
            final long start = System.nanoTime();
            pool.run(layerTask);
            layerNanos[i] += System.nanoTime() - start;
        }
        current = null;
    }

    /** Runs units {@code [from, to)} of layer {@code index} on the calling thread only (split execution). */
    public void runLayer(final int index, final int from, final int to)
    {
        layers[index].run(from, to, scratch[0], 0);
    }

    /** Runs one layer on the calling thread only, whole (for tests and profiling). */
    public void runLayer(final int index)
    {
        final Layer layer = layers[index];
        layer.run(0, layer.units(), scratch[0], 0);
    }

    private void runPart(final int part, final int parts)
    {
        final Layer layer = current;
        final int units = layer.units();
        final int from = (int)((long)units * part / parts);
        final int to = (int)((long)units * (part + 1) / parts);
        if (from < to)
        {
            layer.run(from, to, scratch[part], 0);
        }
    }

    @Override
    public void close()
    {
        pool.close();
    }
}
