package org.coedge.engine.cli;

import org.coedge.engine.api.Session;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;

/**
 * What {@code coedge run}'s timing loop drives without peers: a local session, or a split over devices simulated in
 * this process ({@code --split}). Made and closed by {@link RunCommand} on its thread.
 */
interface LocalRunner extends AutoCloseable
{
    PreparedModel prepared();

    int layerCount();

    void setInput(int index, float[] nchw);

    /** Runs once; adds per-layer times to {@code layerNanos} when it is not null. */
    void run(long[] layerNanos);

    int outputCount();

    float[] output(int index);

    SplitExecutor splitExecutor();

    @Override
    void close();

    /** @return a runner over a local session; closing it closes the session. */
    static LocalRunner of(final Session session)
    {
        return new LocalRunner()
        {
            public PreparedModel prepared()
            {
                return session.prepared();
            }

            public int layerCount()
            {
                return session.prepared().layers().size();
            }

            public void setInput(final int index, final float[] nchw)
            {
                session.setInput(index, nchw);
            }

            public void run(final long[] layerNanos)
            {
                if (layerNanos == null)
                {
                    session.run();
                }
                else
                {
                    session.run(layerNanos);
                }
            }

            public int outputCount()
            {
                return session.outputCount();
            }

            public float[] output(final int index)
            {
                return session.output(index);
            }

            public SplitExecutor splitExecutor()
            {
                throw new IllegalStateException("not a split run");
            }

            public void close()
            {
                session.close();
            }
        };
    }

    /** @return a runner over a split in this process; closing it closes the executor. */
    static LocalRunner of(final SplitExecutor executor)
    {
        return new LocalRunner()
        {
            public PreparedModel prepared()
            {
                return executor.model();
            }

            public int layerCount()
            {
                return 0;
            }

            public void setInput(final int index, final float[] nchw)
            {
                executor.setInput(index, nchw);
            }

            public void run(final long[] layerNanos)
            {
                executor.run();
            }

            public int outputCount()
            {
                return executor.model().outputs().size();
            }

            public float[] output(final int index)
            {
                final float[] data = new float[executor.model().outputs().get(index).shape().size()];
                executor.outputInto(index, data);
                return data;
            }

            public SplitExecutor splitExecutor()
            {
                return executor;
            }

            public void close()
            {
                executor.close();
            }
        };
    }
}
