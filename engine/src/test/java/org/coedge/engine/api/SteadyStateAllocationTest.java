package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A warmed-up session's setInput, run and outputInto allocate nothing, on the caller and on its workers. */
class SteadyStateAllocationTest
{
    /** Enough runs for C2 to compile the kernels: interpreted and C1 code allocates where escape analysis later won't. */
    private static final int WARMUP_RUNS = 40;
    private static final int MAX_WINDOWS = 40;

    @ParameterizedTest
    @ValueSource(strings = {"mobilenetv2", "googlenet", "resnet18"})
    void shouldAllocateNothingPerInference(final String name)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "no per-thread allocation counter on this JVM");
        threads.setThreadAllocatedMemoryEnabled(true);
        final Model model = Model.load(ModelZoo.build(name), name);
        try (Session session = model.newSession(SessionOptions.threads(2)))
        {
            final float[] input = OracleSupport.randomInput(3, session.inputSize(0));
            final float[] output = new float[session.outputSize(0)];
            for (int i = 0; i < WARMUP_RUNS; i++)
            {
                session.setInput(0, input);
                session.run();
                session.outputInto(0, output);
            }
            final List<Long> workers = workerIds();
            final long[] ids = new long[workers.size() + 1];
            for (int i = 0; i < workers.size(); i++)
            {
                ids[i] = workers.get(i);
            }
            ids[workers.size()] = Thread.currentThread().getId();
            final long[] before = new long[ids.length];
            final long[] after = new long[ids.length];
            long allocatedInWindow = -1;
            final StringBuilder history = new StringBuilder();
            // Steady state: some window of 5 inferences must allocate nothing on any thread. A real per-inference
            // allocation would show in every window; JIT warm-up (late C2 compiles on a loaded machine) only in the
            // first ones.
            for (int window = 0; window < MAX_WINDOWS && allocatedInWindow != 0; window++)
            {
                allocated(threads, ids, before);
                for (int i = 0; i < 5; i++)
                {
                    session.setInput(0, input);
                    session.run();
                    session.outputInto(0, output);
                }
                allocated(threads, ids, after);
                allocatedInWindow = 0;
                for (int i = 0; i < ids.length; i++)
                {
                    allocatedInWindow += after[i] - before[i];
                }
                history.append(allocatedInWindow).append(' ');
            }
            assertEquals(0, allocatedInWindow, name + ": bytes allocated per 5-inference window: " + history);
        }
    }

    private static List<Long> workerIds()
    {
        final List<Long> ids = new ArrayList<>();
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            if (t.getName().startsWith("coedge-worker"))
            {
                ids.add(t.getId());
            }
        }
        return ids;
    }

    private static void allocated(final com.sun.management.ThreadMXBean threads, final long[] ids, final long[] bytes)
    {
        for (int i = 0; i < ids.length; i++)
        {
            bytes[i] = threads.getThreadAllocatedBytes(ids[i]);
        }
    }
}
