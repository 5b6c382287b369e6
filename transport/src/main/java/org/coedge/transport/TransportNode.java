package org.coedge.transport;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

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
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.status.CountersReader;

/**
 * One node's share of the network: an embedded Aeron media driver (or a client of an external one named by
 * {@link TransportContext#aeronDirectoryName()}), the Aeron client, and the subscription on the node's listen
 * endpoint that control messages arrive on. Row blocks arrive on the same endpoint with one stream per sending node
 * ({@link #DATA_STREAM_BASE} + sender), so each sender's blocks form their own image.
 * <p>
 * An embedded driver lives in {@code coedge-aeron-pid<PID>-*} under the temporary directory ({@link DriverDirectories}):
 * removed on close and by a shutdown hook if the JVM exits first; those of killed processes are removed when the
 * next node starts.
 * <p>
 * With {@code -Dcoedge.driver.threading=INVOKER} the driver has no thread of its own: the device's threads run its
 * duty cycle ({@link #invokeDriver()}) where they wait anyway (their idle loops, row-block sends and receives), so a
 * block committed while its sender goes on computing is sent by the sender itself, not when the scheduler next gives
 * a driver thread the core; a keeper thread that sleeps {@value #KEEPER_PERIOD_MS} ms runs it when nobody else has
 * (a long compute step, a JVM busy loading a model), so heartbeats, status messages and Aeron's own liveness go on.
 * <p>
 * Built and closed by the engine's coordinator or worker; the factory methods are cold-path and thread-safe (Aeron's
 * client is); each publication, subscription and adapter made is then used by one thread; {@link #invokeDriver()} is
 * safe from any thread.
 */
public final class TransportNode implements AutoCloseable
{
    public static final int CONTROL_STREAM_ID = 1001;
    public static final int DATA_STREAM_BASE = 2000;
    /** Row blocks of link probes ({@link ProbeReceiver}) arrive on their own stream, apart from any plan's. */
    public static final int PROBE_STREAM_ID = 1002;
    /** Aeron's driver counts frames it cannot parse under this system counter. */
    private static final String INVALID_PACKETS_LABEL = "Invalid packets";

    /**
     * Bytes a receiver lets a sender have in flight: the kernel's largest socket buffer (up to 4 MiB), since Aeron's
     * receive window may not exceed the socket's. A sender that has more than this unread at one peer waits.
     */
    public static final int SOCKET_BUFFER_BYTES = kernelSocketBufferLimit();
    /** In INVOKER mode, the longest the driver goes without a duty cycle while the node's threads are busy. */
    static final long KEEPER_PERIOD_MS = 20;
    /** How long after a send the keeper comes by every 1 ms instead. */
    static final long KEEPER_IN_FLIGHT_MS = 100;
    /** Longest park of a thread waiting on the network when the driver wakes it on work. */
    static final long WOKEN_WAIT_MAX_PARK_NS = TimeUnit.MILLISECONDS.toNanos(1);
    /** Longest park of a listening loop when the driver wakes it on work (heartbeats are due every 100 ms). */
    static final long WOKEN_LISTEN_MAX_PARK_NS = TimeUnit.MILLISECONDS.toNanos(10);
    /** How long a client or driver may go unserviced (a JVM stalled at a safepoint) before Aeron gives up on it. */
    private static final long LIVENESS_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(20);
    /** How long the shutdown hook keeps deleting a driver directory that its still-running driver writes into. */
    private static final long HOOK_DELETE_MS = 2000;

    private final TransportContext context;
    private final DriverWakeups wakeups;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final Subscription controlSubscription;
    private final String endpoint;
    /** The channel as first subscribed: Aeron shares one socket between subscriptions of the same channel string. */
    private final String listenChannel;
    private final Path driverDir;
    private final Thread dirHook;
    private final AgentInvoker driverInvoker;
    private final AgentInvoker clientInvoker; // the Aeron client's conductor, run with the driver in INVOKER mode
    private final AtomicBoolean invoking = new AtomicBoolean();
    private final Thread keeper;
    private volatile boolean closed;
    private volatile long lastInvokeNs;
    private volatile boolean keeperIdle; // the keeper is in (or about to enter) an idle park

