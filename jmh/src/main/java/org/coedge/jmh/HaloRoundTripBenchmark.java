package org.coedge.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import io.aeron.ChannelUriStringBuilder;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.transport.RowBlockPublisher;
import org.coedge.transport.RowBlockReceiver;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of one halo round trip through the transport module: node A sends a row block of {@code blockBytes} with
 * {@link RowBlockPublisher}, an echo thread at node B receives it with {@link RowBlockReceiver} into its off-heap
 * buffer and sends it straight back under the same request id, and A receives it. One operation is one round trip,
 * so the score is the round-trip time; the payload moved is {@code 2 * blockBytes} per operation (bytes per
 * microsecond of score is MB/s).
 * <ul>
 *   <li>{@code udp}: two {@link TransportNode}s, each with its own embedded media driver, over loopback, built with the
 *   node's own factory methods (one data stream per sending node, a plan-style session id per direction);</li>
 *   <li>{@code ipc}: one node, and exclusive publications and subscriptions on an Aeron IPC channel made through its
 *   client, one stream per direction; the channel takes the node's MTU so both media move the same chunks.</li>
 * </ul>
 * Both directions use 4 MiB terms (a term holds at least twice the largest block). The trial setup connects
 * everything, starts the echo agent on its own thread and checks one round trip's bytes; the benchmark thread is
 * node A's device thread and the echo agent's thread is node B's.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = { ConvVsSgemmBenchmark.EXPORTS, "-Xmx1g" })
