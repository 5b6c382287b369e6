package org.coedge.planner.policy;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The planners {@code --planner} names: {@code adaptive} (the default: {@link AdaptivePlanPolicy}) and the fixed
 * share rules of {@link SharePolicy} ({@code head-aware}, {@code proportional}, {@code equal}) through
 * {@link SharePlanPolicy}. {@code default} names the adaptive planner. Cold path, any thread.
 */
public final class Planners
{
    public static final String ADAPTIVE = "adaptive";
    public static final String KNOWN = "adaptive (default), head-aware, proportional, equal";

    private Planners()
    {
    }

    /**
     * @return the name the command line and reports use for {@code name}: {@code adaptive} for {@code default}.
     * @throws IllegalArgumentException naming the planners known, if {@code name} is none of them.
     */
    public static String canonical(final String name)
    {
        final String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals(ADAPTIVE) || n.equals("default"))
        {
            return ADAPTIVE;
        }
        return SharePolicy.parse(n).label();
    }

    /**
     * @param fuse            for the share rules: the fuse depth, or {@link SharePlanPolicy#FUSE_AUTO}; the adaptive
     *                        planner chooses its own.
     * @param replanImbalance for the share rules: how much later than possible a plan may be predicted to finish.
     * @return a new policy for the planner {@code name} names.
     */
    public static PlanPolicy create(
        final String name, final int fuse, final double replanImbalance, final PrintWriter log)
    {
        final String n = canonical(name);
        if (n.equals(ADAPTIVE))
        {
            return new AdaptivePlanPolicy(log);
        }
        return new SharePlanPolicy(SharePolicy.parse(n), fuse, log).replanImbalance(replanImbalance);
    }
}
