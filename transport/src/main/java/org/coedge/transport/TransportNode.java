package org.coedge.transport;

import java.io.File;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.CommonContext;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.status.ChannelEndpointStatus;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.status.CountersReader;

/**
 * One node's share of the network: an embedded Aeron media driver (or a client of an external one named by
 * {@link TransportContext#aeronDirectoryName()}), the Aeron client, and the subscription on the node's listen
 * endpoint that control messages arrive on. Row blocks arrive on the same endpoint with one stream per sending node
 * ({@link #DATA_STREAM_BASE} + sender), so each sender's blocks form their own image.
 * <p>
 * Built and closed by the engine's coordinator or worker; the factory methods are cold-path and thread-safe (Aeron's
 * client is); each publication, subscription and adapter made is then used by one thread.
 */
public final class TransportNode implements AutoCloseable
{
    public static final int CONTROL_STREAM_ID = 1001;
    public static final int DATA_STREAM_BASE = 2000;
    /** Aeron's driver counts frames it cannot parse under this system counter. */
    private static final String INVALID_PACKETS_LABEL = "Invalid packets";

    /**
     * Bytes a receiver lets a sender have in flight: the kernel's largest socket buffer (up to 4 MiB), since Aeron's
     * receive window may not exceed the socket's. A sender that has more than this unread at one peer waits.
     */
    public static final int SOCKET_BUFFER_BYTES = kernelSocketBufferLimit();

    private final TransportContext context;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final Subscription controlSubscription;
    private final String endpoint;
    /** The channel as first subscribed: Aeron shares one socket between subscriptions of the same channel string. */
    private final String listenChannel;

