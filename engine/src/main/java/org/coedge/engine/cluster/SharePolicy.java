package org.coedge.engine.cluster;

import java.util.Locale;

/**
 * How the {@link Coordinator} turns the devices' calibrated throughputs into row shares for a plan. Chosen once, by
 * the caller, before {@link Coordinator#start()}; {@code coedge run --peers --planner} and {@code coedge testbed}
 * name them.
 */
public enum SharePolicy
{
    /**
     * Rows in proportion to throughput, less the coordinator's time for the head it computes alone (measured on the
     * first request, then planned again): what a cooperative run does unless told otherwise.
     */
    DEFAULT,
    /** Rows in proportion to calibrated throughput, the head not accounted for. */
    PROPORTIONAL,
    /** The same number of rows for every device. */
    EQUAL;

    /** @return the policy named {@code name} (case-insensitive), e.g. {@code equal}. */
    public static SharePolicy parse(final String name)
    {
        for (final SharePolicy p : values())
        {
            if (p.name().equalsIgnoreCase(name.trim()))
            {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown planner '" + name + "'; known: default, proportional, equal");
    }

    /** @return the lower-case name the command line uses. */
    public String label()
    {
        return name().toLowerCase(Locale.ROOT);
    }
}
