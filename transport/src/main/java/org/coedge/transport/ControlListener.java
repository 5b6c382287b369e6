package org.coedge.transport;

import org.coedge.transport.sbe.AbortDecoder;
import org.coedge.transport.sbe.ErrorMessageDecoder;
import org.coedge.transport.sbe.HeartbeatDecoder;
import org.coedge.transport.sbe.JoinDecoder;
import org.coedge.transport.sbe.LeaveDecoder;
import org.coedge.transport.sbe.PlanAckDecoder;
import org.coedge.transport.sbe.PlanMessageDecoder;
import org.coedge.transport.sbe.ProbeDecoder;
import org.coedge.transport.sbe.ProbeReplyDecoder;
import org.coedge.transport.sbe.RequestDecoder;
import org.coedge.transport.sbe.ResultDecoder;
import org.coedge.transport.sbe.WelcomeDecoder;

/**
 * What a node does with control messages that passed {@link ControlAdapter}'s checks (length, schema, MAC, session,
 * replay). Each decoder is a flyweight over the received bytes, valid only during the call. Called on the thread that
 * polls the adapter.
 */
public interface ControlListener
{
    /**
     * @return true if a message of {@code templateId} in session {@code sessionToken} is for this node now; a join
     * proposes a new session and is judged by {@link #onJoin}.
     */
    boolean acceptsSession(long sessionToken, int templateId);

    default void onJoin(JoinDecoder join)
    {
    }

    default void onWelcome(WelcomeDecoder welcome)
    {
    }

    default void onPlan(PlanMessageDecoder plan)
    {
    }

    default void onPlanAck(PlanAckDecoder ack)
    {
    }

    default void onRequest(RequestDecoder request)
    {
    }

    default void onResult(ResultDecoder result)
    {
    }

    default void onHeartbeat(HeartbeatDecoder heartbeat)
    {
    }

    default void onAbort(AbortDecoder abort)
    {
    }

    default void onProbe(ProbeDecoder probe)
    {
    }

    default void onProbeReply(ProbeReplyDecoder reply)
    {
    }

    default void onError(ErrorMessageDecoder error)
    {
    }

    default void onLeave(LeaveDecoder leave)
    {
    }
}
