package org.coedge.planner.policy;

import java.io.PrintWriter;
import java.util.List;

import org.coedge.planner.ClusterModel;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;

/**
 * The plan policy {@code coedge run --peers --planner default|proportional|equal} names: rows of every spatial
 * layer over every device, in the shares a {@link SharePolicy} gives the devices' estimated rates
 * ({@link ClusterView#estimatedFlopsPerSecond}), fused to a fixed depth or to the one {@link Planner#autoFuse}
 * estimates fastest over the slowest probed link; the head runs on the coordinator.
 * <p>
 * It asks for a new plan when the current one is predicted to finish more than {@value #REPLAN_IMBALANCE} times
 * later than one made with the rates measured since ({@link #imbalance}), at most once per
 * {@link #requestsBeforeReplan()} requests, a number that doubles after each such re-plan so that devices whose rate
 * depends on the rows they are given cannot make plans flap.
 * <p>
 * Built by the coordinator unless another policy was given; called on the coordinator's thread only.
 */
public final class SharePlanPolicy implements PlanPolicy
{
    /** Plan again when the current plan is predicted to finish this many times later than it could. */
    public static final double REPLAN_IMBALANCE = 1.10;
    /** Fuse depth meaning "choose by estimate". */
    public static final int FUSE_AUTO = 0;
    private static final int MAX_REQUESTS_BEFORE_REPLAN = 96;
    private static final int MAX_AUTO_FUSE_DEPTH = 8;
    /** Link rate assumed when no worker's link could be probed. */
    private static final double UNPROBED_BYTES_PER_SECOND = 1e9 / 8;

    private final SharePolicy sharePolicy;
    private final int fuse;
    private final PrintWriter log;
    private double replanImbalance = REPLAN_IMBALANCE;
    private LayerGraph graph;
    private long epoch;
    private int fuseDepth;
    private double[] planShares = new double[0]; // the shares the current plan was made with
    private int requestsSincePlan;
    private int requestsBeforeReplan = ClusterView.RATE_SAMPLES;

    /**
     * @param fuse fuse depth, or {@link #FUSE_AUTO} to choose by estimate.
     * @param log  where a rate-driven re-plan is announced.
     */
    public SharePlanPolicy(final SharePolicy sharePolicy, final int fuse, final PrintWriter log)
    {
        this.sharePolicy = sharePolicy;
        this.fuse = fuse;
        this.log = log;
    }

    /**
     * @param imbalance plan again when the current plan is predicted to finish this many times later than one made
     *                  with the measured rates; infinity to keep plans (tests that need them fixed).
     * @return this.
     */
    public SharePlanPolicy replanImbalance(final double imbalance)
    {
        this.replanImbalance = imbalance;
        return this;
    }

    @Override
    public Plan plan(final LayerGraph graph, final int[] outputLayers, final ClusterView view, final long epoch)
    {
        double bytesPerSecond = Double.MAX_VALUE;
        double latencyNs = 0;
        for (int d = 1; d < view.deviceCount(); d++)
        {
            if (view.bytesPerSecond(d) > 0)
            {
                bytesPerSecond = Math.min(bytesPerSecond, view.bytesPerSecond(d));
                latencyNs = Math.max(latencyNs, view.rttNs(d) / 2);
            }
        }
        if (bytesPerSecond == Double.MAX_VALUE)
        {
            bytesPerSecond = UNPROBED_BYTES_PER_SECOND;
        }
        final double[] flops = view.estimatedFlopsPerSecond();
        final double[] shares = sharePolicy.shares(flops, graph, view.headSeconds());
        this.graph = graph;
        this.epoch = epoch;
        this.planShares = shares;
        this.fuseDepth = fuse != FUSE_AUTO ? fuse : Planner.autoFuse(graph, shares,
            ClusterModel.of(flops, bytesPerSecond, latencyNs), MAX_AUTO_FUSE_DEPTH, epoch).fuseDepth();
        this.requestsSincePlan = 0;
        return Planner.proportional(graph, shares, fuseDepth, epoch);
    }

    @Override
    public void learn(final Plan plan, final List<DeviceProgram> programs, final RequestTimes times)
    {
        requestsSincePlan++;
    }

    @Override
    public boolean wantsReplan(final ClusterView now)
    {
        if (now.deviceCount() == 1 || requestsSincePlan < requestsBeforeReplan)
        {
            return false;
        }
        final double imbalance = imbalance(planShares, sharePolicy.shares(now.estimatedFlopsPerSecond(), graph,
            now.headSeconds()));
        if (!(imbalance > replanImbalance))
        {
            return false;
        }
        requestsSincePlan = 0;
        requestsBeforeReplan = Math.min(MAX_REQUESTS_BEFORE_REPLAN, 2 * requestsBeforeReplan);
        log.printf("coordinator: measured rates predict plan epoch %d finishes %.2fx later than it could " +
            "(head %.2f ms); planning again%n", epoch, imbalance, now.headSeconds() * 1e3);
        return true;
    }

    @Override
    public int fuseDepth()
    {
        return fuseDepth;
    }

    public SharePolicy sharePolicy()
    {
        return sharePolicy;
    }

    /** @return requests a plan runs before measured rates may replace it; doubles after each such re-plan. */
    int requestsBeforeReplan()
    {
        return requestsBeforeReplan;
    }

    /**
     * @return how much later than a plan with shares {@code wanted} a plan with shares {@code planned} is predicted
     * to finish: the largest ratio of a device's planned to wanted fraction (1 when they agree).
     */
    static double imbalance(final double[] planned, final double[] wanted)
    {
        double p = 0;
        double w = 0;
        for (int i = 0; i < planned.length; i++)
        {
            p += planned[i];
            w += wanted[i];
        }
        double worst = 1;
        for (int i = 0; i < planned.length; i++)
        {
            final double pf = planned[i] / p;
            final double wf = wanted[i] / w;
            if (pf > 1e-9)
            {
                worst = Math.max(worst, wf <= 1e-9 ? Double.POSITIVE_INFINITY : pf / wf);
            }
        }
        return worst;
    }
}
