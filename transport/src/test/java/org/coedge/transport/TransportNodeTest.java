package org.coedge.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.transport.sbe.RequestDecoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two nodes, each with its own embedded media driver, over loopback UDP.
 */
class TransportNodeTest
{
    private static final ClusterKey KEY = ClusterKey.fromBytes(
        "0123456789abcdef-test-key".getBytes(StandardCharsets.US_ASCII), "test key");
    private static TransportNode a;
    private static TransportNode b;

    @BeforeAll
    static void start()
    {
        a = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0"));
        b = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0"));
    }

    @AfterAll
    static void stop()
    {
        b.close();
        a.close();
    }

    /** Records the requests it is given. */
    private static final class Requests implements ControlListener
    {
        long token;
        long lastRequest = -1;
        int count;

        @Override
        public boolean acceptsSession(final long sessionToken, final int templateId)
        {
            return sessionToken == token;
        }

        @Override
        public void onRequest(final RequestDecoder request)
        {
            lastRequest = request.requestId();
            count++;
        }
    }

    private static void pollUntil(final ControlAdapter adapter, final java.util.function.BooleanSupplier done)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean())
        {
            adapter.poll(10);
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.onSpinWait();
        }
    }

    /** Consecutive rounds of 200 round trips that must allocate nothing once the JIT has settled. */
    private static final int STEADY_ROUNDS = 3;

    /** Most rounds to reach them: compiled code settles at a time that depends on the machine's load. */
    private static final int MAX_ROUNDS = 60;

    @Test
    void shouldSendAndReceiveRowBlocksWithoutAllocating()
    {
        final Subscription sub = b.addRowBlockSubscription(7);
        // with their nodes, so that the calling thread runs an invoked driver (-Dcoedge.driver.threading=INVOKER) too
        final RowBlockReceiver receiver = new RowBlockReceiver(sub, b);
        receiver.expectSession(777);
        final RowBlockPublisher publisher = new RowBlockPublisher(
            a.addRowBlockPublication(b.endpoint(), 7, 777, 1024 * 1024), a);
        final int bytes = 40_000; // several chunks
        final UnsafeBuffer src = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));
        final UnsafeBuffer dst = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));
        final long timeout = TimeUnit.SECONDS.toNanos(10);
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
        final long self = Thread.currentThread().getId();
        long allocated = 0;
        int steady = 0;
        int round = 0;
        for (; round < MAX_ROUNDS && steady < STEADY_ROUNDS; round++)
        {
            // the first rounds warm up (class loading, image lookup, and until the JIT has compiled the loop: code
            // not yet compiled by C2, or deoptimized and not yet compiled again, allocates what escape analysis
            // later removes); then STEADY_ROUNDS rounds in a row must allocate nothing
            final long before = threads.getThreadAllocatedBytes(self);
            for (int i = 0; i < 200; i++)
            {
                final long request = round * 1000L + i;
                if (publisher.send(1, 1, request, 0, 3, 0, 10, src, 0, bytes, timeout, WaitHook.NONE) !=
                    TransportCodes.OK ||
                    receiver.receive(1, 1, request, 0, 3, 0, 10, dst, 0, bytes, publisher.chunkBytes(), timeout,
                        WaitHook.NONE) != TransportCodes.OK)
                {
                    throw new AssertionError("round trip " + i + " failed");
                }
            }
            allocated = threads.getThreadAllocatedBytes(self) - before;
            steady = allocated == 0 ? steady + 1 : 0;
        }
        assertEquals(STEADY_ROUNDS, steady, "rounds in a row in which 200 sends and receives of 40 KB (driver " +
            a.context().driverThreadingMode() + ") allocated nothing, after " + round + " rounds; the last allocated " +
            allocated + " bytes");
        publisher.close();
        receiver.close();
    }

    @Test
    void shouldUseAnExternalMediaDriverNamedByItsDirectory(@TempDir final Path dir)
    {
        try (io.aeron.driver.MediaDriver driver = io.aeron.driver.MediaDriver.launch(
            new io.aeron.driver.MediaDriver.Context().aeronDirectoryName(dir.resolve("external").toString())
                .threadingMode(io.aeron.driver.ThreadingMode.SHARED).dirDeleteOnShutdown(true));
            TransportNode client = new TransportNode(new TransportContext()
                .aeronDirectoryName(driver.aeronDirectoryName()).listenEndpoint("127.0.0.1:0")))
        {
            final Requests listener = new Requests();
            listener.token = 5;
            final ControlAdapter adapter = new ControlAdapter(client.controlSubscription(), KEY, listener);
            final Publication toClient = a.addControlPublication(client.endpoint());
            final ControlProxy proxy = new ControlProxy(KEY, 0, TimeUnit.SECONDS.toNanos(5)).session(5, 0);
            assertEquals(TransportCodes.OK, proxy.request(toClient, 1, 42));
            pollUntil(adapter, () -> listener.count == 1);
            assertEquals(42, listener.lastRequest);
            assertEquals(driver.aeronDirectoryName(), client.aeron().context().aeronDirectoryName());
            toClient.close();
        }
    }

    @Test
    void shouldRefuseShortKeysAndMissingFiles(@TempDir final Path dir) throws Exception
    {
        final Path shortKey = dir.resolve("short.key");
        Files.write(shortKey, new byte[15]);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> ClusterKey.fromFile(shortKey));
        assertTrue(e.getMessage().contains("15 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ClusterKey.fromFile(dir.resolve("none.key")));
        Files.write(shortKey, new byte[16]);
        ClusterKey.fromFile(shortKey);
    }

    @Test
    void shouldDeliverGenuineControlMessagesAndDropForgedReplayedAndGarbage() throws Exception
    {
        final Requests listener = new Requests();
        listener.token = 77;
        final ControlAdapter adapter = new ControlAdapter(b.controlSubscription(), KEY, listener);
        final Publication toB = a.addControlPublication(b.endpoint());
        final ControlProxy proxy = new ControlProxy(KEY, 0, TimeUnit.SECONDS.toNanos(5)).session(77, 0);
        final ControlProxy forger = new ControlProxy(ClusterKey.fromBytes(
            "another-key-of-16+bytes".getBytes(StandardCharsets.US_ASCII), "other"), 0,
            TimeUnit.SECONDS.toNanos(5)).session(77, 0);

        assertEquals(TransportCodes.OK, proxy.request(toB, 1, 5));
        pollUntil(adapter, () -> listener.count == 1);
        assertEquals(5, listener.lastRequest);

        // replay: the same signed bytes again
        final int length = org.coedge.transport.sbe.MessageHeaderEncoder.ENCODED_LENGTH +
            RequestDecoder.BLOCK_LENGTH + ClusterKey.MAC_BYTES;
        final UnsafeBuffer copy = new UnsafeBuffer(new byte[length]);
        copy.putBytes(0, proxy.buffer(), 0, length);
        assertEquals(TransportCodes.OK, proxy.offerRaw(toB, copy, 0, length));
        // wrong key, truncated, wrong session, garbage through Aeron
        assertEquals(TransportCodes.OK, forger.request(toB, 1, 6));
        assertEquals(TransportCodes.OK, proxy.request(toB, 1, 7));
        final UnsafeBuffer truncated = new UnsafeBuffer(new byte[length - 5]);
        truncated.putBytes(0, proxy.buffer(), 0, length - 5);
        assertEquals(TransportCodes.OK, proxy.offerRaw(toB, truncated, 0, length - 5));
        proxy.session(78, 0);
        assertEquals(TransportCodes.OK, proxy.request(toB, 1, 8));
        final byte[] junk = new byte[200];
        new Random(1).nextBytes(junk);
        assertEquals(TransportCodes.OK, proxy.offerRaw(toB, new UnsafeBuffer(junk), 0, junk.length));
        proxy.session(77, 0);
        assertEquals(TransportCodes.OK, proxy.request(toB, 1, 9));
        pollUntil(adapter, () -> listener.lastRequest == 9);

        assertEquals(3, listener.count, "requests 5, 7 and 9 only");
        assertEquals(1, adapter.replayed());
        assertEquals(1, adapter.badMac(), "forged");
        assertEquals(1, adapter.wrongSession());
        assertEquals(2, adapter.malformed(), "truncated and random bytes");

        // raw UDP garbage at the port: the driver drops and counts it
        final long before = b.driverInvalidPackets();
        final InetSocketAddress target = new InetSocketAddress("127.0.0.1",
            Integer.parseInt(b.endpoint().substring(b.endpoint().lastIndexOf(':') + 1)));
        try (DatagramSocket socket = new DatagramSocket())
        {
            for (int i = 0; i < 5; i++)
            {
                socket.send(new DatagramPacket(junk, 3 + i, target));
            }
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (b.driverInvalidPackets() < before + 5 && System.nanoTime() < deadline)
        {
            Thread.sleep(1);
        }
        assertTrue(b.driverInvalidPackets() >= before + 5, "driver counted " + b.driverInvalidPackets());
        toB.close();
    }

    @Test
    void shouldMoveLargeBlocksInChunksStraightBetweenBuffersAndIgnoreForeignSessions()
    {
        final Subscription fromA = b.addRowBlockSubscription(3);
        final RowBlockReceiver receiver = new RowBlockReceiver(fromA);
        receiver.expectSession(4242);
        final ExclusivePublication pub = a.addRowBlockPublication(b.endpoint(), 3, 4242, 4 * 1024 * 1024);
        final ExclusivePublication intruder = a.addRowBlockPublication(b.endpoint(), 3, 999, 64 * 1024);
        final RowBlockPublisher publisher = new RowBlockPublisher(pub);
        final RowBlockPublisher intruding = new RowBlockPublisher(intruder);
        final int bytes = 1024 * 1024 + 12;
        final UnsafeBuffer src = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes + 64, 64));
        final UnsafeBuffer dst = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes + 64, 64));
        final Random random = new Random(2);
        for (int i = 0; i < bytes + 64; i++)
        {
            src.putByte(i, (byte)random.nextInt());
        }
        final long timeout = TimeUnit.SECONDS.toNanos(10);
        assertEquals(TransportCodes.OK, intruding.send(1, 1, 1, 0, 0, 0, 1, src, 0, 4000, timeout, WaitHook.NONE));
        // a stale block of an earlier request, then the real one, then a block of the next sequence
        assertEquals(TransportCodes.OK, publisher.send(1, 1, 0, 0, 5, 0, 1, src, 0, 100, timeout, WaitHook.NONE));
        assertEquals(TransportCodes.OK, publisher.send(1, 1, 1, 0, 5, 10, 20, src, 64, bytes, timeout,
            WaitHook.NONE), () -> "last claim " + publisher.lastResult() + " window " +
            TransportNode.SOCKET_BUFFER_BYTES + " limit " + pub.positionLimit() + " pos " + pub.position());
        assertEquals(TransportCodes.OK, publisher.send(1, 1, 1, 1, 5, 30, 1, src, 0, 8, timeout, WaitHook.NONE));
        assertEquals(TransportCodes.OK, receiver.receive(1, 1, 1, 0, 5, 10, 20, dst, 0, bytes,
            publisher.chunkBytes(), timeout, WaitHook.NONE));
        for (int i = 0; i < bytes; i++)
        {
            if (src.getByte(64 + i) != dst.getByte(i))
            {
                throw new AssertionError("byte " + i + " differs");
            }
        }
        assertEquals(1, receiver.staleChunks());
        // the next block is #1, not #2: the programs disagree
        assertEquals(TransportCodes.OUT_OF_ORDER, receiver.receive(1, 1, 1, 2, 5, 30, 1, dst, 0, 8,
            publisher.chunkBytes(), timeout, WaitHook.NONE));
        assertEquals(TransportCodes.OK, receiver.receive(1, 1, 1, 1, 5, 30, 1, dst, 0, 8,
            publisher.chunkBytes(), timeout, WaitHook.NONE));
        assertTrue(receiver.foreignImages() >= 1, "the intruder's image is seen but never read");
        // nothing arrives: the wait gives up when told, and times out otherwise
        assertEquals(TransportCodes.ABORTED, receiver.receive(1, 1, 2, 0, 5, 0, 1, dst, 0, 8,
            publisher.chunkBytes(), timeout, () -> false));
        assertEquals(TransportCodes.TIMED_OUT, receiver.receive(1, 1, 2, 0, 5, 0, 1, dst, 0, 8,
            publisher.chunkBytes(), TimeUnit.MILLISECONDS.toNanos(20), WaitHook.NONE));
        assertEquals(TransportCodes.BAD_RANGE, receiver.receive(1, 1, 2, 0, 5, 0, 1, dst, bytes, 100,
            publisher.chunkBytes(), timeout, WaitHook.NONE));
        publisher.close();
        intruding.close();
        receiver.close();
    }
}
