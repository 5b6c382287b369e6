package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.transport.ProbeReceiver;
import org.coedge.transport.RowBlockPublisher;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;

/**
 * Probes the link to each worker over the data path, as a plan's rows travel: row blocks on the worker's probe
 * stream ({@link ProbeReceiver}), each burst answered by a probe reply over control (which {@link Membership}
 * keeps). The round trip is the best of {@value #PINGS} one-block probes (the first ones also warm both JVMs' code
 * paths up); the rate is the best of {@value #PROBE_BURSTS} bursts of {@value #PROBE_BURST_BYTES} bytes, long
 * enough that a token bucket's burst allowance or a socket buffer does not flatter it. The results land in the
 * {@link Worker} record ({@link Worker#rttNs()}, {@link Worker#bytesPerSecond()}).
 * <p>
 * Called by {@link Coordinator#start()} once per joined worker, and by {@link LinkWatch} between requests for one
 * burst ({@link #burst}), on the coordinator's thread.
 */
final class LinkProber
{
    private static final int PINGS = 100;
    private static final int PROBE_BLOCK_BYTES = 64 * 1024;
    private static final int PROBE_BURST_BYTES = 2 * 1024 * 1024;
    private static final int PROBE_BURSTS = 3;
    private static final int PROBE_TERM_BYTES = 1024 * 1024;

    private final TransportNode node;
    private final Membership membership;
    private final WaitHook hook;
    private final PrintWriter log;
    private final SecureRandom random = new SecureRandom();
    private final java.util.Map<Integer, RowBlockPublisher> bursts = new java.util.HashMap<>();
    private UnsafeBuffer burstPayload;

    /** @param hook how a send that waits on back pressure polls control and checks liveness meanwhile. */
    LinkProber(final TransportNode node, final Membership membership, final WaitHook hook, final PrintWriter log)
    {
        this.node = node;
        this.membership = membership;
        this.hook = hook;
        this.log = log;
    }

    /** Measures the round trip and rate of worker {@code w}'s data path; leaves them 0 when it does not answer. */
    void probe(final Worker w)
    {
        final UnsafeBuffer payload = new UnsafeBuffer(BufferUtil.allocateDirectAligned(PROBE_BLOCK_BYTES, 64));
        final int sessionId = 4096 + random.nextInt(1 << 28);
        final long sessionToken = membership.sessionToken();
        try (RowBlockPublisher rows = new RowBlockPublisher(
            node.addProbePublication(w.endpoint, sessionId, PROBE_TERM_BYTES), node))
        {
            final long connectBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!rows.publication().isConnected())
            {
                if (System.nanoTime() > connectBy)
                {
                    log.println("coordinator: no data path to worker " + w.nodeId + " for a probe");
                    return;
                }
                membership.pollControl();
            }
            final long sendTimeoutNs = TimeUnit.SECONDS.toNanos(5);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < PINGS; i++)
            {
                final long id = random.nextLong() & Long.MAX_VALUE;
                final long t0 = System.nanoTime();
                if (rows.send(sessionToken, ProbeReceiver.PROBE_EPOCH, id, 0, -1, 0, 1, payload, 0, 64,
                    sendTimeoutNs, hook) != TransportCodes.OK || !awaitProbeReply(id, t0 + TimeUnit.SECONDS.toNanos(2)))
                {
                    log.println("coordinator: worker " + w.nodeId + " did not answer a probe");
                    return;
                }
                best = Math.min(best, membership.probeReplyAtNs() - t0);
            }
            w.rttNs = best;
            final int count = PROBE_BURST_BYTES / PROBE_BLOCK_BYTES;
            for (int burst = 0; burst < PROBE_BURSTS; burst++)
            {
                final long id = random.nextLong() & Long.MAX_VALUE;
                final long t0 = System.nanoTime();
                boolean sent = true;
                for (int i = 0; i < count && sent; i++)
                {
                    sent = rows.send(sessionToken, ProbeReceiver.PROBE_EPOCH, id, i, -1, 0, count, payload, 0,
                        PROBE_BLOCK_BYTES, sendTimeoutNs, hook) == TransportCodes.OK;
                }
                if (sent && awaitProbeReply(id, t0 + TimeUnit.SECONDS.toNanos(30)))
                {
                    w.bytesPerSecond = Math.max(w.bytesPerSecond, membership.probeReplyBytes() /
                        Math.max(1e-9, (membership.probeReplyAtNs() - t0 - best / 2) * 1e-9));
                }
            }
            log.printf(Locale.ROOT, "coordinator: link to worker %d: round trip %.0f us, %.1f MB/s over the data " +
                "path%n", w.nodeId, w.rttNs / 1e3, w.bytesPerSecond / 1e6);
        }
    }

    /**
     * Sends one burst of {@code bytes} (whole blocks of {@value #PROBE_BLOCK_BYTES}) to worker {@code w} on a probe
     * publication kept for it, and waits for its reply.
     *
     * @return the rate the burst arrived at, bytes per second (half the probed round trip taken off its time); 0 if
     * the worker has no data path yet or did not answer within a second.
     */
    double burst(final Worker w, final int bytes)
    {
        RowBlockPublisher rows = bursts.get(w.nodeId);
        if (rows == null)
        {
            rows = new RowBlockPublisher(node.addProbePublication(w.endpoint, 4096 + random.nextInt(1 << 28),
                PROBE_TERM_BYTES), node);
            bursts.put(w.nodeId, rows);
            burstPayload = burstPayload != null ? burstPayload :
                new UnsafeBuffer(BufferUtil.allocateDirectAligned(PROBE_BLOCK_BYTES, 64));
        }
        if (!rows.publication().isConnected())
        {
            return 0;
        }
        final int count = Math.max(1, bytes / PROBE_BLOCK_BYTES);
        final long id = random.nextLong() & Long.MAX_VALUE;
        final long t0 = System.nanoTime();
        for (int i = 0; i < count; i++)
        {
            if (rows.send(membership.sessionToken(), ProbeReceiver.PROBE_EPOCH, id, i, -1, 0, count, burstPayload, 0,
                PROBE_BLOCK_BYTES, TimeUnit.SECONDS.toNanos(1), hook) != TransportCodes.OK)
            {
                return 0;
            }
        }
        if (!awaitProbeReply(id, t0 + TimeUnit.SECONDS.toNanos(1)))
        {
            return 0;
        }
        final double ns = membership.probeReplyAtNs() - t0 - w.rttNs / 2;
        return membership.probeReplyBytes() / Math.max(1e-9, ns * 1e-9);
    }

    /** Closes the burst publications. */
    void close()
    {
        for (final RowBlockPublisher rows : bursts.values())
        {
            org.agrona.CloseHelper.quietClose(rows);
        }
        bursts.clear();
    }

    private boolean awaitProbeReply(final long id, final long deadline)
    {
        while (membership.probeReplyId() != id)
        {
            if (System.nanoTime() > deadline)
            {
                return false;
            }
            membership.pollControl();
        }
        return true;
    }
}
