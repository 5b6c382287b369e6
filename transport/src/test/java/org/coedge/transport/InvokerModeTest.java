package org.coedge.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import io.aeron.Subscription;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * Nodes whose media drivers have no thread (INVOKER): the sending and receiving threads run them, and the link
 * probe's row blocks are counted on the probe stream.
 */
class InvokerModeTest
{
    private static TransportNode invokerNode()
    {
        return new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0").driverThreading("INVOKER"));
    }

    @Test
    void shouldServeTheDriverOftenWhileAMessageIsInFlight()
    {
        try (TransportNode node = invokerNode())
        {
            // nothing sent yet: the keeper comes by on its idle period
            assertFalse(node.keeperInFlight());
            node.sent();
            // a block committed by a thread that goes on computing leaves with the keeper's 1 ms visits, not 20 ms
            assertTrue(node.keeperInFlight());
        }
    }

    @Test
    void shouldMoveRowBlocksAndProbesWithDriversRunByTheCallingThreads() throws Exception
    {
        try (TransportNode a = invokerNode(); TransportNode b = invokerNode())
        {
            assertTrue(a.invokesDriver() && b.invokesDriver());
            final RowBlockReceiver receiver = new RowBlockReceiver(b.addRowBlockSubscription(4), b);
            receiver.expectSession(5150);
            final RowBlockPublisher publisher = new RowBlockPublisher(
                a.addRowBlockPublication(b.endpoint(), 4, 5150, 1024 * 1024), a);
            final int bytes = 300_000;
            final UnsafeBuffer src = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));
            final UnsafeBuffer dst = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));
            for (int i = 0; i < bytes; i += 4)
            {
                src.putInt(i, i * 31 + 7);
            }
            final long timeout = TimeUnit.SECONDS.toNanos(10);
            // the receiver's thread runs b's driver while it waits; a's runs when a sends and while it waits for room
            final int[] received = {Integer.MIN_VALUE};
            final Thread receiving = new Thread(() -> received[0] = receiver.receive(
                9, 1, 1, 0, 2, 0, 10, dst, 0, bytes, publisher.chunkBytes(), timeout, WaitHook.NONE));
            receiving.start();
            final long connectBy = System.nanoTime() + timeout;
            while (!publisher.publication().isConnected() && System.nanoTime() < connectBy)
            {
                a.invokeDriver();
                Thread.onSpinWait();
            }
            assertEquals(TransportCodes.OK, publisher.send(9, 1, 1, 0, 2, 0, 10, src, 0, bytes, timeout,
                () -> a.invokeDriver() >= 0));
            receiving.join(TimeUnit.SECONDS.toMillis(20));
            assertEquals(TransportCodes.OK, received[0]);
            for (int i = 0; i < bytes; i += 4)
            {
                assertEquals(i * 31 + 7, dst.getInt(i), "int at " + i);
            }

            // a probe burst of 5 blocks on b's probe stream (within the window: nothing reads b until they are sent);
            // a block of another session is ignored
            final Subscription probes = b.addProbeSubscription();
            final ProbeReceiver probeReceiver = new ProbeReceiver(probes);
            final RowBlockPublisher probe = new RowBlockPublisher(a.addProbePublication(b.endpoint(), 777, 65536), a);
            while (!probe.publication().isConnected() && System.nanoTime() < connectBy)
            {
                a.invokeDriver();
                b.invokeDriver();
                probeReceiver.poll(9, 16);
            }
            assertEquals(TransportCodes.OK, probe.send(8, ProbeReceiver.PROBE_EPOCH, 41, 0, -1, 0, 1, src, 0, 1000,
                timeout, WaitHook.NONE));
            for (int i = 0; i < 5; i++)
            {
                assertEquals(TransportCodes.OK, probe.send(9, ProbeReceiver.PROBE_EPOCH, 42, i, -1, 0, 5, src, 0,
                    4000, timeout, WaitHook.NONE));
            }
            boolean complete = false;
            final long deadline = System.nanoTime() + timeout;
            while (!complete && System.nanoTime() < deadline)
            {
                a.invokeDriver();
                b.invokeDriver();
                probeReceiver.poll(9, 16);
                complete = probeReceiver.burstComplete();
            }
            assertTrue(complete, "the burst arrived");
            assertEquals(42, probeReceiver.probeId());
            assertEquals(5, probeReceiver.blocks());
            assertEquals(20_000, probeReceiver.bytes());
            probe.close();
            publisher.close();
            receiver.close();
        }
    }
}
