package org.coedge.transport;

import java.nio.ByteOrder;

import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.coedge.transport.sbe.AbortDecoder;
import org.coedge.transport.sbe.ErrorMessageDecoder;
import org.coedge.transport.sbe.HeartbeatDecoder;
import org.coedge.transport.sbe.JoinDecoder;
import org.coedge.transport.sbe.LeaveDecoder;
import org.coedge.transport.sbe.MessageHeaderDecoder;
import org.coedge.transport.sbe.PlanAckDecoder;
import org.coedge.transport.sbe.PlanMessageDecoder;
import org.coedge.transport.sbe.ProbeDecoder;
import org.coedge.transport.sbe.ProbeReplyDecoder;
import org.coedge.transport.sbe.RequestDecoder;
import org.coedge.transport.sbe.ResultDecoder;
import org.coedge.transport.sbe.WelcomeDecoder;

/**
 * Receives control messages from a node's control subscription and hands the genuine ones to a
 * {@link ControlListener}. Before any field is used, a message must be long enough, be of this schema with a known
 * template and its exact block length, carry a valid HMAC-SHA256 under the cluster key, belong to a session the
 * listener accepts, and have a sequence number above the last one seen from its sender and lane (so a recorded
 * message played again is refused). Everything else is dropped and counted by reason.
 * <p>
 * Owned by the thread that polls it; the counters may be read from any thread.
 */
public final class ControlAdapter implements FragmentHandler
{
    /** Byte offsets of the envelope every control message starts with (after the message header). */
    private static final int TOKEN_OFFSET = 0;
    private static final int SEQ_OFFSET = 8;
    private static final int SENDER_OFFSET = 16;
    private static final int LANE_OFFSET = 20;
    static final int MAX_LANES = 16;

    private final Subscription subscription;
    private final ClusterKey.Authenticator authenticator;
    private final ControlListener listener;
    private final FragmentAssembler assembler = new FragmentAssembler(this);
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final Long2LongHashMap lastSeq = new Long2LongHashMap(Long.MIN_VALUE);
    private long lastJoinSeq = Long.MIN_VALUE;

    private final JoinDecoder join = new JoinDecoder();
    private final WelcomeDecoder welcome = new WelcomeDecoder();
    private final PlanMessageDecoder plan = new PlanMessageDecoder();
    private final PlanAckDecoder planAck = new PlanAckDecoder();
    private final RequestDecoder request = new RequestDecoder();
    private final ResultDecoder result = new ResultDecoder();
    private final HeartbeatDecoder heartbeat = new HeartbeatDecoder();
    private final AbortDecoder abort = new AbortDecoder();
    private final ProbeDecoder probe = new ProbeDecoder();
    private final ProbeReplyDecoder probeReply = new ProbeReplyDecoder();
    private final ErrorMessageDecoder error = new ErrorMessageDecoder();
    private final LeaveDecoder leave = new LeaveDecoder();

    private volatile long malformed;
    private volatile long badMac;
    private volatile long wrongSession;
    private volatile long replayed;

    public ControlAdapter(final Subscription subscription, final ClusterKey key, final ControlListener listener)
    {
        this.subscription = subscription;
        this.authenticator = key.newAuthenticator();
        this.listener = listener;
    }

    /** @return fragments read (up to {@code limit}). */
    public int poll(final int limit)
    {
        return subscription.poll(assembler, limit);
    }

    /**
     * Forgets the sequence numbers seen, when a new session starts (its coordinator and workers number from their
     * own start). Joins keep their own high-water mark, so an old join played again is still refused.
     */
    public void resetReplayState()
    {
        lastSeq.clear();
    }

