package org.coedge.transport;

import java.util.concurrent.TimeUnit;

/**
 * Configuration of one {@link TransportNode}: where it listens, whether it embeds its own media driver, frame sizes
 * and every timeout. Each value has a system property and a default beside it; {@link #conclude()} validates them
 * once, before a node is built. Not thread-safe: configure on one thread, then hand to the node.
 */
public final class TransportContext
{
    /** Aeron directory of an external media driver; unset means embed a driver per node. */
    public static final String AERON_DIR_PROP = "coedge.aeron.dir";
    public static final String MTU_PROP = "coedge.transport.mtu";
    public static final int MTU_DEFAULT = 8192;
    public static final String HEARTBEAT_INTERVAL_PROP = "coedge.heartbeat.interval.ms";
    public static final long HEARTBEAT_INTERVAL_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(100);
    public static final String PEER_TIMEOUT_PROP = "coedge.peer.timeout.ms";
    public static final long PEER_TIMEOUT_DEFAULT_NS = TimeUnit.MILLISECONDS.toNanos(1000);
    public static final String SEND_TIMEOUT_PROP = "coedge.send.timeout.ms";
    public static final long SEND_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(10);
    public static final String JOIN_CLOCK_SKEW_PROP = "coedge.join.clock.skew.ms";
    public static final long JOIN_CLOCK_SKEW_DEFAULT_MS = 30_000;
    /**
     * Longest sleep of the embedded driver's thread when idle: shorter means less latency per message, longer means
     * less CPU taken from a device's compute thread when the driver shares its core.
     */
    public static final String DRIVER_MAX_PARK_PROP = "coedge.driver.max.park.us";
    public static final long DRIVER_MAX_PARK_DEFAULT_US = 100;
    /**
     * Longest sleep of the embedded driver's thread when the node is not busy with the network (no message sent in
     * the last 2 ms, no thread waiting for rows): an idle node's driver then wakes 1,000 times a second rather than
     * 10,000; a message committed wakes it at once ({@link DriverWakeups}). At most the first frame of a message
     * that arrives while nobody waits for it is delayed by up to this.
     */
    public static final String DRIVER_IDLE_PARK_PROP = "coedge.driver.idle.park.us";
    public static final long DRIVER_IDLE_PARK_DEFAULT_US = 1000;
    /**
     * Threading of an embedded driver: SHARED (one thread), SHARED_NETWORK, DEDICATED, or INVOKER (no thread: the
     * node's own threads run it where they wait, so a block leaves when its sender commits it; see
     * {@link TransportNode}). The default is INVOKER where the JVM has one processor and SHARED elsewhere: on one
     * core a driver thread of its own waits for the scheduler to give it the core the compute thread holds. On a busy
     * one-core sender INVOKER cut the send-to-arrival latency of a 16 KiB block from about 1.2 ms to 0.2-0.3 ms
     * (median), and on a 0.45-core one from 2.5-3.4 ms to 0.4 ms ({@code LinkWaitBench}); on the testbed, ResNet-18
     * split equally over two devices pinned to a core each waited 17 ms per request with SHARED and 5 ms with
     * INVOKER (42.2 against 32.5 ms, 40.5 alone). Its costs: Aeron's duty cycle, run on the caller's thread,
     * allocates a little (64 bytes per 200 row-block round trips in {@code TransportNodeTest}), and a same-thread
     * ping-pong between two nodes runs at the keeper's pace.
     */
    public static final String DRIVER_THREADING_PROP = "coedge.driver.threading";
    public static final String DRIVER_THREADING_DEFAULT = Runtime.getRuntime().availableProcessors() == 1 ?
        "INVOKER" : "SHARED";
    /** Longest sleep of a node's control loop when idle. */
    public static final String CONTROL_MAX_PARK_PROP = "coedge.control.max.park.us";
    public static final long CONTROL_MAX_PARK_DEFAULT_US = 1000;
    /**
     * Longest sleep of a thread waiting for rows or for room to send them: it backs off from a spin through yields
     * to parks of up to this, so that a device waiting for its peers leaves its CPU (its quota) to others.
     */
    public static final String WAIT_MAX_PARK_PROP = "coedge.wait.max.park.us";
    public static final long WAIT_MAX_PARK_DEFAULT_US = 50;
    /** Smallest and largest term a data publication may ask for (Aeron's own limits are 64 KiB and 1 GiB). */
    public static final int MIN_TERM_LENGTH = 64 * 1024;
    public static final int MAX_TERM_LENGTH = 256 * 1024 * 1024;