    public TransportNode(final TransportContext context)
    {
        if (!context.isConcluded())
        {
            context.conclude();
        }
        this.context = context;
        this.wakeups = new DriverWakeups(context.driverMaxParkNs(),
            Math.max(context.driverMaxParkNs(), context.driverIdleParkNs()));
        MediaDriver launched = null;
        Aeron client = null;
        Path dir = null;
        Thread hook = null;
        AgentInvoker invoker = null;
        try
        {
            if (context.aeronDirectoryName() == null)
            {
                final Path parent = DriverDirectories.parent();
                DriverDirectories.removeStale(parent);
                dir = DriverDirectories.create(parent);
                final Path owned = dir;
                // the driver's threads keep running beside the hook, and may still be creating its files
                hook = new Thread(() -> DriverDirectories.deleteWhileWritten(owned, HOOK_DELETE_MS),
                    "coedge-driver-dir-cleanup");
                Runtime.getRuntime().addShutdownHook(hook);
                final ThreadingMode mode = context.driverThreadingMode();
                launched = MediaDriver.launchEmbedded(new MediaDriver.Context()
                    .aeronDirectoryName(new File(dir.toFile(), "driver").getPath())
                    .dirDeleteOnStart(true)
                    .dirDeleteOnShutdown(true)
                    .threadingMode(mode)
                    .sharedIdleStrategy(wakeups.driverIdle())
                    .sharedNetworkIdleStrategy(wakeups.driverIdle())
                    .senderIdleStrategy(wakeups.driverIdle())
                    .receiverIdleStrategy(wakeups.driverIdle())
                    // its tasks (name resolution) run on the conductor: the executor's thread, polling its queue,
                    // cost an idle node 1.5% of a core, and endpoints here are addresses
                    .asyncExecutorEnabled(false)
                    .mtuLength(context.mtuLength())
                    .socketRcvbufLength(SOCKET_BUFFER_BYTES)
                    .socketSndbufLength(SOCKET_BUFFER_BYTES)
                    .initialWindowLength(SOCKET_BUFFER_BYTES)
                    .imageLivenessTimeoutNs(Math.max(TimeUnit.SECONDS.toNanos(2), 2 * context.peerTimeoutNs()))
                    .publicationConnectionTimeoutNs(TimeUnit.SECONDS.toNanos(5))
                    .clientLivenessTimeoutNs(LIVENESS_TIMEOUT_NS)
                    .publicationUnblockTimeoutNs(2 * LIVENESS_TIMEOUT_NS)
                    .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(LIVENESS_TIMEOUT_NS))
                    .warnIfDirectoryExists(false));
                final Aeron.Context clientContext = new Aeron.Context()
                    .aeronDirectoryName(launched.aeronDirectoryName())
                    .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(LIVENESS_TIMEOUT_NS));
                if (mode == ThreadingMode.INVOKER)
                {
                    invoker = launched.sharedAgentInvoker();
                    if (!invoker.isStarted())
                    {
                        invoker.start();
                    }
                    // the client runs the driver's duty cycle while it awaits the driver's answers: through the guard,
                    // and without the client's conductor, which would take the answer the client is waiting for
                    final AgentInvoker guarded = new AgentInvoker(Throwable::printStackTrace, null, new Agent()
                    {
                        public int doWork()
                        {
                            return invoke(false);
                        }

                        public String roleName()
                        {
                            return "coedge-driver-guard";
                        }
                    });
                    guarded.start();
                    clientContext.driverAgentInvoker(guarded).useConductorAgentInvoker(true);
                }
                this.driverInvoker = invoker;
                client = Aeron.connect(clientContext);
                this.clientInvoker = mode == ThreadingMode.INVOKER ? client.conductorAgentInvoker() : null;
            }
            else
            {
                this.driverInvoker = null;
                this.clientInvoker = null;
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
                if (invokeDriver() == 0)
                {
                    Thread.onSpinWait();
                }
            }
            this.endpoint = listen;
            this.controlSubscription = control;
        }
        catch (final RuntimeException | java.io.IOException e)
        {
            CloseHelper.quietCloseAll(client, launched);
            if (hook != null)
            {
                removeHook(hook);
            }
            if (dir != null)
            {
                DriverDirectories.delete(dir);
            }
            if (e instanceof RuntimeException)
            {
                throw (RuntimeException)e;
            }
            throw new IllegalStateException("cannot start the media driver: " + e.getMessage(), e);
        }
        this.driver = launched;
        this.aeron = client;
        this.driverDir = dir;
        this.dirHook = hook;
        if (driverInvoker != null)
        {
            keeper = new Thread(this::keepDriverServiced, "coedge-driver-keeper");
            keeper.setDaemon(true);
            keeper.start();
        }
        else
        {
            keeper = null;
        }
    }

    /**
     * Runs one duty cycle of the embedded driver and of the Aeron client's conductor when they have no thread of their own
     * (INVOKER mode) and no other thread is running one now; otherwise does nothing. Allocates nothing; any thread.
     *
     * @return work the driver did (0 when not run).
     */
    public int invokeDriver()
    {
        return invoke(true);
    }

    private int invoke(final boolean withClient)
    {
        if (driverInvoker == null || !invoking.compareAndSet(false, true))
        {
            return 0;
        }
        try
        {
            lastInvokeNs = System.nanoTime();
            final int work = driverInvoker.invoke();
            final AgentInvoker client = clientInvoker;
            return client == null || !withClient ? work : work + client.invoke();
        }
        finally
        {
            invoking.set(false);
        }
    }

    /** @return true if this node's threads run the driver ({@link #invokeDriver()} does something). */
    public boolean invokesDriver()
    {
        return driverInvoker != null;
    }

    /** @return the directory of the embedded driver, or null for an external one. */
    public Path driverDirectory()
    {
        return driverDir;
    }

    /**
     * The keeper: every {@value #KEEPER_PERIOD_MS} ms, or every 1 ms for {@value #KEEPER_IN_FLIGHT_MS} ms after a
     * send, if no other thread ran the driver in the last 1 ms, runs it; when it finds work (traffic that only it
     * serves, e.g. a caller that does not invoke), it comes back after 1 ms until the work stops.
     */
    private void keepDriverServiced()
    {
        final long idlePeriodNs = TimeUnit.MILLISECONDS.toNanos(KEEPER_PERIOD_MS);
        final long busyPeriodNs = TimeUnit.MILLISECONDS.toNanos(1);
        final long inFlightNs = TimeUnit.MILLISECONDS.toNanos(KEEPER_IN_FLIGHT_MS);
        long periodNs = idlePeriodNs;
        while (!closed)
        {
            // a send during an idle park cuts it short (sent()): the in-flight cadence starts with the send
            keeperIdle = periodNs == idlePeriodNs;
            LockSupport.parkNanos(periodNs);
            keeperIdle = false;
            // while messages are in flight (one was sent lately), every 1 ms: the sender's driver must answer the
            // receiver's status messages (flow control) while its thread computes, or a block committed before a
            // 20 ms compute step leaves only when the keeper next comes by, and its receiver waits that long
            periodNs = wakeups.sentWithin(inFlightNs) ? busyPeriodNs : idlePeriodNs;
            if (System.nanoTime() - lastInvokeNs >= busyPeriodNs)
            {
                // drain what piled up (a long compute step), within bounds
                int work = 0;
                for (int i = 0, w; i < 64 && (w = invokeDriver()) > 0; i++)
                {
                    work += w;
                }
                if (work > 0)
                {
                    periodNs = busyPeriodNs;
                }
            }
        }
    }

    private static void removeHook(final Thread hook)
    {
        try
        {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        catch (final IllegalStateException e)
        {
            // the JVM is exiting: the hook runs anyway
        }
    }

    /**
     * @return true when this node's driver runs on threads of its own in this process, which wake the node's
     * waiting threads when they have done work ({@link DriverWakeups}); false for INVOKER mode and an external driver,
     * where waiting threads poll on their own short parks.
     */
    private boolean driverWakesWaiters()
    {
        return driver != null && driverInvoker == null;
    }

    /**
     * @return an idle strategy for one thread waiting on the network (rows, room to send, an answer): woken by the
     * driver when it has done work, else it parks up to {@link TransportContext#waitMaxParkNs()}.
     */
    public IdleStrategy waitIdle()
    {
        return driverWakesWaiters() ? wakeups.waitIdle(true, WOKEN_WAIT_MAX_PARK_NS) :
            TransportContext.waitIdle(context.waitMaxParkNs());
    }

    /**
     * @return an idle strategy for a loop that listens between requests (a worker's control loop): it does not keep
     * the driver hot, and sleeps up to {@link TransportContext#controlMaxParkNs()} where the driver cannot wake it.
     */
    public IdleStrategy listenIdle()
    {
        return driverWakesWaiters() ? wakeups.waitIdle(false, WOKEN_LISTEN_MAX_PARK_NS) :
            new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(1), context.controlMaxParkNs());
    }

    /**
     * Called by a thread that has committed a message: the driver sends it now rather than at its next wake. With
     * threads of its own, they are woken; in INVOKER mode the keeper is, from an idle park, and comes by every 1 ms
     * while the message is in flight. Allocates nothing.
     */
    public void sent()
    {
        if (driver == null)
        {
            return;
        }
        wakeups.sent();
        final Thread k = keeper;
        if (k != null && keeperIdle)
        {
            keeperIdle = false;
            LockSupport.unpark(k);
        }
    }

    /** @return true while the keeper serves the driver every 1 ms, a message having been sent lately; for tests. */
    boolean keeperInFlight()
    {
        return keeper != null && wakeups.sentWithin(TimeUnit.MILLISECONDS.toNanos(KEEPER_IN_FLIGHT_MS));
    }

    private static int kernelSocketBufferLimit()
    {
        return socketBufferLimit(Path.of("/proc/sys/net/core/rmem_max"),
            Path.of("/proc/sys/net/core/wmem_max"));
    }

    /**
     * @return the largest power of two, at most 4 MiB and at least 64 KiB, within the kernel's socket buffer limits
     * read from {@code files} (208 KiB for a limit that cannot be read). Each is read by lines: on Linux 6.18
     * {@code Files.readString} of a {@code /proc/sys} file returned its first byte only ("4" for 4194304), which
     * made every socket buffer, and so every receiver window, 64 KiB.
     */
    static int socketBufferLimit(final Path... files)
    {
        int limit = 4 * 1024 * 1024;
        for (final Path file : files)
        {
            try
            {
                final List<String> lines = Files.readAllLines(file);
                limit = Math.min(limit, Integer.parseInt(lines.isEmpty() ? "" : lines.get(0).trim()));
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

    /** @return the subscription the row blocks of link probes to this node arrive on. */
    public Subscription addProbeSubscription()
    {
        return aeron.addSubscription(listenChannel, PROBE_STREAM_ID);
    }

    /**
     * @return an exclusive publication of probe row blocks to {@code peerEndpoint}: the channel, frame size and
     * socket of the plans' rows, on the probe stream.
     */
    public ExclusivePublication addProbePublication(final String peerEndpoint, final int sessionId,
        final int termLength)
    {
        return aeron.addExclusivePublication(
            channel(peerEndpoint).termLength(termLength).sessionId(sessionId).build(), PROBE_STREAM_ID);
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
        closed = true;
        if (keeper != null)
        {
            LockSupport.unpark(keeper);
            try
            {
                keeper.join(1000);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }
        CloseHelper.quietCloseAll(aeron, driver);
        if (driverDir != null)
        {
            DriverDirectories.delete(driverDir);
            removeHook(dirHook);
        }
    }
}