    @Override
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header frame)
    {
        if (length < MessageHeaderDecoder.ENCODED_LENGTH + LANE_OFFSET + 4 + ClusterKey.MAC_BYTES)
        {
            malformed++;
            return;
        }
        header.wrap(buffer, offset);
        final int templateId = header.templateId();
        final int blockLength = header.blockLength();
        if (header.schemaId() != MessageHeaderDecoder.SCHEMA_ID || blockLength != blockLengthOf(templateId) ||
            length < MessageHeaderDecoder.ENCODED_LENGTH + blockLength + ClusterKey.MAC_BYTES)
        {
            malformed++;
            return;
        }
        final int messageLength = length - ClusterKey.MAC_BYTES;
        if (!authenticator.verify(buffer, offset, messageLength))
        {
            badMac++;
            return;
        }
        final int body = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        final long token = buffer.getLong(body + TOKEN_OFFSET, ByteOrder.LITTLE_ENDIAN);
        final long seq = buffer.getLong(body + SEQ_OFFSET, ByteOrder.LITTLE_ENDIAN);
        final int sender = buffer.getInt(body + SENDER_OFFSET, ByteOrder.LITTLE_ENDIAN);
        final int lane = buffer.getInt(body + LANE_OFFSET, ByteOrder.LITTLE_ENDIAN);
        if (sender < 0 || lane < 0 || lane >= MAX_LANES)
        {
            malformed++;
            return;
        }
        if (!listener.acceptsSession(token, templateId))
        {
            wrongSession++;
            return;
        }
        if (templateId == JoinDecoder.TEMPLATE_ID)
        {
            if (seq <= lastJoinSeq)
            {
                replayed++;
                return;
            }
        }
        else
        {
            final long key = (long)sender * MAX_LANES + lane;
            if (seq <= lastSeq.get(key))
            {
                replayed++;
                return;
            }
            lastSeq.put(key, seq);
        }
        try
        {
            if (dispatch(templateId, buffer, body, blockLength, header.version()) &&
                templateId == JoinDecoder.TEMPLATE_ID)
            {
                lastJoinSeq = seq;
            }
        }
        catch (final IndexOutOfBoundsException | IllegalStateException e)
        {
            // authentic but inconsistent (a var field longer than the message): cold path
            malformed++;
        }
    }

    private static int blockLengthOf(final int templateId)
    {
        switch (templateId)
        {
            case JoinDecoder.TEMPLATE_ID:
                return JoinDecoder.BLOCK_LENGTH;
            case WelcomeDecoder.TEMPLATE_ID:
                return WelcomeDecoder.BLOCK_LENGTH;
            case PlanMessageDecoder.TEMPLATE_ID:
                return PlanMessageDecoder.BLOCK_LENGTH;
            case PlanAckDecoder.TEMPLATE_ID:
                return PlanAckDecoder.BLOCK_LENGTH;
            case RequestDecoder.TEMPLATE_ID:
                return RequestDecoder.BLOCK_LENGTH;
            case ResultDecoder.TEMPLATE_ID:
                return ResultDecoder.BLOCK_LENGTH;
            case HeartbeatDecoder.TEMPLATE_ID:
                return HeartbeatDecoder.BLOCK_LENGTH;
            case AbortDecoder.TEMPLATE_ID:
                return AbortDecoder.BLOCK_LENGTH;
            case ProbeDecoder.TEMPLATE_ID:
                return ProbeDecoder.BLOCK_LENGTH;
            case ProbeReplyDecoder.TEMPLATE_ID:
                return ProbeReplyDecoder.BLOCK_LENGTH;
            case ErrorMessageDecoder.TEMPLATE_ID:
                return ErrorMessageDecoder.BLOCK_LENGTH;
            case LeaveDecoder.TEMPLATE_ID:
                return LeaveDecoder.BLOCK_LENGTH;
            default:
                return -1;
        }
    }

    /** @return true if the listener took a join (so its sequence becomes the join high-water mark). */
    private boolean dispatch(
        final int templateId, final DirectBuffer buffer, final int body, final int blockLength, final int version)
    {
        switch (templateId)
        {
            case JoinDecoder.TEMPLATE_ID:
                listener.onJoin(join.wrap(buffer, body, blockLength, version));
                return true;
            case WelcomeDecoder.TEMPLATE_ID:
                listener.onWelcome(welcome.wrap(buffer, body, blockLength, version));
                break;
            case PlanMessageDecoder.TEMPLATE_ID:
                listener.onPlan(plan.wrap(buffer, body, blockLength, version));
                break;
            case PlanAckDecoder.TEMPLATE_ID:
                listener.onPlanAck(planAck.wrap(buffer, body, blockLength, version));
                break;
            case RequestDecoder.TEMPLATE_ID:
                listener.onRequest(request.wrap(buffer, body, blockLength, version));
                break;
            case ResultDecoder.TEMPLATE_ID:
                listener.onResult(result.wrap(buffer, body, blockLength, version));
                break;
            case HeartbeatDecoder.TEMPLATE_ID:
                listener.onHeartbeat(heartbeat.wrap(buffer, body, blockLength, version));
                break;
            case AbortDecoder.TEMPLATE_ID:
                listener.onAbort(abort.wrap(buffer, body, blockLength, version));
                break;
            case ProbeDecoder.TEMPLATE_ID:
                listener.onProbe(probe.wrap(buffer, body, blockLength, version));
                break;
            case ProbeReplyDecoder.TEMPLATE_ID:
                listener.onProbeReply(probeReply.wrap(buffer, body, blockLength, version));
                break;
            case ErrorMessageDecoder.TEMPLATE_ID:
                listener.onError(error.wrap(buffer, body, blockLength, version));
                break;
            case LeaveDecoder.TEMPLATE_ID:
                listener.onLeave(leave.wrap(buffer, body, blockLength, version));
                break;
            default:
                break;
        }
        return false;
    }

    /** @return messages too short, of another schema, of an unknown template or with a wrong block length. */
    public long malformed()
    {
        return malformed;
    }

    /** @return messages whose MAC did not match (wrong key, altered, truncated). */
    public long badMac()
    {
        return badMac;
    }

    /** @return genuine messages of a session this node is not in. */
    public long wrongSession()
    {
        return wrongSession;
    }

    /** @return genuine messages whose sequence number was not above the last seen: replays. */
    public long replayed()
    {
        return replayed;
    }
}
