package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.api.Test;
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
            assertSomeWindowAllocatesNothing(name, threads, () ->
            {
                session.setInput(0, input);
                session.run();
                session.outputInto(0, output);
            }, "coedge-worker");
        }
    }

    @Test
    void shouldAllocateNothingPerInferenceUpToOneExit()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "no per-thread allocation counter on this JVM");
        threads.setThreadAllocatedMemoryEnabled(true);
        final Model model = Model.load(org.coedge.engine.exits.FashionSlice.model());
        try (Session session = model.newSession(SessionOptions.threads(2)))
        {
            final float[] input = org.coedge.engine.exits.FashionSlice.images(1)[0];
            final float[] logits = new float[session.outputSize(0)];
            final int[] exits = {session.outputIndex("exit0"), session.outputIndex("exit1"),
                session.outputIndex("exit2")};
            assertSomeWindowAllocatesNothing("branchy-fmnist", threads, () ->
            {
                for (final int exit : exits)
                {
                    session.setInput(0, input);
                    session.runFor(exit);
                    session.outputInto(exit, logits);
                }
            }, "coedge-worker");
        }
    }

    @Test
    void shouldAllocateNothingPerInferenceOnTheGenericPath() throws java.io.IOException
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "no per-thread allocation counter on this JVM");
        final java.nio.file.Path file = java.nio.file.Path.of(System.getenv().getOrDefault("COEDGE_MODEL_CACHE",
            System.getProperty("user.home") + "/.cache/coedge-models"), "openwakeword-0.1.1", "melspectrogram.onnx");
        assumeTrue(java.nio.file.Files.isRegularFile(file), file + " not found: run .ci/fetch-real-models.sh");
        threads.setThreadAllocatedMemoryEnabled(true);
        // Transposes, n-ary powers, a product of activations, a reduction: generic layers after 1-D convolutions.
        final Model model = Model.load(file);
        final int samples = 7 * 160 + 512;
        try (Session session = model.newSession(SessionOptions.threads(2).withInputDims("input", 1, samples)))
        {
            final float[] input = OpenWakeWordMatchesOrtTest.syntheticSpeech(5, samples);
            final float[] output = new float[session.outputSize(0)];
            assertSomeWindowAllocatesNothing("melspectrogram", threads, () ->
            {
                session.setInput(0, input);
                session.run();
                session.outputInto(0, output);
            }, "coedge-worker");
        }
    }

    @Test
    void shouldAllocateNothingPerSplitInference()
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported(), "no per-thread allocation counter on this JVM");
        threads.setThreadAllocatedMemoryEnabled(true);
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final org.coedge.engine.exec.PreparedModel whole = model.prepare(java.util.Map.of());
        final org.coedge.planner.LayerGraph graph = org.coedge.engine.exec.PlanGraphs.of(whole);
        final org.coedge.planner.Plan plan = org.coedge.planner.Planner.uniform(graph, new double[] {1, 1, 2}, 2);
        try (org.coedge.engine.exec.SplitExecutor split =
            org.coedge.engine.exec.SplitExecutor.create(model, java.util.Map.of(), whole, graph, plan))
        {
            final float[] input = OracleSupport.randomInput(3, 3 * 224 * 224);
            final float[] output = new float[1000];
            assertSomeWindowAllocatesNothing("resnet18 split", threads, () ->
            {
                split.setInput(0, input);
                split.run();
                split.outputInto(0, output);
            }, "coedge-device", "coedge-worker");
        }
    }

    private static void assertSomeWindowAllocatesNothing(
        final String name, final com.sun.management.ThreadMXBean threads, final Runnable inference,
        final String... threadPrefixes)
    {
        for (int i = 0; i < WARMUP_RUNS; i++)
        {
            inference.run();
        }
        final List<Long> workers = workerIds(threadPrefixes);
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
                inference.run();
            }
            allocated(threads, ids, after);
            allocatedInWindow = 0;
            for (int i = 0; i < ids.length; i++)
            {
                allocatedInWindow += after[i] - before[i];
            }
            history.append(allocatedInWindow).append(' ');
        }
        assertEquals(0, allocatedInWindow, name + ": bytes allocated per 5-inference window on " + ids.length +
            " threads: " + history);
    }

    private static List<Long> workerIds(final String... prefixes)
    {
        final List<Long> ids = new ArrayList<>();
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            for (final String prefix : prefixes)
            {
                if (t.getName().startsWith(prefix))
                {
                    ids.add(t.getId());
                }
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
