package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.IdleStrategy;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.ControlAdapter;
import org.coedge.transport.ControlListener;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.Endpoints;
import org.coedge.transport.TransportNode;
import org.coedge.transport.sbe.ErrorMessageDecoder;
import org.coedge.transport.sbe.HeartbeatDecoder;
import org.coedge.transport.sbe.PlanAckDecoder;
import org.coedge.transport.sbe.ProbeReplyDecoder;
import org.coedge.transport.sbe.ResultDecoder;
import org.coedge.transport.sbe.Status;
import org.coedge.transport.sbe.WelcomeDecoder;

/**
 * The coordinator's side of the control session: its token, the control adapter and proxy, and one {@link Worker}
 * record per peer. It joins the peers (each loads the model from its own disk and must report the same SHA-256),
 * asks a failed worker to join again once a second, hears heartbeats, judges liveness by the peer timeout, files
 * every plan acknowledgement and request result of the current epoch into its worker's record, keeps the last probe
 * reply for {@link LinkProber}, and says goodbye at close.
 * <p>
 * Built and driven by {@link Coordinator}; {@link PlanSession} and {@link LinkProber} poll control through it. All
 * on the coordinator's thread: messages are handled while {@link #pollControl()} or {@link #pollBriefly()} runs.
 */
final class Membership implements ControlListener
{
    /** Joins less often than plans and requests: the first one has the worker hash and load the model. */
    private static final long JOIN_RESEND_NS = TimeUnit.SECONDS.toNanos(1);

    private final TransportNode node;
    private final ModelRef model;
    private final SpeedBook speeds;
    private final PrintWriter log;
    private final ControlAdapter adapter;
    private final ControlProxy proxy;
    private final long sessionToken;
    private final List<Worker> workers = new ArrayList<>();
    private final long peerTimeoutNs;
    private final long joinTimeoutNs;
    private final IdleStrategy controlIdle;

    private long epoch; // acks and results of other epochs are not filed
    private long requestId;
    private boolean failureSeen;
    private boolean replanNeeded;
    private long probeReplyId = -1;
    private long probeReplyBytes;
    private long probeReplyAtNs;

    /**
     * @param peers  control endpoints of the workers: {@code peers.get(i)} is node {@code i + 1}.
     * @param speeds takes each worker's calibrated rate from its welcome, and forgets what was measured of a worker
     *               that joins again.
     */
    Membership(
        final TransportNode node, final ClusterKey key, final ModelRef model, final List<String> peers,
        final long joinTimeoutNs, final SpeedBook speeds, final PrintWriter log)
    {
        this.node = node;
        this.model = model;
        this.speeds = speeds;
        this.log = log;
        this.peerTimeoutNs = node.context().peerTimeoutNs();
        this.joinTimeoutNs = joinTimeoutNs;
        this.controlIdle = node.waitIdle();
        this.adapter = new ControlAdapter(node.controlSubscription(), key, this);
        final SecureRandom random = new SecureRandom();
        long token;
        do
        {
            token = random.nextLong();
        }
        while (token == 0);
        this.sessionToken = token;
        this.proxy = new ControlProxy(key, 0, node.context().sendTimeoutNs()).session(token, 0).node(node);
        for (int i = 0; i < peers.size(); i++)
        {
            workers.add(new Worker(i + 1, peers.get(i), node.addControlPublication(peers.get(i))));
        }
    }

    /** Joins every peer: waits until each has welcomed or refused the join, or the join timeout has passed. */
    void joinAll()
    {
        final long now = System.nanoTime();
        for (final Worker w : workers)
        {
            sendJoin(w, now);
        }
        final long deadline = now + joinTimeoutNs;
        while (System.nanoTime() < deadline && !allAnswered())
        {
            pollControl();
            final long t = System.nanoTime();
            for (final Worker w : workers)
            {
                if (!w.alive && w.ackError.isEmpty() && t - w.lastJoinNs > JOIN_RESEND_NS)
                {
                    sendJoin(w, t);
                }
            }
        }
        for (final Worker w : workers)
        {
            if (!w.alive)
            {
                log.println("coordinator: worker " + w.nodeId + " at " + w.endpoint + " did not join" +
                    (w.ackError.isEmpty() ? " (no answer)" : ": " + w.ackError) + "; going on without it");
            }
        }
    }

