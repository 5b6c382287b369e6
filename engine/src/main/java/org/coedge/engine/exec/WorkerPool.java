package org.coedge.engine.exec;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An owned, fixed set of threads that runs one {@link Task} split into {@code parts} pieces at a time: the calling
 * thread runs part 0, the pool's daemon threads the others, and {@link #run(Task)} returns when all are done.
 * Dispatch and completion use a volatile generation counter, spinning briefly and then parking, so a run allocates
 * nothing. One caller thread at a time; not for the common fork-join pool's kind of work stealing.
 */
public final class WorkerPool implements AutoCloseable
{
    /** One unit of parallel work. */
    @FunctionalInterface
    public interface Task
    {
        /**
         * Runs piece {@code part} of {@code parts}.
         *
         * @param part  0 .. parts-1; also the index of the thread's own scratch.
         * @param parts number of pieces (the pool's thread count).
         */
        void run(int part, int parts);
    }

    /**
     * Spins before parking: long enough to catch the next layer's dispatch on an idle core (tens of microseconds),
     * short enough not to steal a shared core from the thread it waits for.
     */
    private static final int SPIN_LIMIT = 2_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile long generation;
    private volatile Task task;
    private volatile boolean closed;
    private volatile Thread caller;
    private volatile Throwable failure;

    /**
     * @param threads total threads including the caller, at least 1.
     * @param name    prefix of the worker thread names.
     */
    public WorkerPool(final int threads, final String name)
    {
        if (threads < 1)
        {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++)
        {
            final int part = i + 1;
            workers[i] = new Thread(() -> workLoop(part), name + "-" + part);
            workers[i].setDaemon(true);
            workers[i].start();
        }
    }

    public int threads()
    {
        return threads;
    }

    /**
     * Runs {@code t} on every thread and waits for all.
     *
     * @throws RuntimeException the first failure of any part, after all parts have finished.
     */
    public void run(final Task t)
    {
        if (closed)
        {
            throw new IllegalStateException("worker pool closed");
        }
        if (threads == 1)
        {
            t.run(0, 1);
            return;
        }
        caller = Thread.currentThread();
        failure = null;
        task = t;
        pending.set(threads - 1);
        generation = generation + 1;
        for (final Thread w : workers)
        {
            LockSupport.unpark(w);
        }
        try
        {
            t.run(0, threads);
        }
        catch (final Throwable ex)
        {
            failure = ex;
        }
        int spins = 0;
        while (pending.get() != 0)
        {
            if (++spins < SPIN_LIMIT)
            {
                Thread.onSpinWait();
            }
            else
            {
                LockSupport.park(this);
            }
        }
        task = null;
        final Throwable ex = failure;
        if (ex != null)
        {
            if (ex instanceof RuntimeException)
            {
                throw (RuntimeException)ex;
            }
            if (ex instanceof Error)
            {
                throw (Error)ex;
            }
            throw new IllegalStateException(ex);
        }
    }

    private void workLoop(final int part)
    {
        long seen = 0;
        int spins = 0;
        while (!closed)
        {
            final long g = generation;
            if (g != seen)
            {
                seen = g;
                spins = 0;
                try
                {
                    task.run(part, threads);
                }
                catch (final Throwable ex)
                {
                    failure = ex;
                }
                if (pending.decrementAndGet() == 0)
                {
                    LockSupport.unpark(caller);
                }
            }
            else if (++spins < SPIN_LIMIT)
            {
                Thread.onSpinWait();
            }
            else
            {
                LockSupport.park(this);
            }
        }
    }

    @Override
    public void close()
    {
        closed = true;
        for (final Thread w : workers)
        {
            LockSupport.unpark(w);
        }
    }
}
