package org.coedge.planner;

/**
 * Estimated latency of one inference under a {@link Plan}, from its {@link PlanCost} and a {@link ClusterModel}.
 * <p>
 * The model is lock-step: every stage waits for its slowest device, first to compute and then to receive, so for
 * stage {@code s} with per-device FLOPs {@code flops_d}, halo bytes received {@code haloBytes_d} and messages received
 * {@code messages_d}:
 * <pre>
 *   computeNs_s  = max over d of (1e9 * flops_d / flopsPerSecond_d)
 *   exchangeNs_s = max over d of (1e9 * haloBytes_d / linkBytesPerSecond + messages_d * messageLatencyNs)
 *   stageNs_s    = computeNs_s + exchangeNs_s
 *   totalNs      = sum over s of stageNs_s
 * </pre>
 * Compute and exchange do not overlap, devices receive in parallel on independent links, and the coordinator's
 * scatter of the input is free (as in {@link PlanCost}). The model ranks plans; it does not predict wall-clock time.
 * <p>
 * Built by {@link Planner#autoFuse}, the engine's coordinator and tests; cold path; immutable, so safe on any thread.
 */
public final class PlanEstimate
{
    private static final double NS_PER_SECOND = 1e9;

    private final PlanCost cost;
    private final double[] computeNs;
    private final double[] exchangeNs;
    private final double totalNs;

    private PlanEstimate(final PlanCost cost, final double[] computeNs, final double[] exchangeNs)
    {
        this.cost = cost;
        this.computeNs = computeNs;
        this.exchangeNs = exchangeNs;
        double sum = 0;
        for (int s = 0; s < computeNs.length; s++)
        {
            sum += computeNs[s] + exchangeNs[s];
        }
        this.totalNs = sum;
    }

    /**
     * Estimates {@code plan}, which is first validated against {@code graph}.
     *
     * @throws IllegalArgumentException if the plan is invalid for the graph or its device count differs from the
     *                                  cluster's.
     */
    public static PlanEstimate of(final LayerGraph graph, final Plan plan, final ClusterModel cluster)
    {
        if (plan.deviceCount() != cluster.deviceCount())
        {
            throw new IllegalArgumentException("plan has " + plan.deviceCount() + " devices but cluster has " +
                cluster.deviceCount());
        }
        return of(PlanCost.of(graph, plan), cluster);
    }

    /**
     * Estimates a plan already counted as {@code cost}.
     *
     * @throws IllegalArgumentException if the cost's device count differs from the cluster's.
     */
    public static PlanEstimate of(final PlanCost cost, final ClusterModel cluster)
    {
        final int stageCount = cost.stages().size();
        final double[] computeNs = new double[stageCount];
        final double[] exchangeNs = new double[stageCount];
        for (int s = 0; s < stageCount; s++)
        {
            final PlanCost.StageCost sc = cost.stage(s);
            if (sc.deviceCount() != cluster.deviceCount())
            {
                throw new IllegalArgumentException("stage " + s + " has " + sc.deviceCount() +
                    " devices but cluster has " + cluster.deviceCount());
            }
            double slowestComputeNs = 0;
            double slowestExchangeNs = 0;
            for (int d = 0; d < sc.deviceCount(); d++)
            {
                slowestComputeNs = Math.max(slowestComputeNs,
                    NS_PER_SECOND * sc.flops(d) / cluster.flopsPerSecond(d));
                slowestExchangeNs = Math.max(slowestExchangeNs,
                    NS_PER_SECOND * sc.haloBytes(d) / cluster.linkBytesPerSecond() +
                    sc.messages(d) * cluster.messageLatencyNs());
            }
            computeNs[s] = slowestComputeNs;
            exchangeNs[s] = slowestExchangeNs;
        }
        return new PlanEstimate(cost, computeNs, exchangeNs);
    }

    /**
     * @return the counts this estimate was made from.
     */
    public PlanCost cost()
    {
        return cost;
    }

    public int stageCount()
    {
        return computeNs.length;
    }

    /**
     * @return compute time of the slowest device in stage {@code stage}.
     */
    public double stageComputeNs(final int stage)
    {
        return computeNs[stage];
    }

    /**
     * @return receive time of the slowest receiver in stage {@code stage}.
     */
    public double stageExchangeNs(final int stage)
    {
        return exchangeNs[stage];
    }

    public double stageNs(final int stage)
    {
        return computeNs[stage] + exchangeNs[stage];
    }

    public double totalNs()
    {
        return totalNs;
    }

    public String toString()
    {
        return "PlanEstimate{totalNs=" + totalNs + " stages=" + computeNs.length + "}";
    }
}
