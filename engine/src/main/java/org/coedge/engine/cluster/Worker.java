package org.coedge.engine.cluster;

import org.coedge.planner.DeviceProfile;

import io.aeron.Publication;
import org.coedge.transport.sbe.PlanAckDecoder;
import org.coedge.transport.sbe.ResultDecoder;
import org.coedge.transport.sbe.Status;

/**
 * A worker as the coordinator sees it: its control publication, whether it is alive, what it reported at its join,
 * its probed link, and the last plan acknowledgement and request result it sent. {@link Membership} keeps one per
 * peer and files the worker's control messages into it; {@link PlanSession} and {@link Coordinator} note when they
 * sent it a plan or a request. Read by {@code coedge run --peers} for its report. Coordinator's thread only.
 */
public final class Worker
{
    final int nodeId;
    final String endpoint;
    final Publication control;
    boolean alive;
    boolean everJoined;
    double flopsPerSecond;
    double measuredFlopsPerSecond;
    long lastHeardNs;
    long lastJoinNs;
    long lastSentNs; // the plan or request now awaiting an answer
    long ackEpoch = -1;
    Status ackStatus;
    String ackError = "";
    long resultRequest = -1;
    Status resultStatus;
    String resultError = "";
    long computeNs;
    long sendNs;
    long awaitNs;
    double rttNs;
    double bytesPerSecond;
    long memoryBytes;
    long memoryLimitBytes; // what it reported at its join
    String power = ""; // the power model it stated at its join (text), empty for none
    DeviceProfile profile; // what its welcome said, checked against the model's graph; null if unusable
    long requestSentNs;
    long[] stepStartNs = new long[0]; // the last result's time line, from the request's arrival there
    long[] stepDurationNs = new long[0];
    int stepCount;

    Worker(final int nodeId, final String endpoint, final Publication control)
    {
        this.nodeId = nodeId;
        this.endpoint = endpoint;
        this.control = control;
    }

    /** Files the worker's acknowledgement of a plan (of the current epoch). */
    void acknowledged(final PlanAckDecoder ack)
    {
        ackStatus = ack.status();
        memoryBytes = ack.memoryBytes();
        ackError = ack.errorText();
        ackEpoch = ack.epoch();
    }

    /** Files the result of a request the worker has no steps in (and was not sent): done, in no time. */
    void idle(final long requestId)
    {
        resultStatus = Status.OK;
        computeNs = 0;
        sendNs = 0;
        awaitNs = 0;
        stepCount = 0;
        resultError = "";
        resultRequest = requestId;
    }

    /** Files the worker's result of a request (of the current epoch): its status, times and step time line. */
    void reported(final ResultDecoder result)
    {
        final long id = result.requestId();
        resultStatus = result.status();
        computeNs = result.computeNs();
        sendNs = result.sendNs();
        awaitNs = result.awaitNs();
        final ResultDecoder.StepsDecoder steps = result.steps();
        final int n = steps.count();
        if (stepStartNs.length < n)
        {
            stepStartNs = new long[n];
            stepDurationNs = new long[n];
        }
        for (int i = 0; i < n; i++)
        {
            steps.next();
            stepStartNs[i] = steps.startNs();
            stepDurationNs[i] = steps.durationNs();
        }
        stepCount = n;
        resultError = result.errorText();
        resultRequest = id;
    }

    public String endpoint()
    {
        return endpoint;
    }

    /** @return the throughput the worker reported at its join (its calibration). */
    public double flopsPerSecond()
    {
        return flopsPerSecond;
    }

    /** @return the median rate measured during its last requests (FLOPs over compute time), 0 before any. */
    public double measuredFlopsPerSecond()
    {
        return measuredFlopsPerSecond;
    }

    /** @return the probed round trip: a one-block row-block probe over the data path, answered over control. */
    public double rttNs()
    {
        return rttNs;
    }

    /** @return the probed rate of 2 MiB bursts of row blocks over the data path. */
    public double bytesPerSecond()
    {
        return bytesPerSecond;
    }

    public long computeNs()
    {
        return computeNs;
    }

    public long sendNs()
    {
        return sendNs;
    }

    public long awaitNs()
    {
        return awaitNs;
    }

    /** @return bytes the worker holds for its slice of the current plan (arena, weights, buffers). */
    public long memoryBytes()
    {
        return memoryBytes;
    }

    /** @return the memory the worker reported at its join (today its JVM's maximum heap), 0 before it joined. */
    /** @return the worker's profile of the model (from its welcome), or null if it sent none usable. */
    public DeviceProfile profile()
    {
        return profile;
    }

    public long memoryLimitBytes()
    {
        return memoryLimitBytes;
    }

    /** @return the power model the worker stated at its join (the text of its {@code --power}), "" for none. */
    public String power()
    {
        return power;
    }

    /** @return when the coordinator sent the last request to this worker (its {@code System.nanoTime()}). */
    public long requestSentNs()
    {
        return requestSentNs;
    }

    /** @return steps in the last result's time line. */
    public int stepCount()
    {
        return stepCount;
    }

    /** @return the start of step {@code i} in the last result, from the request's arrival there (-1: not run). */
    public long stepStartNs(final int i)
    {
        return stepStartNs[i];
    }

    /** @return the duration of step {@code i} in the last result. */
    public long stepDurationNs(final int i)
    {
        return stepDurationNs[i];
    }
}
