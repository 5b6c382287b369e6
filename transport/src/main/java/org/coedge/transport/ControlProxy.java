package org.coedge.transport;

import java.util.concurrent.TimeUnit;

import io.aeron.Publication;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.transport.sbe.AbortEncoder;
import org.coedge.transport.sbe.ErrorMessageEncoder;
import org.coedge.transport.sbe.HeartbeatEncoder;
import org.coedge.transport.sbe.JoinEncoder;
import org.coedge.transport.sbe.LeaveEncoder;
import org.coedge.transport.sbe.MessageHeaderEncoder;
import org.coedge.transport.sbe.PlanAckEncoder;
import org.coedge.transport.sbe.PlanMessageEncoder;
import org.coedge.transport.sbe.ProbeEncoder;
import org.coedge.transport.sbe.ProbeReplyEncoder;
import org.coedge.transport.sbe.RequestEncoder;
import org.coedge.transport.sbe.ResultEncoder;
import org.coedge.transport.sbe.Status;
import org.coedge.transport.sbe.WelcomeEncoder;

/**
 * Encodes, signs and offers control messages for one sender thread. Every message starts with the envelope (session
 * token, sender node, lane, sequence) and is followed by its HMAC-SHA256; the sequence starts from the wall clock in
 * microseconds when the proxy is made and rises by one per message, so a restarted node numbers above its old self
 * and a receiver can refuse anything played again. Offers that meet back-pressure or no connection are retried until
 * the timeout; the caller learns of a failure from the return code, never by a silent drop.
 * <p>
 * Owned by one thread; two threads of one node use two proxies with different lanes.
 */
public final class ControlProxy
{
    /** The most step times one result carries (16 bytes each). */
    public static final int MAX_RESULT_STEPS = 8192;
    /** The most profile samples one welcome carries (16 bytes each). */
    public static final int MAX_WELCOME_SAMPLES = 4096;