public class HaloRoundTripBenchmark
{
    private static final int TERM_LENGTH = 4 * 1024 * 1024;
    /** Node ids: each names the data stream its blocks travel on ({@link TransportNode#DATA_STREAM_BASE} + id). */
    private static final int NODE_A = 1;
    private static final int NODE_B = 2;
    /** The session ids a plan would hand out, one per direction (UDP only; IPC takes the driver's). */
    private static final int SESSION_A_TO_B = 0x0A0B;
    private static final int SESSION_B_TO_A = 0x0B0A;
    /** What the block headers carry; any fixed values do, as long as both sides agree. */
    private static final long SESSION_TOKEN = 0xC0ED6EL;
    private static final long EPOCH = 1;
    private static final int SEQUENCE = 0;
    private static final int LAYER = 3;
    private static final int FIRST_ROW = 0;
    private static final int ROW_COUNT = 1;
    private static final long TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    /** The echo waits for the next request across the pauses between JMH iterations. */
    private static final long ECHO_TIMEOUT_NS = TimeUnit.MINUTES.toNanos(1);
    private static final long CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);
    private static final long SEED = 0x4A10L;

    /** Both nodes' ends of the two directions; node A's end is used by the benchmark thread. */
    @State(Scope.Thread)
    public static class Link
    {
        @Param({ "4096", "65536", "1048576" })
        public int blockBytes;

        @Param({ "udp", "ipc" })
        public String medium;

        TransportNode nodeA;
        TransportNode nodeB; // null for ipc: one node holds both ends
        RowBlockPublisher toB;
        RowBlockReceiver fromB;
        int echoChunkBytes;
        UnsafeBuffer src; // (blockBytes) the block sent
        UnsafeBuffer dst; // (blockBytes) the block echoed back
        EchoAgent echo;
        AgentRunner echoRunner;
        volatile Throwable echoFailure;
        /** Waits of node A give up as soon as the echo has failed. */
        WaitHook echoAlive;
        long requestId;

        @Setup(Level.Trial)
        public void setUp()
        {
            final ExclusivePublication aToB;
            final ExclusivePublication bToA;
            final Subscription atB;
            final Subscription atA;
            nodeA = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0"));
            switch (medium)
            {
                case "udp":
                    nodeB = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0"));
                    atB = nodeB.addRowBlockSubscription(NODE_A);
                    atA = nodeA.addRowBlockSubscription(NODE_B);
                    aToB = nodeA.addRowBlockPublication(nodeB.endpoint(), NODE_A, SESSION_A_TO_B, TERM_LENGTH);
                    bToA = nodeB.addRowBlockPublication(nodeA.endpoint(), NODE_B, SESSION_B_TO_A, TERM_LENGTH);
                    break;
                case "ipc":
                    final String channel = new ChannelUriStringBuilder().media(CommonContext.IPC_MEDIA)
                        .termLength(TERM_LENGTH).mtu(nodeA.context().mtuLength()).build();
                    atB = nodeA.aeron().addSubscription(channel, TransportNode.DATA_STREAM_BASE + NODE_A);
                    atA = nodeA.aeron().addSubscription(channel, TransportNode.DATA_STREAM_BASE + NODE_B);
                    aToB = nodeA.aeron().addExclusivePublication(channel, TransportNode.DATA_STREAM_BASE + NODE_A);
                    bToA = nodeA.aeron().addExclusivePublication(channel, TransportNode.DATA_STREAM_BASE + NODE_B);
                    break;
                default:
                    throw new IllegalArgumentException("medium must be udp or ipc: " + medium);
            }
            awaitConnected(aToB, atB, "A to B");
            awaitConnected(bToA, atA, "B to A");

            toB = new RowBlockPublisher(aToB);
            fromB = new RowBlockReceiver(atA);
            fromB.expectSession(bToA.sessionId());
            final RowBlockReceiver fromA = new RowBlockReceiver(atB);
            fromA.expectSession(aToB.sessionId());
            final RowBlockPublisher toA = new RowBlockPublisher(bToA);
            echoChunkBytes = toA.chunkBytes();

            src = new UnsafeBuffer(BufferUtil.allocateDirectAligned(blockBytes, 64));
            dst = new UnsafeBuffer(BufferUtil.allocateDirectAligned(blockBytes, 64));
            final SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < blockBytes; i++)
            {
                src.putByte(i, (byte)random.nextInt());
            }
            echoAlive = () -> echoFailure == null;
            echo = new EchoAgent(fromA, toA, toB.chunkBytes(), blockBytes);
            echoRunner = new AgentRunner(NoOpIdleStrategy.INSTANCE, e -> echoFailure = e, null, echo);
            AgentRunner.startOnThread(echoRunner);

            roundTrip();
            for (int i = 0; i < blockBytes; i++)
            {
                if (src.getByte(i) != dst.getByte(i))
                {
                    throw new IllegalStateException(medium + " " + blockBytes + " B: byte " + i +
                        " came back as " + dst.getByte(i) + ", sent " + src.getByte(i));
                }
            }
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            if (echo != null)
            {
                echo.stop();
                echoRunner.close();
            }
            CloseHelper.closeAll(toB, fromB, echo, nodeB, nodeA);
        }

        void roundTrip()
        {
            final long request = ++requestId;
            final int sent = toB.send(SESSION_TOKEN, EPOCH, request, SEQUENCE, LAYER, FIRST_ROW, ROW_COUNT, src, 0,
                blockBytes, TIMEOUT_NS, echoAlive);
            if (sent != TransportCodes.OK)
            {
                throw failure("send", sent, request);
            }
            final int received = fromB.receive(SESSION_TOKEN, EPOCH, request, SEQUENCE, LAYER, FIRST_ROW, ROW_COUNT,
                dst, 0, blockBytes, echoChunkBytes, TIMEOUT_NS, echoAlive);
            if (received != TransportCodes.OK)
            {
                throw failure("receive", received, request);
            }
        }

        private IllegalStateException failure(final String what, final int code, final long request)
        {
            return new IllegalStateException(medium + " " + blockBytes + " B: node A's " + what + " of request " +
                request + " returned " + TransportCodes.name(code) + " (last claim result " + toB.lastResult() +
                ", last mismatch " + fromB.lastMismatch() + ")", echoFailure);
        }

        private static void awaitConnected(
            final ExclusivePublication publication, final Subscription subscription, final String direction)
        {
            final long deadline = System.nanoTime() + CONNECT_TIMEOUT_NS;
            while (!publication.isConnected() || subscription.imageBySessionId(publication.sessionId()) == null)
            {
                if (System.nanoTime() > deadline)
                {
                    throw new IllegalStateException(direction + " did not connect within " +
                        TimeUnit.NANOSECONDS.toSeconds(CONNECT_TIMEOUT_NS) + " s: " + publication.channel());
                }
                Thread.yield();
            }
        }
    }

    /**
     * Node B's side: receives each request's block into its own off-heap buffer and sends it back under the same
     * request id. Runs on its {@link AgentRunner}'s thread; {@link #stop()} may be called from any thread and makes
     * a waiting receive or send give up at once. A failure ends the agent with the code in the exception.
     */
    static final class EchoAgent implements Agent, AutoCloseable
    {
        private final RowBlockReceiver fromA;
        private final RowBlockPublisher toA;
        private final int chunkBytesFromA;
        private final int blockBytes;
        private final UnsafeBuffer buffer; // (blockBytes)
        private volatile boolean stopping;
        private final WaitHook running = () -> !stopping;
        private long nextRequest = 1;

        EchoAgent(final RowBlockReceiver fromA, final RowBlockPublisher toA, final int chunkBytesFromA,
            final int blockBytes)
        {
            this.fromA = fromA;
            this.toA = toA;
            this.chunkBytesFromA = chunkBytesFromA;
            this.blockBytes = blockBytes;
            this.buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(blockBytes, 64));
        }

        void stop()
        {
            stopping = true;
        }

        @Override
        public int doWork()
        {
            final long request = nextRequest;
            int code = fromA.receive(SESSION_TOKEN, EPOCH, request, SEQUENCE, LAYER, FIRST_ROW, ROW_COUNT, buffer, 0,
                blockBytes, chunkBytesFromA, ECHO_TIMEOUT_NS, running);
            if (code == TransportCodes.OK)
            {
                code = toA.send(SESSION_TOKEN, EPOCH, request, SEQUENCE, LAYER, FIRST_ROW, ROW_COUNT, buffer, 0,
                    blockBytes, ECHO_TIMEOUT_NS, running);
            }
            if (code == TransportCodes.OK)
            {
                nextRequest = request + 1;
                return 1;
            }
            if (stopping)
            {
                return 0;
            }
            throw new AgentTerminationException("echo of request " + request + " returned " +
                TransportCodes.name(code) + " (last mismatch " + fromA.lastMismatch() + ")");
        }

        @Override
        public String roleName()
        {
            return "halo-echo";
        }

        @Override
        public void close()
        {
            CloseHelper.closeAll(fromA, toA);
        }
    }

    @Benchmark
    public void roundTrip(final Link link)
    {
        link.roundTrip();
    }
}