    private String aeronDirectoryName = System.getProperty(AERON_DIR_PROP);
    private String listenEndpoint = "127.0.0.1:0";
    private int mtuLength = Integer.getInteger(MTU_PROP, MTU_DEFAULT);
    private long heartbeatIntervalNs = millisProperty(HEARTBEAT_INTERVAL_PROP, HEARTBEAT_INTERVAL_DEFAULT_NS);
    private long peerTimeoutNs = millisProperty(PEER_TIMEOUT_PROP, PEER_TIMEOUT_DEFAULT_NS);
    private long sendTimeoutNs = millisProperty(SEND_TIMEOUT_PROP, SEND_TIMEOUT_DEFAULT_NS);
    private long joinClockSkewMs = Long.getLong(JOIN_CLOCK_SKEW_PROP, JOIN_CLOCK_SKEW_DEFAULT_MS);
    private long driverMaxParkNs = TimeUnit.MICROSECONDS.toNanos(Long.getLong(DRIVER_MAX_PARK_PROP,
        DRIVER_MAX_PARK_DEFAULT_US));
    private long driverIdleParkNs = TimeUnit.MICROSECONDS.toNanos(Long.getLong(DRIVER_IDLE_PARK_PROP,
        DRIVER_IDLE_PARK_DEFAULT_US));
    private long controlMaxParkNs = TimeUnit.MICROSECONDS.toNanos(Long.getLong(CONTROL_MAX_PARK_PROP,
        CONTROL_MAX_PARK_DEFAULT_US));
    private String driverThreading = System.getProperty(DRIVER_THREADING_PROP, DRIVER_THREADING_DEFAULT);
    private long waitMaxParkNs = TimeUnit.MICROSECONDS.toNanos(Long.getLong(WAIT_MAX_PARK_PROP,
        WAIT_MAX_PARK_DEFAULT_US));
    private boolean concluded;

    private static long millisProperty(final String name, final long defaultNs)
    {
        final Long ms = Long.getLong(name);
        return ms == null ? defaultNs : TimeUnit.MILLISECONDS.toNanos(ms);
    }

    /**
     * Checks every value once.
     *
     * @throws IllegalArgumentException naming the value that is wrong.
     */
    public TransportContext conclude()
    {
        Endpoints.parse(listenEndpoint);
        if (mtuLength < 1408 || mtuLength > 65504 || mtuLength % 32 != 0)
        {
            throw new IllegalArgumentException("mtu must be a multiple of 32 in [1408, 65504]: " + mtuLength);
        }
        positive("heartbeat interval", heartbeatIntervalNs);
        positive("peer timeout", peerTimeoutNs);
        positive("send timeout", sendTimeoutNs);
        if (peerTimeoutNs < 2 * heartbeatIntervalNs)
        {
            throw new IllegalArgumentException("peer timeout (" + peerTimeoutNs / 1_000_000 +
                " ms) must be at least two heartbeat intervals (" + heartbeatIntervalNs / 1_000_000 + " ms)");
        }
        positive("join clock skew", joinClockSkewMs);
        positive("driver max park", driverMaxParkNs);
        positive("driver idle park", driverIdleParkNs);
        positive("control max park", controlMaxParkNs);
        positive("wait max park", waitMaxParkNs);
        driverThreadingMode();
        concluded = true;
        return this;
    }