    private boolean allAnswered()
    {
        for (final Worker w : workers)
        {
            if (!w.alive && w.ackError.isEmpty())
            {
                return false;
            }
        }
        return true;
    }

    /** Asks every worker found dead to join again, at most once a second each. */
    void rejoinFailed()
    {
        final long now = System.nanoTime();
        pollControl();
        for (final Worker w : workers)
        {
            if (!w.alive && now - w.lastJoinNs > JOIN_RESEND_NS)
            {
                sendJoin(w, now);
            }
        }
    }

    /**
     * Offers a join when the worker's driver answers (a stopped or stalled one does not); the caller sends it again
     * until the worker welcomes it, so neither a refused offer nor one lost with a stalled receiver loses the join.
     */
    private void sendJoin(final Worker w, final long now)
    {
        w.lastJoinNs = now;
        if (w.control.isConnected())
        {
            proxy.join(w.control, w.nodeId, model.sha256, replyEndpoint(w), model.file.toString(),
                ModelRef.formatShapes(model.inputDims));
        }
    }

    /** @return the coordinator's endpoint as worker {@code w} reaches it (a wildcard host resolved towards it). */
    String replyEndpoint(final Worker w)
    {
        final String mine = node.endpoint();
        final String host = mine.substring(0, mine.lastIndexOf(':'));
        if (host.equals("0.0.0.0"))
        {
            return Endpoints.localAddressTowards(w.endpoint) + mine.substring(mine.lastIndexOf(':'));
        }
        return mine;
    }

    /** Reads every control message queued; idles (backing off to a park) when there was none. */
    int pollControl()
    {
        int total = node.invokeDriver();
        int n;
        while ((n = adapter.poll(64)) > 0)
        {
            total += n;
        }
        controlIdle.idle(total);
        return total;
    }

    /** Reads a few control messages without idling: for waits that idle on their own. */
    void pollBriefly()
    {
        node.invokeDriver();
        adapter.poll(16);
    }

    /**
     * Marks dead every one of {@code of} silent for longer than the peer timeout, after draining what is queued.
     *
     * @return true when every one of them is alive.
     */
    boolean checkLiveness(final Worker[] of)
    {
        final long now = System.nanoTime();
        boolean ok = true;
        for (final Worker w : of)
        {
            if (w.alive && now - w.lastHeardNs > peerTimeoutNs)
            {
                // drain what is queued before judging: a busy coordinator may simply not have read it yet
                pollControl();
                if (System.nanoTime() - w.lastHeardNs > peerTimeoutNs)
                {
                    w.alive = false;
                }
            }
            ok &= w.alive;
        }
        return ok;
    }

    /** @return the workers alive now, by node id. */
    List<Worker> live()
    {
        final List<Worker> live = new ArrayList<>();
        for (final Worker w : workers)
        {
            if (w.alive)
            {
                live.add(w);
            }
        }
        return live;
    }

    /** @return every peer's record, alive or not, by node id. */
    List<Worker> workers()
    {
        return Collections.unmodifiableList(workers);
    }

    /** From now on plan acknowledgements and results are filed only when they are of plan {@code epoch}. */
    void epoch(final long epoch)
    {
        this.epoch = epoch;
    }

    /** A failed result of request {@code requestId} (of the current epoch) from now on counts as a failure seen. */
    void requestId(final long requestId)
    {
        this.requestId = requestId;
    }

    /** @return true when a worker reported the current request failed (not merely aborted) since the last clear. */
    boolean failureSeen()
    {
        return failureSeen;
    }

    void clearFailure()
    {
        failureSeen = false;
    }

