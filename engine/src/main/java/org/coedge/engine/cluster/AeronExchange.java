package org.coedge.engine.cluster;

import java.util.List;
import java.util.Map;

import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.engine.exec.RowExchange;
import org.coedge.kernels.FloatRegion;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Step;
import org.coedge.transport.RowBlockPublisher;
import org.coedge.transport.RowBlockReceiver;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;

/**
 * One device's {@link RowExchange} over Aeron UDP for one plan epoch: a {@link RowBlockPublisher} to every device it
 * sends to and a {@link RowBlockReceiver} from every device it awaits, so rows go from this device's arena straight
 * into the term buffer and from the term buffer straight into the peer's arena. The data session id of the stream
 * from node {@code a} to node {@code b} is {@code base + a * 1024 + b}, with {@code base} drawn afresh by the
 * coordinator for each plan and carried in the authenticated plan, so a receiver reads only the images the plan
 * names and blocks of an old plan are never mistaken for this one's.
 * <p>
 * Built on the cold path when a plan arrives; then used by the device's one thread. Every wait calls the
 * {@link WaitHook}, which polls control messages and says when to give up (a peer failed, the request was aborted).
 */
final class AeronExchange implements RowExchange, AutoCloseable
{
    private final RowBlockPublisher[] publishers; // by device; null where this device sends nothing
    private final RowBlockReceiver[] receivers; // by device; null where this device awaits nothing
    private final UnsafeBuffer arenaView = new UnsafeBuffer(0, 0);
    private final long sessionToken;
    private final long epoch;
    private final long timeoutNs;
    private final int chunkBytes;
    private final WaitHook hook;
    private final int device;
    private final TransportNode node;
    private final org.agrona.concurrent.IdleStrategy connectIdle;
    private String lastError = "none";

    /**
     * @param receiversByNode this node's receivers by sending node, kept across plans (their subscriptions stay).
     */
    AeronExchange(
        final TransportNode node, final int device, final List<DeviceProgram> programs, final int[] deviceNodes,
        final String[] deviceEndpoints, final long sessionToken, final long epoch, final int dataSessionBase,
        final int termLength, final int mtu, final long timeoutNs, final WaitHook hook,
        final Map<Integer, RowBlockReceiver> receiversByNode)
    {
        final int devices = programs.size();
        this.device = device;
        this.node = node;
        this.connectIdle = node.waitIdle();
        this.sessionToken = sessionToken;
        this.epoch = epoch;
        this.timeoutNs = timeoutNs;
        this.hook = hook;
        this.chunkBytes = TransportNode.chunkBytes(mtu);
        this.publishers = new RowBlockPublisher[devices];
        this.receivers = new RowBlockReceiver[devices];
        final int me = deviceNodes[device];
        try
        {
            for (final Step s : programs.get(device).steps())
            {
                final int peer = s.peer();
                if (s.kind() == Step.Kind.SEND && publishers[peer] == null)
                {
                    publishers[peer] = new RowBlockPublisher(node.addRowBlockPublication(deviceEndpoints[peer], me,
                        sessionId(dataSessionBase, me, deviceNodes[peer]), termLength, mtu), node);
                }
                else if (s.kind() == Step.Kind.AWAIT && receivers[peer] == null)
                {
                    final RowBlockReceiver r = receiversByNode.computeIfAbsent(deviceNodes[peer],
                        n -> new RowBlockReceiver(node.addRowBlockSubscription(n), node));
                    r.expectSession(sessionId(dataSessionBase, deviceNodes[peer], me));
                    receivers[peer] = r;
                }
            }
        }
        catch (final RuntimeException e)
        {
            close();
            throw e;
        }
    }

    static int sessionId(final int base, final int fromNode, final int toNode)
    {
        return base + fromNode * 1024 + toNode;
    }

    /** Waits until every publication has a connected receiver; cold path. */
    boolean awaitConnected(final long deadlineNs)
    {
        for (final RowBlockPublisher p : publishers)
        {
            while (p != null && !p.publication().isConnected())
            {
                if (System.nanoTime() > deadlineNs || !hook.keepWaiting())
                {
                    return false;
                }
                connectIdle.idle(node.invokeDriver());
            }
        }
        return true;
    }

    @Override
    public int send(
        final int peer, final long request, final int sequence, final int layer, final int firstRow,
        final int rowCount, final FloatRegion src, final int offsetFloats, final int floats)
    {
        if (peer < 0 || peer >= publishers.length || publishers[peer] == null)
        {
            return fail(BAD_PEER, "no stream from device " + device + " to " + peer);
        }
        arenaView.wrap(src.address(), src.length() * Float.BYTES);
        final int code = publishers[peer].send(sessionToken, epoch, request, sequence, layer, firstRow, rowCount,
            arenaView, offsetFloats * Float.BYTES, floats * Float.BYTES, timeoutNs, hook);
        if (code != TransportCodes.OK)
        {
            return fail(code, "send #" + sequence + " (layer " + layer + " rows [" + firstRow + ", " +
                (firstRow + rowCount) + ")) to device " + peer + ": Aeron result " + publishers[peer].lastResult());
        }
        return OK;
    }

    @Override
    public int await(
        final int peer, final long request, final int sequence, final int layer, final int firstRow,
        final int rowCount, final FloatRegion dst, final int offsetFloats, final int floats)
    {
        if (peer < 0 || peer >= receivers.length || receivers[peer] == null)
        {
            return fail(BAD_PEER, "no stream from device " + peer + " to " + device);
        }
        arenaView.wrap(dst.address(), dst.length() * Float.BYTES);
        final int code = receivers[peer].receive(sessionToken, epoch, request, sequence, layer, firstRow, rowCount,
            arenaView, offsetFloats * Float.BYTES, floats * Float.BYTES, chunkBytes, timeoutNs, hook);
        if (code != TransportCodes.OK)
        {
            return fail(code, "await #" + sequence + " (layer " + layer + " rows [" + firstRow + ", " +
                (firstRow + rowCount) + ")) from device " + peer +
                (code == TransportCodes.OUT_OF_ORDER ? ", got " + receivers[peer].lastMismatch() : ""));
        }
        return OK;
    }

    @Override
    public String lastError()
    {
        return lastError;
    }

    private int fail(final int code, final String what)
    {
        lastError = RowExchange.codeName(code) + ": device " + device + ": " + what;
        return code;
    }

    /** Closes the publications; the receivers belong to the node and stay. */
    @Override
    public void close()
    {
        CloseHelper.closeAll(publishers);
    }
}