    public TransportNode(final TransportContext context)
    {
        if (!context.isConcluded())
        {
            context.conclude();
        }
        this.context = context;
        MediaDriver launched = null;
        Aeron client = null;
        try
        {
            final String dir;
            if (context.aeronDirectoryName() == null)
            {
                dir = Files.createTempDirectory("coedge-aeron-").toString();
                launched = MediaDriver.launchEmbedded(new MediaDriver.Context()
                    .aeronDirectoryName(new File(dir, "driver").getPath())
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true)
                    .threadingMode(ThreadingMode.valueOf(
                        System.getProperty(TransportContext.DRIVER_THREADING_PROP, "SHARED").toUpperCase()))
                    .sharedIdleStrategy(driverIdle(context))
                    .sharedNetworkIdleStrategy(driverIdle(context))
                    .senderIdleStrategy(driverIdle(context))
                    .receiverIdleStrategy(driverIdle(context))
                    .mtuLength(context.mtuLength())
                    .socketRcvbufLength(SOCKET_BUFFER_BYTES)
                    .socketSndbufLength(SOCKET_BUFFER_BYTES)
                    .initialWindowLength(SOCKET_BUFFER_BYTES)
                    .imageLivenessTimeoutNs(Math.max(TimeUnit.SECONDS.toNanos(2), 2 * context.peerTimeoutNs()))
                    .publicationConnectionTimeoutNs(TimeUnit.SECONDS.toNanos(5))
                    .warnIfDirectoryExists(false));
                client = Aeron.connect(new Aeron.Context().aeronDirectoryName(launched.aeronDirectoryName()));
            }
            else
            {
                client = Aeron.connect(new Aeron.Context().aeronDirectoryName(context.aeronDirectoryName()));
            }
            // a concrete port, so that every subscription on the channel shares its socket
            final String listen = withFreePort(context.listenEndpoint());
            this.listenChannel = channel(listen).build();
            final Subscription control = client.addSubscription(listenChannel, CONTROL_STREAM_ID);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (control.channelStatus() != ChannelEndpointStatus.ACTIVE)
            {
                if (control.channelStatus() == ChannelEndpointStatus.ERRORED || System.nanoTime() > deadline)
                {
                    throw new IllegalStateException("cannot listen on " + listen +
                        " (is the port in use?)");
                }
                Thread.onSpinWait();
            }
            this.endpoint = listen;
            this.controlSubscription = control;
        }
        catch (final RuntimeException | java.io.IOException e)
        {
            CloseHelper.quietCloseAll(client, launched);
            if (e instanceof RuntimeException)
            {
                throw (RuntimeException)e;
            }
            throw new IllegalStateException("cannot start the media driver: " + e.getMessage(), e);
        }
        this.driver = launched;
        this.aeron = client;
    }

    private static BackoffIdleStrategy driverIdle(final TransportContext context)
    {
        return new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(1), context.driverMaxParkNs());
    }

    private static int kernelSocketBufferLimit()
    {
        int limit = 4 * 1024 * 1024;
        for (final String file : new String[]{"/proc/sys/net/core/rmem_max", "/proc/sys/net/core/wmem_max"})
        {
            try
            {
                limit = Math.min(limit, Integer.parseInt(Files.readString(java.nio.file.Path.of(file)).trim()));
            }
            catch (final java.io.IOException | NumberFormatException | SecurityException e)
            {
                limit = Math.min(limit, 208 * 1024);
            }
        }
        return Math.max(64 * 1024, Integer.highestOneBit(limit));
    }

    private static String withFreePort(final String endpoint)
    {
        final java.net.InetSocketAddress address = Endpoints.parse(endpoint);
        if (address.getPort() != 0)
        {
            return endpoint;
        }
        try (java.net.DatagramSocket probe = new java.net.DatagramSocket(
            new java.net.InetSocketAddress(address.getHostString(), 0)))
        {
            return address.getHostString() + ":" + probe.getLocalPort();
        }
        catch (final java.io.IOException e)
        {
            throw new IllegalArgumentException("cannot bind " + endpoint + ": " + e.getMessage(), e);
        }
    }

    private ChannelUriStringBuilder channel(final String endpoint)
    {
        Endpoints.parse(endpoint);
        return new ChannelUriStringBuilder().media(CommonContext.UDP_MEDIA).endpoint(endpoint)
            .mtu(context.mtuLength());
    }

    public TransportContext context()
    {
        return context;
    }

    /** @return {@code HOST:PORT} this node listens on, with the port the OS chose if 0 was asked. */
    public String endpoint()
    {
        return endpoint;
    }

    /** @return the subscription control messages to this node arrive on. */
    public Subscription controlSubscription()
    {
        return controlSubscription;
    }

    /** @return a publication of control messages to the node listening at {@code peerEndpoint}. */
    public Publication addControlPublication(final String peerEndpoint)
    {
        return aeron.addPublication(channel(peerEndpoint).build(), CONTROL_STREAM_ID);
    }

    /** @return the subscription row blocks from node {@code senderNode} arrive on at this node. */
    public Subscription addRowBlockSubscription(final int senderNode)
    {
        return aeron.addSubscription(listenChannel, DATA_STREAM_BASE + senderNode);
    }

    /**
     * @param sessionId   the session id the receiver will accept blocks from (agreed in the authenticated plan).
     * @param termLength  a power of two in [{@link TransportContext#MIN_TERM_LENGTH},
     *                    {@link TransportContext#MAX_TERM_LENGTH}]: a term holds twice what may be in flight.
     * @return an exclusive publication of row blocks from node {@code senderNode} to {@code peerEndpoint}.
     */
    public ExclusivePublication addRowBlockPublication(
        final String peerEndpoint, final int senderNode, final int sessionId, final int termLength)
    {
        return addRowBlockPublication(peerEndpoint, senderNode, sessionId, termLength, context.mtuLength());
    }

    /** As above with the frame size the plan names, so sender and receiver cut blocks into the same chunks. */
    public ExclusivePublication addRowBlockPublication(
        final String peerEndpoint, final int senderNode, final int sessionId, final int termLength, final int mtu)
    {
        if (termLength < TransportContext.MIN_TERM_LENGTH || termLength > TransportContext.MAX_TERM_LENGTH ||
            Integer.bitCount(termLength) != 1)
        {
            throw new IllegalArgumentException("term length must be a power of two in [" +
                TransportContext.MIN_TERM_LENGTH + ", " + TransportContext.MAX_TERM_LENGTH + "]: " + termLength);
        }
        return aeron.addExclusivePublication(
            channel(peerEndpoint).mtu(mtu).termLength(termLength).sessionId(sessionId).build(),
            DATA_STREAM_BASE + senderNode);
    }

    /** @return payload bytes of one row-block chunk on a channel with frames of {@code mtu} bytes. */
    public static int chunkBytes(final int mtu)
    {
        return mtu - io.aeron.protocol.DataHeaderFlyweight.HEADER_LENGTH - RowBlockPublisher.CHUNK_OVERHEAD_BYTES;
    }

    /** @return frames the media driver dropped because it could not parse them (garbage at the port). */
    public long driverInvalidPackets()
    {
        final CountersReader counters = aeron.countersReader();
        final long[] value = {0};
        counters.forEach((counterId, typeId, keyBuffer, label) ->
        {
            if (typeId == 0 && label.startsWith(INVALID_PACKETS_LABEL))
            {
                value[0] = counters.getCounterValue(counterId);
            }
        });
        return value[0];
    }

    /** @return the Aeron client, for what the factory methods above do not cover (tests, benchmarks). */
    public Aeron aeron()
    {
        return aeron;
    }

    @Override
    public void close()
    {
        CloseHelper.quietCloseAll(aeron, driver);
        if (driver != null)
        {
            final File dir = new File(driver.aeronDirectoryName()).getParentFile();
            if (dir != null)
            {
                //noinspection ResultOfMethodCallIgnored
                dir.delete();
            }
        }
    }
}
