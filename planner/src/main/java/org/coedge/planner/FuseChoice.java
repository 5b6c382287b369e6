package org.coedge.planner;

/**
 * The plan {@link Planner#autoFuse} chose: the fusion depth it was built with and its {@link PlanEstimate}.
 * <p>
 * Returned to the engine's coordinator (and tests); immutable, so safe on any thread.
 */
public final class FuseChoice
{
    private final Plan plan;
    private final int fuseDepth;
    private final PlanEstimate estimate;

    FuseChoice(final Plan plan, final int fuseDepth, final PlanEstimate estimate)
    {
        this.plan = plan;
        this.fuseDepth = fuseDepth;
        this.estimate = estimate;
    }

    public Plan plan()
    {
        return plan;
    }

    /**
     * @return the {@code fuseDepth} given to {@link Planner#uniform(LayerGraph, double[], int, long)}: 1 for
     * PER_LAYER, N > 1 for FUSED blocks of up to N layers.
     */
    public int fuseDepth()
    {
        return fuseDepth;
    }

    public PlanEstimate estimate()
    {
        return estimate;
    }

    public String toString()
    {
        return "FuseChoice{fuseDepth=" + fuseDepth + " estimatedNs=" + estimate.totalNs() + " " + plan + "}";
    }
}
