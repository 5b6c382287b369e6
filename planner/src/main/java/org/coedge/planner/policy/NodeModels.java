package org.coedge.planner.policy;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Map;

import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;

/**
 * The adaptive policy's latency models, one per node id, kept across plans so that what requests taught survives a
 * re-plan; a node whose profile changed (it joined again, perhaps on other hardware) is fitted afresh. Owned by
 * {@link AdaptivePlanPolicy} on the coordinator's thread.
 */
final class NodeModels
{
    private final PrintWriter log;
    private final Map<Integer, LatencyModel> models = new HashMap<>();
    private final Map<Integer, DeviceProfile> fittedTo = new HashMap<>();

    NodeModels(final PrintWriter log)
    {
        this.log = log;
    }

    /** Keeps {@code model} for {@code node} (what a trial's candidate left, restored). */
    void put(final int node, final LatencyModel model)
    {
        models.put(node, model);
    }

    /**
     * @return the model of device {@code d} of {@code view}: the one kept for its node while its profile is the one
     * it was fitted to, else one fitted afresh to its profile (or, without one, to its calibrated rate).
     */
    LatencyModel of(final LayerGraph graph, final ClusterView view, final int d)
    {
        final int node = view.nodeId(d);
        DeviceProfile profile = view.profile(d);
        if (profile == null)
        {
            final double rate = view.calibratedFlopsPerSecond(d) > 0 ? view.calibratedFlopsPerSecond(d) : 1e10;
            final long memory = view.memoryBytes(d) > 0 ? view.memoryBytes(d) : Long.MAX_VALUE;
            profile = DeviceProfile.calibratedOnly("node " + node, rate, memory);
        }
        final LatencyModel known = models.get(node);
        final DeviceProfile before = fittedTo.get(node);
        if (known != null && before != null && (before == profile || sameProfile(before, profile)))
        {
            return known;
        }
        LatencyModel fitted;
        try
        {
            fitted = LatencyModel.fit(graph, profile);
        }
        catch (final IllegalArgumentException e)
        {
            log.println("coordinator: ignoring the profile of node " + node + ": " + e.getMessage());
            fitted = LatencyModel.fit(graph, DeviceProfile.calibratedOnly("node " + node,
                Math.max(1e9, view.calibratedFlopsPerSecond(d)), profile.memoryBytes()));
        }
        fitted.quota(org.coedge.planner.CpuQuota.ofDeviceKey(profile.deviceKey()));
        models.put(node, fitted);
        fittedTo.put(node, profile);
        return fitted;
    }

    private static boolean sameProfile(final DeviceProfile a, final DeviceProfile b)
    {
        if (a.sampleCount() != b.sampleCount() || a.memoryBytes() != b.memoryBytes() ||
            a.calibratedFlopsPerSecond() != b.calibratedFlopsPerSecond())
        {
            return false;
        }
        for (int i = 0; i < a.sampleCount(); i++)
        {
            if (a.layer(i) != b.layer(i) || a.rows(i) != b.rows(i) || a.ns(i) != b.ns(i))
            {
                return false;
            }
        }
        return true;
    }
}
