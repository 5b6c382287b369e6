package org.coedge.engine.cluster;

import java.util.List;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Step;
import org.coedge.planner.policy.ClusterView;

/**
 * What the coordinator knows of each device's speed: the throughput it reported at its join (its calibration), and
 * the rates measured during requests, FLOPs of the rows it computed over its compute time, as the median of the last
 * {@value #WINDOW} requests ({@link RateWindow}); likewise the coordinator's time for the head (global pooling,
 * fully-connected), which is often bound by reading weights rather than by FLOPs. A plan uses the measured rate of a
 * device once it has {@value #MIN_SAMPLES} samples, and until then its calibrated rate scaled by how measured rates
 * compare with calibrated ones on the devices that have both (a GEMM calibrates faster than whole layers run).
 * <p>
 * {@link PlanSession} feeds it after every request and shows it to the plan policy through a {@link ClusterView};
 * {@link Membership} sets a worker's calibration at its welcome. Owned by the coordinator's thread; cold path (once
 * per request, a few dozen steps).
 */
final class SpeedBook
{
    static final int WINDOW = 8;
    static final int MIN_SAMPLES = org.coedge.planner.policy.ClusterView.RATE_SAMPLES;

    private final RateWindow[] measured; // by node id; 0 is the coordinator
    private final double[] calibrated;
    private final RateWindow headSeconds = new RateWindow(WINDOW);

    /** @param nodes node ids run from 0 (the coordinator) to {@code nodes - 1}. */
    SpeedBook(final int nodes)
    {
        measured = new RateWindow[nodes];
        calibrated = new double[nodes];
        for (int i = 0; i < nodes; i++)
        {
            measured[i] = new RateWindow(WINDOW);
        }
    }

    void calibrated(final int node, final double flopsPerSecond)
    {
        calibrated[node] = flopsPerSecond;
    }

    /** @return the rate {@code node} calibrated at its start, 0 before it reported one. */
    double calibrated(final int node)
    {
        return calibrated[node];
    }

    /** A device joined again (maybe on other hardware): what was measured of its old self no longer holds. */
    void forget(final int node)
    {
        measured[node].clear();
    }

    /** @return the median rate measured during requests, or 0 before any. */
    double measured(final int node)
    {
        return measured[node].median(0);
    }

    /** @return the median time of the head over the last requests, or -1 before any. */
    double headSeconds()
    {
        return headSeconds.median(-1);
    }

    /** @return FLOPs per second to plan device {@code d} with, for each device of a plan ({@code nodes[d]}). */
    double[] estimates(final int[] nodes)
    {
        double ratio = 0;
        int withBoth = 0;
        for (final int n : nodes)
        {
            if (measured[n].size() >= MIN_SAMPLES && calibrated[n] > 0)
            {
                ratio += measured[n].median(0) / calibrated[n];
                withBoth++;
            }
        }
        final double scale = withBoth == 0 ? 1 : ratio / withBoth;
        final double[] flops = new double[nodes.length];
        for (int d = 0; d < nodes.length; d++)
        {
            final RateWindow w = measured[nodes[d]];
            flops[d] = w.size() >= MIN_SAMPLES ? w.median(0) : calibrated[nodes[d]] * scale;
        }
        return flops;
    }

    /**
     * Takes the measurements of one successful request: device {@code d} of the plan is node {@code nodes[d]}, it
     * ran {@code programs.get(d)} and spent {@code computeNs[d]} computing its rows outside the head.
     */
    void learn(
        final LayerGraph graph, final List<DeviceProgram> programs, final int[] nodes, final long[] computeNs,
        final long headNs)
    {
        for (int d = 0; d < nodes.length; d++)
        {
            final double flops = spatialFlops(graph, programs.get(d));
            if (flops > 0 && computeNs[d] > 0)
            {
                measuredSample(nodes[d], flops / (computeNs[d] * 1e-9));
            }
        }
        if (headNs > 0)
        {
            headSeconds.add(headNs * 1e-9);
        }
    }

    /** Adds one measured rate of {@code node} (tests; {@link #learn} derives them from a request). */
    void measuredSample(final int node, final double flopsPerSecond)
    {
        measured[node].add(flopsPerSecond);
    }

    /** @return FLOPs of the rows a program computes outside the head. */
    static double spatialFlops(final LayerGraph graph, final DeviceProgram program)
    {
        double flops = 0;
        for (final Step s : program.steps())
        {
            if (s.kind() == Step.Kind.COMPUTE && s.layer() < graph.firstGlobalLayer())
            {
                flops += (double)graph.layer(s.layer()).flopsPerRow() * s.rows().rows();
            }
        }
        return flops;
    }
}
