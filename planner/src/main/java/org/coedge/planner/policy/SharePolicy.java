package org.coedge.planner.policy;

import java.util.Locale;

import org.coedge.planner.Layer;
import org.coedge.planner.LayerGraph;

/**
 * How the coordinator turns the devices' calibrated throughputs into row shares for a plan. Chosen once, by
 * the caller, before the coordinator starts; {@code coedge run --peers --planner} and {@code coedge testbed}
 * name them.
 */
public enum SharePolicy
{
    /**
     * Rows in proportion to throughput, less the coordinator's time for the head it computes alone (the median of
     * the times measured in requests, once there are any); named {@code head-aware}.
     */
    HEAD_AWARE,
    /** Rows in proportion to throughput, the head not accounted for. */
    PROPORTIONAL,
    /** The same number of rows for every device. */
    EQUAL;

    /** @return the policy named {@code name} (case-insensitive), e.g. {@code equal}. */
    public static SharePolicy parse(final String name)
    {
        for (final SharePolicy p : values())
        {
            if (p.label().equalsIgnoreCase(name.trim()))
            {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown planner '" + name + "'; known: " + Planners.KNOWN);
    }

    /** @return the lower-case name the command line uses. */
    public String label()
    {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * @param flops       throughput per device (device 0 is the coordinator, which runs the head alone).
     * @param graph       the model's layers: those from {@link LayerGraph#firstGlobalLayer()} on are the head.
     * @param headSeconds the coordinator's measured time for the head, or negative while unknown (then the head's
     *                    FLOPs stand in for it).
     * @return the row shares this policy gives the devices.
     */
    public double[] shares(final double[] flops, final LayerGraph graph, final double headSeconds)
    {
        switch (this)
        {
            case PROPORTIONAL:
                return flops.clone();
            case EQUAL:
                final double[] equal = new double[flops.length];
                java.util.Arrays.fill(equal, 1.0);
                return equal;
            default:
                return headAwareShares(flops, graph, headSeconds);
        }
    }

    /**
     * Row shares for the split layers when everything after them (the head: global pooling, fully-connected) runs on
     * the coordinator alone. Every device should finish at {@code t = (T + H) / sum(F)}, with {@code T} the split
     * layers' FLOPs and {@code H} the head's, so the coordinator's share of the split layers is
     * {@code F0 - H * sum(F) / (T + H)} and every worker's is its throughput.
     */
    private static double[] headAwareShares(final double[] flops, final LayerGraph graph, final double headSeconds)
    {
        double spatial = 0;
        double head = 0;
        for (int id = 0; id < graph.layerCount(); id++)
        {
            final Layer l = graph.layer(id);
            final double f = (double)l.flopsPerRow() * l.heightRows();
            if (id < graph.firstGlobalLayer())
            {
                spatial += f;
            }
            else
            {
                head += f;
            }
        }
        if (headSeconds >= 0)
        {
            // the head is often bound by reading its weights, not by FLOPs: count it as the FLOPs the coordinator
            // could have done in the time it was measured to take
            head = headSeconds * flops[0];
        }
        double sum = 0;
        for (final double f : flops)
        {
            sum += f;
        }
        final double[] shares = flops.clone();
        if (shares.length > 1 && spatial > 0)
        {
            shares[0] = Math.max(0, flops[0] - head * sum / (spatial + head));
        }
        return shares;
    }
}