    private static void positive(final String what, final long value)
    {
        if (value <= 0)
        {
            throw new IllegalArgumentException(what + " must be > 0: " + value);
        }
    }

    boolean isConcluded()
    {
        return concluded;
    }

    public long driverMaxParkNs()
    {
        return driverMaxParkNs;
    }

    public TransportContext driverMaxParkNs(final long ns)
    {
        this.driverMaxParkNs = ns;
        return this;
    }

    /** @return longest park of the driver's threads while the node is not busy with the network (at least the max park). */
    public long driverIdleParkNs()
    {
        return driverIdleParkNs;
    }

    public TransportContext driverIdleParkNs(final long ns)
    {
        this.driverIdleParkNs = ns;
        return this;
    }

    /** @return the embedded driver's threading mode. */
    public io.aeron.driver.ThreadingMode driverThreadingMode()
    {
        try
        {
            return io.aeron.driver.ThreadingMode.valueOf(driverThreading.trim().toUpperCase());
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("driver threading must be SHARED, SHARED_NETWORK, DEDICATED or " +
                "INVOKER: " + driverThreading);
        }
    }

    public TransportContext driverThreading(final String mode)
    {
        this.driverThreading = mode;
        return this;
    }

    public long waitMaxParkNs()
    {
        return waitMaxParkNs;
    }

    public TransportContext waitMaxParkNs(final long ns)
    {
        this.waitMaxParkNs = ns;
        return this;
    }

    /** @return the idle strategy of a wait for rows or room: a few spins and yields, then parks up to maxParkNs. */
    public static org.agrona.concurrent.IdleStrategy waitIdle(final long maxParkNs)
    {
        return new org.agrona.concurrent.BackoffIdleStrategy(20, 5, TimeUnit.MICROSECONDS.toNanos(1),
            Math.max(TimeUnit.MICROSECONDS.toNanos(1), maxParkNs));
    }

    public long controlMaxParkNs()
    {
        return controlMaxParkNs;
    }

    public TransportContext controlMaxParkNs(final long ns)
    {
        this.controlMaxParkNs = ns;
        return this;
    }

    public String aeronDirectoryName()
    {
        return aeronDirectoryName;
    }

    /** @param dir an external media driver's directory, or null to embed a driver in the node. */
    public TransportContext aeronDirectoryName(final String dir)
    {
        this.aeronDirectoryName = dir;
        return this;
    }

    public String listenEndpoint()
    {
        return listenEndpoint;
    }

    /** @param endpoint {@code HOST:PORT} the node receives control messages and row blocks on; port 0 picks one. */
    public TransportContext listenEndpoint(final String endpoint)
    {
        this.listenEndpoint = endpoint;
        return this;
    }

    public int mtuLength()
    {
        return mtuLength;
    }

    public TransportContext mtuLength(final int mtuLength)
    {
        this.mtuLength = mtuLength;
        return this;
    }

    public long heartbeatIntervalNs()
    {
        return heartbeatIntervalNs;
    }

    public TransportContext heartbeatIntervalNs(final long ns)
    {
        this.heartbeatIntervalNs = ns;
        return this;
    }

    /** @return how long a peer may stay silent before it is declared failed. */
    public long peerTimeoutNs()
    {
        return peerTimeoutNs;
    }

    public TransportContext peerTimeoutNs(final long ns)
    {
        this.peerTimeoutNs = ns;
        return this;
    }

    /** @return how long a send may stay back-pressured or not connected before it fails. */
    public long sendTimeoutNs()
    {
        return sendTimeoutNs;
    }

    public TransportContext sendTimeoutNs(final long ns)
    {
        this.sendTimeoutNs = ns;
        return this;
    }

    /** @return how far a join's wall clock may be from ours before the join is treated as a replay. */
    public long joinClockSkewMs()
    {
        return joinClockSkewMs;
    }

    public TransportContext joinClockSkewMs(final long ms)
    {
        this.joinClockSkewMs = ms;
        return this;
    }
}