    /** @return true when a worker that had failed joined again since the last {@link #clearReplanNeeded()}. */
    boolean replanNeeded()
    {
        return replanNeeded;
    }

    void clearReplanNeeded()
    {
        replanNeeded = false;
    }

    long probeReplyId()
    {
        return probeReplyId;
    }

    long probeReplyBytes()
    {
        return probeReplyBytes;
    }

    long probeReplyAtNs()
    {
        return probeReplyAtNs;
    }

    long sessionToken()
    {
        return sessionToken;
    }

    long peerTimeoutNs()
    {
        return peerTimeoutNs;
    }

    ControlProxy proxy()
    {
        return proxy;
    }

    ControlAdapter adapter()
    {
        return adapter;
    }

    Worker worker(final int nodeId)
    {
        return nodeId >= 1 && nodeId <= workers.size() ? workers.get(nodeId - 1) : null;
    }

    @Override
    public boolean acceptsSession(final long token, final int templateId)
    {
        return token == sessionToken;
    }

    @Override
    public void onWelcome(final WelcomeDecoder welcome)
    {
        final Worker w = worker(welcome.senderNode());
        if (w == null)
        {
            return;
        }
        final Status status = welcome.status();
        final double flops = welcome.flopsPerSecond();
        final byte[] sha = new byte[32];
        welcome.getModelSha256(sha, 0, 32);
        final WelcomeProfile sent = WelcomeProfile.decode(welcome); // SBE reads in order: before the error text
        final String error = sent.errorText();
        w.lastHeardNs = System.nanoTime();
        if (status == Status.OK && java.util.Arrays.equals(sha, model.sha256) && flops > 0 &&
            !Double.isInfinite(flops))
        {
            if (!w.alive && w.everJoined)
            {
                log.println("coordinator: worker " + w.nodeId + " joined again");
                replanNeeded = true;
                speeds.forget(w.nodeId);
            }
            speeds.calibrated(w.nodeId, flops);
            if (!w.alive)
            {
                w.profile = sent.toProfile(model.graph, flops, welcome.memoryBytes(), log, "worker " + w.nodeId);
            }
            w.alive = true;
            w.everJoined = true;
            w.flopsPerSecond = flops;
            w.memoryLimitBytes = welcome.memoryBytes();
            w.power = sent.power();
            w.ackError = "";
        }
        else
        {
            w.ackError = status + (error.isEmpty() ? "" : ": " + error);
        }
    }

    @Override
    public void onPlanAck(final PlanAckDecoder ack)
    {
        final Worker w = worker(ack.senderNode());
        if (w != null && ack.epoch() == epoch)
        {
            w.lastHeardNs = System.nanoTime();
            w.acknowledged(ack);
        }
    }

    @Override
    public void onResult(final ResultDecoder result)
    {
        final Worker w = worker(result.senderNode());
        if (w != null && result.epoch() == epoch)
        {
            w.lastHeardNs = System.nanoTime();
            w.reported(result);
            if (w.resultRequest == requestId && w.resultStatus != Status.OK && w.resultStatus != Status.ABORTED)
            {
                failureSeen = true;
            }
        }
    }

    @Override
    public void onHeartbeat(final HeartbeatDecoder heartbeat)
    {
        final Worker w = worker(heartbeat.senderNode());
        if (w != null)
        {
            w.lastHeardNs = System.nanoTime();
        }
    }

    @Override
    public void onProbeReply(final ProbeReplyDecoder reply)
    {
        probeReplyBytes = reply.receivedBytes();
        probeReplyAtNs = System.nanoTime();
        probeReplyId = reply.probeId();
    }

    @Override
    public void onError(final ErrorMessageDecoder error)
    {
        log.println("coordinator: node " + error.senderNode() + " reports error " + error.code() + ": " +
            error.text());
    }

    /** Tells every live worker the session is over. */
    void leaveAll()
    {
        for (final Worker w : workers)
        {
            if (w.alive)
            {
                proxy.leave(w.control);
            }
        }
    }
}