    private final UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(256 * 1024, 64));
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final JoinEncoder join = new JoinEncoder();
    private final WelcomeEncoder welcome = new WelcomeEncoder();
    private final PlanMessageEncoder plan = new PlanMessageEncoder();
    private final PlanAckEncoder planAck = new PlanAckEncoder();
    private final RequestEncoder request = new RequestEncoder();
    private final ResultEncoder result = new ResultEncoder();
    private final HeartbeatEncoder heartbeat = new HeartbeatEncoder();
    private final AbortEncoder abort = new AbortEncoder();
    private final ProbeEncoder probe = new ProbeEncoder();
    private final ProbeReplyEncoder probeReply = new ProbeReplyEncoder();
    private final ErrorMessageEncoder error = new ErrorMessageEncoder();
    private final LeaveEncoder leave = new LeaveEncoder();
    private final ClusterKey.Authenticator authenticator;
    private final IdleStrategy idle = new BackoffIdleStrategy(
        10, 10, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
    private final int lane;
    private final long timeoutNs;
    private long sessionToken;
    private int senderNode;
    private long sequence;
    private long lastResult;
    private TransportNode node;

    /**
     * @param lane      which of its node's threads this proxy speaks for, {@code [0, 16)}.
     * @param timeoutNs how long an offer may be retried.
     */
    public ControlProxy(final ClusterKey key, final int lane, final long timeoutNs)
    {
        if (lane < 0 || lane >= ControlAdapter.MAX_LANES)
        {
            throw new IllegalArgumentException("lane must be in [0, " + ControlAdapter.MAX_LANES + "): " + lane);
        }
        this.authenticator = key.newAuthenticator();
        this.lane = lane;
        this.timeoutNs = timeoutNs;
        this.sequence = TimeUnit.MILLISECONDS.toMicros(System.currentTimeMillis());
    }

    /** Sets the session and node id the envelope carries from now on. */
    public ControlProxy session(final long sessionToken, final int senderNode)
    {
        this.sessionToken = sessionToken;
        this.senderNode = senderNode;
        return this;
    }

    /** Tells {@code node} after every message offered, so that its driver sends it now ({@link TransportNode#sent()}). */
    public ControlProxy node(final TransportNode node)
    {
        this.node = node;
        return this;
    }

    public long sessionToken()
    {
        return sessionToken;
    }

    /** @return Aeron's result of the last offer that failed, for error messages. */
    public long lastResult()
    {
        return lastResult;
    }

    public int join(
        final Publication to, final int nodeId, final byte[] modelSha256, final String replyEndpoint,
        final String modelPath, final String inputShapes)
    {
        join.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .nodeId(nodeId).wallClockMs(System.currentTimeMillis()).putModelSha256(modelSha256, 0, 32)
            .replyEndpoint(replyEndpoint).modelPath(modelPath).inputShapes(inputShapes);
        return offer(to, join.encodedLength());
    }

    /** A welcome without a profile. */
    public int welcome(
        final Publication to, final Status status, final double flopsPerSecond, final long memoryBytes,
        final byte[] modelSha256, final String errorText)
    {
        return welcome(to, status, flopsPerSecond, memoryBytes, modelSha256, null, null, null, 0, "", "", errorText);
    }

    /**
     * A welcome with the worker's profile of the model: sample {@code i < sampleCount} says that {@code rows[i]}
     * rows of planner layer {@code layers[i]} took {@code ns[i]} nanoseconds on the device {@code deviceKey} names,
     * whose power model is {@code power} (its text, empty for none).
     *
     * @throws IllegalArgumentException if {@code sampleCount} is above {@value #MAX_WELCOME_SAMPLES} or the arrays
     *                                  are shorter.
     */
    public int welcome(
        final Publication to, final Status status, final double flopsPerSecond, final long memoryBytes,
        final byte[] modelSha256, final int[] layers, final int[] rows, final long[] ns, final int sampleCount,
        final String deviceKey, final String power, final String errorText)
    {
        if (sampleCount < 0 || sampleCount > MAX_WELCOME_SAMPLES ||
            sampleCount > 0 && (layers.length < sampleCount || rows.length < sampleCount || ns.length < sampleCount))
        {
            throw new IllegalArgumentException("a welcome carries 0.." + MAX_WELCOME_SAMPLES +
                " profile samples from arrays that long: " + sampleCount);
        }
        welcome.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .status(status).flopsPerSecond(flopsPerSecond).memoryBytes(memoryBytes)
            .putModelSha256(modelSha256, 0, 32);
        final WelcomeEncoder.ProfileEncoder profile = welcome.profileCount(sampleCount);
        for (int i = 0; i < sampleCount; i++)
        {
            profile.next().layer(layers[i]).rows(rows[i]).ns(ns[i]);
        }
        welcome.errorText(errorText).deviceKey(deviceKey).power(power);
        return offer(to, welcome.encodedLength());
    }

    /**
     * @param deviceNodes     node id of each device of the plan.
     * @param deviceEndpoints endpoint of each device of the plan.
     * @param stageLayers     per stage {first layer, last layer, mode}.
     * @param stageRows       per stage, per device {first row, row count}, flattened.
     */
    public int plan(
        final Publication to, final long epoch, final int dataSessionBase, final int termLength, final long timeoutMs,
        final int mtu, final int[] deviceNodes, final String[] deviceEndpoints, final int[][] stageLayers, final int[][] stageRows)
    {
        return plan(to, epoch, dataSessionBase, termLength, timeoutMs, mtu, deviceNodes, deviceEndpoints, stageLayers,
            stageRows, null);
    }

    /** As the plan without outputs, naming the layers the coordinator gathers ({@code outputs}; null: the model's). */
    public int plan(
        final Publication to, final long epoch, final int dataSessionBase, final int termLength, final long timeoutMs,
        final int mtu, final int[] deviceNodes, final String[] deviceEndpoints, final int[][] stageLayers,
        final int[][] stageRows, final int[] outputs)
    {
        plan.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .epoch(epoch).dataSessionBase(dataSessionBase).termLength(termLength).timeoutMs(timeoutMs).mtu(mtu);
        final PlanMessageEncoder.DevicesEncoder devices = plan.devicesCount(deviceNodes.length);
        for (int d = 0; d < deviceNodes.length; d++)
        {
            devices.next().nodeId(deviceNodes[d]).endpoint(deviceEndpoints[d]);
        }
        final PlanMessageEncoder.StagesEncoder stages = plan.stagesCount(stageLayers.length);
        for (int s = 0; s < stageLayers.length; s++)
        {
            stages.next().firstLayer(stageLayers[s][0]).lastLayer(stageLayers[s][1]).mode((short)stageLayers[s][2]);
            final PlanMessageEncoder.StagesEncoder.RowsEncoder rows = stages.rowsCount(stageRows[s].length / 2);
            for (int i = 0; i < stageRows[s].length; i += 2)
            {
                rows.next().firstRow(stageRows[s][i]).rowCount(stageRows[s][i + 1]);
            }
        }
        final PlanMessageEncoder.OutputsEncoder gathered = plan.outputsCount(outputs == null ? 0 : outputs.length);
        for (int i = 0; outputs != null && i < outputs.length; i++)
        {
            gathered.next().layer(outputs[i]);
        }
        return offer(to, plan.encodedLength());
    }

    public int planAck(final Publication to, final long epoch, final Status status, final long memoryBytes,
        final String errorText)
    {
        planAck.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .epoch(epoch).status(status).memoryBytes(memoryBytes).errorText(errorText);
        return offer(to, planAck.encodedLength());
    }

    public int request(final Publication to, final long epoch, final long requestId)
    {
        request.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .epoch(epoch).requestId(requestId);
        return offer(to, request.encodedLength());
    }

    public int result(
        final Publication to, final long epoch, final long requestId, final Status status, final int code,
        final long computeNs, final long sendNs, final long awaitNs, final String errorText)
    {
        return result(to, epoch, requestId, status, code, computeNs, sendNs, awaitNs, null, null, 0, errorText);
    }

    /**
     * A result with the time line of the worker's steps: {@code stepStartNs[i]} (from the request's arrival) and
     * {@code stepDurationNs[i]} for the first {@code stepCount} steps (at most {@value #MAX_RESULT_STEPS}, which fit the encode buffer;
     * more are not sent).
     */
    public int result(
        final Publication to, final long epoch, final long requestId, final Status status, final int code,
        final long computeNs, final long sendNs, final long awaitNs, final long[] stepStartNs,
        final long[] stepDurationNs, final int stepCount, final String errorText)
    {
        result.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .epoch(epoch).requestId(requestId).status(status).code(code)
            .computeNs(computeNs).sendNs(sendNs).awaitNs(awaitNs);
        final int n = Math.min(stepCount, MAX_RESULT_STEPS);
        final ResultEncoder.StepsEncoder steps = result.stepsCount(n);
        for (int i = 0; i < n; i++)
        {
            steps.next().startNs(stepStartNs[i]).durationNs(stepDurationNs[i]);
        }
        result.errorText(errorText);
        return offer(to, result.encodedLength());
    }

    public int heartbeat(final Publication to, final long nanoTime)
    {
        heartbeat.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .nanoTime(nanoTime);
        return offer(to, heartbeat.encodedLength());
    }

    public int abort(final Publication to, final long epoch, final long requestId)
    {
        abort.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .epoch(epoch).requestId(requestId);
        return offer(to, abort.encodedLength());
    }

    /** One message of a probe burst carrying {@code payloadBytes} bytes of {@code payload}. */
    public int probe(
        final Publication to, final long probeId, final int index, final int count, final DirectBuffer payload,
        final int payloadBytes)
    {
        probe.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .probeId(probeId).index(index).count(count).sentNs(System.nanoTime())
            .putPayload(payload, 0, payloadBytes);
        return offer(to, probe.encodedLength());
    }

    public int probeReply(
        final Publication to, final long probeId, final int receivedCount, final long receivedBytes,
        final long sentNs)
    {
        probeReply.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .probeId(probeId).receivedCount(receivedCount).receivedBytes(receivedBytes).sentNs(sentNs);
        return offer(to, probeReply.encodedLength());
    }

    public int error(final Publication to, final int code, final String text)
    {
        error.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane)
            .code(code).text(text);
        return offer(to, error.encodedLength());
    }

    public int leave(final Publication to)
    {
        leave.wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(sessionToken).messageSeq(++sequence).senderNode(senderNode).lane(lane);
        return offer(to, leave.encodedLength());
    }

    /** @return the signed bytes of the last message encoded (tests replay them). */
    public UnsafeBuffer buffer()
    {
        return buffer;
    }

    private int offer(final Publication to, final int bodyLength)
    {
        final int length = MessageHeaderEncoder.ENCODED_LENGTH + bodyLength;
        authenticator.sign(buffer, 0, length);
        return offerRaw(to, buffer, 0, length + ClusterKey.MAC_BYTES);
    }

    /** Offers bytes as they are, with the same retries (tests send forged and replayed messages with it). */
    public int offerRaw(final Publication to, final DirectBuffer bytes, final int offset, final int length)
    {
        final long deadline = System.nanoTime() + timeoutNs;
        idle.reset();
        long r;
        while ((r = to.offer(bytes, offset, length)) < 0)
        {
            lastResult = r;
            if (r == Publication.CLOSED || r == Publication.MAX_POSITION_EXCEEDED)
            {
                return TransportCodes.CLOSED;
            }
            if (System.nanoTime() > deadline)
            {
                return TransportCodes.TIMED_OUT;
            }
            idle.idle();
        }
        if (node != null)
        {
            node.sent();
        }
        return TransportCodes.OK;
    }

}
