package org.coedge.planner.policy;

import java.util.Arrays;

import org.coedge.planner.LatencyModel;
import org.coedge.planner.LinkModel;
import org.coedge.planner.Prediction;

/**
 * What the adaptive planner has learnt messages cost, beyond each link's probed rate: what a send costs the sender
 * (the median of the last request's measured sends), and the extra latency per message the requests' waits showed
 * (the median of the last {@value LatencyModel#WINDOW} requests). Makes the {@link LinkModel} plans are made on
 * ({@link #links}).
 * <p>
 * Owned by {@link AdaptivePlanPolicy} on the coordinator's thread; {@link #copy} snapshots it for a trial candidate.
 */
final class MessageCosts
{
    /** What one message costs the sender before any was measured: Aeron's offer plus the copy, a few microseconds. */
    static final double DEFAULT_SEND_NS = 20_000;
    static final double DEFAULT_BYTES_PER_SECOND = 1e9 / 8;

    private double sendNsPerMessage = DEFAULT_SEND_NS;
    private double syncNs;
    private final double[] syncSamples = new double[LatencyModel.WINDOW];
    private int syncCount;

    MessageCosts copy()
    {
        final MessageCosts c = new MessageCosts();
        c.sendNsPerMessage = sendNsPerMessage;
        c.syncNs = syncNs;
        System.arraycopy(syncSamples, 0, c.syncSamples, 0, syncSamples.length);
        c.syncCount = syncCount;
        return c;
    }

    /** Takes the sends a request measured (the first {@code count} of {@code sendNs}; sorted here). */
    void sends(final double[] sendNs, final int count)
    {
        if (count > 0)
        {
            Arrays.sort(sendNs, 0, count);
            sendNsPerMessage = sendNs[count / 2];
        }
    }

    /**
     * Devices wait longer than the links explain when messages are late (a partner's sender thread that did not get
     * the core, a quota that ran out between compute and send): the excess per await, measured against
     * {@code again} (the plan re-predicted with the compute just learnt: a partner that computed slowly explains a
     * long wait, and its cost is in its model now), is taken as an extra latency of every message.
     *
     * @param waitedNs   per device its waits in the request, summed.
     * @param awaitCount per device its awaits (0: the device is left out).
     */
    void waits(final Prediction again, final double[] waitedNs, final int[] awaitCount)
    {
        final double[] excess = new double[waitedNs.length];
        int excessCount = 0;
        for (int d = 0; d < waitedNs.length; d++)
        {
            if (awaitCount[d] > 0)
            {
                excess[excessCount++] = (waitedNs[d] - waitNs(again, d)) / awaitCount[d];
            }
        }
        if (excessCount > 0)
        {
            Arrays.sort(excess, 0, excessCount);
            syncSamples[syncCount % syncSamples.length] = Math.max(0, syncNs + excess[excessCount / 2]);
            syncCount++;
            final int n = Math.min(syncCount, syncSamples.length);
            final double[] sorted = Arrays.copyOf(syncSamples, n);
            Arrays.sort(sorted);
            syncNs = sorted[n / 2];
        }
    }

    private static double waitNs(final Prediction prediction, final int device)
    {
        double ns = 0;
        for (int st = 0; st < prediction.stageCount(); st++)
        {
            ns += prediction.waitNs(device, st);
        }
        return ns;
    }

    /**
     * Each worker's link at its measured rate (both ways) and half its round trip as the latency to the coordinator;
     * between two workers the sum of their halves; the coordinator's own link as fast as its fastest worker's. Every
     * pair also gets the extra latency per message that the requests' waits showed ({@link #waits}).
     */
    LinkModel links(final ClusterView view)
    {
        final int n = view.deviceCount();
        final LinkModel m = LinkModel.uniform(n, DEFAULT_BYTES_PER_SECOND, 0, sendNsPerMessage);
        final double[] half = new double[n];
        double fastest = 0;
        for (int d = 1; d < n; d++)
        {
            final double rate = view.bytesPerSecond(d) > 0 ? view.bytesPerSecond(d) : DEFAULT_BYTES_PER_SECOND;
            m.device(d, rate, rate);
            fastest = Math.max(fastest, rate);
            half[d] = view.rttNs(d) / 2;
        }
        if (fastest > 0)
        {
            m.device(0, fastest, fastest);
        }
        for (int a = 0; a < n; a++)
        {
            for (int b = a + 1; b < n; b++)
            {
                m.latency(a, b, half[a] + half[b] + syncNs);
            }
        }
        return m;
    }
}
