package org.coedge.engine.exec;

import org.coedge.kernels.Blas;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.RegionOwner;

/**
 * Runs a {@link PreparedModel} on this machine: owns the arena (all activations), one scratch region per thread and
 * the worker pool; each layer's units are split evenly over the threads. One caller thread at a time. After
 * construction, {@link #run()} allocates nothing.
 * <p>
 * {@link #close()} stops the pool and frees the arena and scratch at once ({@link RegionOwner}); the caller closes it
 * on the thread that runs it, or after that thread is done. Every run entry then throws
 * {@link IllegalStateException} (one check of a flag per call), as it does when the model was closed, so no kernel
 * touches freed memory. It never closes the model, which other executors may share.
 */
public final class LocalExecutor implements AutoCloseable
{
    private final PreparedModel model;
    private final RegionOwner memory;
    private final FloatRegion arena;
    private final FloatRegion[] scratch;
    private final WorkerPool pool;
    private final WorkerPool.Task layerTask = this::runPart;
    private final Layer[] layers; // an array, not the list: iterating a list allocates an iterator per run
    private Layer current;
    private volatile boolean closed;
    private boolean arenaForViews;

    public LocalExecutor(final PreparedModel model, final int threads)
    {
        // each of the executor's threads (and each simulated device) calls OpenBLAS single-threaded: OpenBLAS's
        // own pool would put more busy threads than cores on the machine
        Blas.setThreads(1);
        this.model = model;
        checkModelOpen(model);
        this.memory = new RegionOwner("session of model '" + model.name() + "'");
        try
        {
            this.arena = memory.allocate(Math.max(1, model.arenaFloats()));
            this.scratch = new FloatRegion[threads];
            for (int i = 0; i < threads; i++)
            {
                scratch[i] = memory.allocate(Math.max(1, model.scratchFloats()));
            }
            this.layers = model.layers().toArray(new Layer[0]);
            for (final Layer layer : layers)
            {
                layer.bindTo(this, arena);
            }
            this.pool = new WorkerPool(threads, "coedge-worker");
        }
        catch (final RuntimeException | Error e)
        {
            memory.close();
            throw e;
        }
    }

    private static void checkModelOpen(final PreparedModel model)
    {
        if (model.isClosed())
        {
            throw new IllegalStateException("model '" + model.name() + "' is closed: its weights were freed");
        }
    }

    /**
     * Cold check at the start of every run: the executor and its model are open.
     *
     * @throws IllegalStateException naming the closed session or model.
     */
    public void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException(memory.name() + " is closed: its arena and scratch were freed");
        }
        checkModelOpen(model);
    }

    /** @return true once {@link #close()} ran. */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * Hands the arena to the garbage collector instead of freeing it on {@link #close()}: for a caller that gave out
     * a view of it (a zero-copy output) which may outlive the executor. Cold path.
     */
    public void keepArenaForViews()
    {
        if (!closed && !arenaForViews)
        {
            arenaForViews = true;
            memory.leaveToCollector(arena);
        }
    }

    /** @return bytes of off-heap memory the arena and scratch hold now (0 once closed). */
    public long offHeapBytes()
    {
        return memory.allocatedBytes();
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
        checkOpen();
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
        checkOpen();
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
        checkOpen();
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
        checkOpen();
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
        checkOpen();
        layers[index].run(from, to, scratch[0], 0);
    }

    /** Runs one layer on the calling thread only, whole (for tests and profiling). */
    public void runLayer(final int index)
    {
        checkOpen();
        final Layer layer = layers[index];
        layer.run(0, layer.units(), scratch[0], 0);
    }

    private void runPart(final int part, final int parts)
    {
        current.runPart(part, parts, scratch[part], 0);
    }

    /** Stops the pool, then frees the arena and scratch; idempotent. The model stays open. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        pool.close();
        memory.close();
    }
}
