package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.Map;

import org.coedge.engine.exec.LocalExecutor;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.engine.zoo.SelfTestNet;
import org.coedge.kernels.RegionOwner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Closing a session or a prepared model frees their off-heap memory at once, and nothing runs on it afterwards: every
 * entry that would touch the freed memory throws {@link IllegalStateException} naming what was closed.
 */
class SessionCloseTest
{
    private static void assertClosed(final String what, final Executable call)
    {
        final IllegalStateException e = assertThrows(IllegalStateException.class, call);
        assertTrue(e.getMessage().contains(what) && e.getMessage().contains("closed"), e.getMessage());
    }

    private static float[] input(final int n)
    {
        final float[] x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)Math.sin(0.37 * i);
        }
        return x;
    }

    @Test
    void shouldRefuseEveryRunAfterCloseNamingTheClosedSession()
    {
        final Model model = Model.load(SelfTestNet.build(), "selftest.onnx");
        final Session session = model.newSession(SessionOptions.threads(2));
        final float[] x = input(session.inputSize(0));
        final float[] y = new float[session.outputSize(0)];
        session.setInput(0, x);
        session.run();
        session.outputInto(0, y);
        session.close();
        session.close(); // idempotent
        assertTrue(session.prepared().isClosed());
        assertEquals(0, session.prepared().offHeapBytes());
        final String name = "session of model '" + model.name() + "'";
        assertClosed(name, session::run);
        assertClosed(name, () -> session.run(new long[session.prepared().layers().size()]));
        assertClosed(name, () -> session.runFor(0));
        assertClosed(name, () -> session.setInput(0, x));
        assertClosed(name, () -> session.outputInto(0, y));
        assertClosed(name, () -> session.outputNhwc(0));
    }

    @Test
    void shouldRefuseToRunAnExecutorWhoseModelWasClosed()
    {
        final Model model = Model.load(SelfTestNet.build(), "selftest.onnx");
        final PreparedModel prepared = model.prepare(Map.of());
        try (LocalExecutor executor = new LocalExecutor(prepared, 1))
        {
            executor.run();
            assertTrue(prepared.offHeapBytes() > 0);
            prepared.close();
            final String name = "model '" + model.name() + "'";
            assertClosed(name, executor::run);
            assertClosed(name, () -> executor.runLayer(0));
            assertClosed(name, () -> executor.runLayer(0, 0, 1));
            assertClosed(name, () -> new LocalExecutor(prepared, 1));
            assertFalse(executor.isClosed());
        }
    }

    @Test
    void shouldReturnTheWeightsArenaAndScratchToTheSystemWhenClosed()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18.onnx");
        final Session session = model.newSession(SessionOptions.threads(1));
        final long weights = session.prepared().offHeapBytes();
        final long arena = 4L * session.prepared().arenaFloats();
        // ResNet-18: 11.7 M parameters (Winograd's transformed 3x3 weights take more)
        assertTrue(weights > 40L << 20, "weights " + weights);
        session.setInput(0, input(session.inputSize(0)));
        session.run();
        // measured across close alone: a collection in between (of other tests' buffers) could only add to the drop
        final long before = RegionOwner.directBytesInUse();
        session.close();
        final long freed = before - RegionOwner.directBytesInUse();
        assertTrue(freed >= weights + arena, "closing freed " + freed + " bytes of direct memory; the session held " +
            weights + " of weights and " + arena + " of arena");
    }

    @Test
    void shouldKeepAZeroCopyOutputReadableAfterClose()
    {
        final Model model = Model.load(SelfTestNet.build(), "selftest.onnx");
        final Session session = model.newSession(SessionOptions.threads(1));
        session.setInput(0, input(session.inputSize(0)));
        session.run();
        final float[] copied = session.output(0);
        final FloatBuffer view = session.outputNhwc(0);
        session.close();
        // the view may outlive the session, so the arena under it was left to the collector, not freed
        for (int i = 0; i < copied.length; i++)
        {
            assertEquals(copied[i], view.get(i));
        }
        assertTrue(session.prepared().isClosed());
    }
}
