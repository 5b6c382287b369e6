package org.coedge.engine.cluster;

import java.io.PrintWriter;

import io.aeron.Publication;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.sbe.Status;

/**
 * A worker's last plan acknowledgement and last request result, kept so that a coordinator that sends the plan or the
 * request again (its answer was lost, or the worker's JVM stalled past Aeron's image timeout) gets the same answer
 * again without the plan being built or the request run twice.
 * <p>
 * The compute thread writes an answer and sends it ({@link #sendAck}, {@link #sendResult}); the control thread
 * answers a repeat from what was kept ({@link #ackAgain}, {@link #resultAgain}). Every field is written before the
 * volatile epoch or request id that publishes it, and read after it.
 */
final class WorkerReplies
{
    private final ControlProxy computeProxy;
    private final PrintWriter log;
    private long ackSession;
    private Status ackStatus;
    private long ackMemory;
    private String ackError;
    private volatile long ackedEpoch = -1;
    private long resultSession;
    private long resultEpoch;
    private Status resultStatus;
    private int resultCode;
    private long resultComputeNs;
    private long resultSendNs;
    private long resultAwaitNs;
    private String resultError;
    private volatile long resultRequest = -1;

    /** @param computeProxy the compute thread's own proxy (its lane), through which the first answers go. */
    WorkerReplies(final ControlProxy computeProxy, final PrintWriter log)
    {
        this.computeProxy = computeProxy;
        this.log = log;
    }

    /** Compute thread: keeps the ack for a coordinator that sends the plan again, then sends it. */
    void sendAck(final Publication pub, final long session, final long epoch, final Status status, final long memory,
        final String error)
    {
        ackSession = session;
        ackStatus = status;
        ackMemory = memory;
        ackError = error;
        ackedEpoch = epoch;
        final int sent = computeProxy.planAck(pub, epoch, status, memory, error);
        if (sent != TransportCodes.OK)
        {
            log.println("worker: could not acknowledge plan epoch " + epoch + " (" + TransportCodes.name(sent) +
                "); it is acknowledged again when the coordinator sends it again");
        }
    }

    /**
     * Control thread: acknowledges plan {@code epoch} of {@code session} again through {@code proxy} if it was
     * acknowledged; one still being built is not answered (its ack follows when it is).
     */
    void ackAgain(final ControlProxy proxy, final Publication pub, final long session, final long epoch)
    {
        if (ackedEpoch == epoch && ackSession == session)
        {
            proxy.planAck(pub, epoch, ackStatus, ackMemory, ackError);
        }
    }

    /**
     * Compute thread: keeps the result for a coordinator that asks again (sent again without its time line), then
     * sends it with the start (from the request's arrival, -1 if it did not run) and duration of each step.
     */
    void sendResult(
        final Publication pub, final long session, final long epoch, final long request, final Status status,
        final int code, final long computeNs, final long sendNs, final long awaitNs, final long[] stepStartNs,
        final long[] stepDurationNs, final int steps, final String error)
    {
        resultSession = session;
        resultEpoch = epoch;
        resultStatus = status;
        resultCode = code;
        resultComputeNs = computeNs;
        resultSendNs = sendNs;
        resultAwaitNs = awaitNs;
        resultError = error;
        resultRequest = request;
        final int sent = computeProxy.result(pub, epoch, request, status, code, computeNs, sendNs, awaitNs,
            stepStartNs, stepDurationNs, steps, error);
        if (sent != TransportCodes.OK)
        {
            log.println("worker: could not send the result of request " + request + " (" +
                TransportCodes.name(sent) + "); it is sent again when the coordinator asks");
        }
    }

    /**
     * Control thread: sends the result of {@code request} under {@code epoch} of {@code session} again through
     * {@code proxy} if it was run; one still running is not answered (its result follows when it ends).
     */
    void resultAgain(final ControlProxy proxy, final Publication pub, final long session, final long epoch,
        final long request)
    {
        if (resultRequest == request && resultEpoch == epoch && resultSession == session)
        {
            proxy.result(pub, epoch, request, resultStatus, resultCode, resultComputeNs, resultSendNs, resultAwaitNs,
                resultError);
        }
    }
}
