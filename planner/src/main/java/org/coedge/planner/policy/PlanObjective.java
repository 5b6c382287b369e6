package org.coedge.planner.policy;

import java.util.Locale;

/**
 * What the adaptive planner optimises: the latency of a request (the default), the accuracy of the exit it answers
 * from under a deadline (Edgent), or the energy the devices spend on it under a deadline (CoEdge).
 * <p>
 * Immutable; parsed once from the command line.
 */
public final class PlanObjective
{
    /** The objective's kind. */
    public enum Kind
    {
        /** The plan predicted to finish first. */
        LATENCY,
        /** The most accurate exit whose best plan is predicted to meet the deadline. */
        ACCURACY,
        /** The plan with the least predicted energy whose predicted latency meets the deadline. */
        ENERGY
    }

    /** Minimum latency, no deadline. */
    public static final PlanObjective LATENCY = new PlanObjective(Kind.LATENCY, 0);

    private final Kind kind;
    private final long deadlineNs;

    private PlanObjective(final Kind kind, final long deadlineNs)
    {
        this.kind = kind;
        this.deadlineNs = deadlineNs;
    }

    /**
     * @param name       {@code latency}, {@code accuracy} or {@code energy} (any case).
     * @param deadlineMs the deadline of a request in milliseconds; needed by {@code accuracy} and {@code energy},
     *                   ignored (and may be 0) by {@code latency}.
     * @throws IllegalArgumentException naming what is wrong.
     */
    public static PlanObjective of(final String name, final double deadlineMs)
    {
        final Kind kind;
        try
        {
            kind = Kind.valueOf(name.trim().toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException e)
        {
            throw new IllegalArgumentException("--objective must be latency, accuracy or energy, got '" + name + "'");
        }
        if (kind == Kind.LATENCY)
        {
            return LATENCY;
        }
        if (!(deadlineMs > 0) || deadlineMs > 3_600_000)
        {
            throw new IllegalArgumentException("--objective " + kind.name().toLowerCase(Locale.ROOT) +
                " needs --deadline-ms in (0, 3600000], got " + deadlineMs);
        }
        return new PlanObjective(kind, Math.round(deadlineMs * 1e6));
    }

    public Kind kind()
    {
        return kind;
    }

    /** @return the deadline of a request in nanoseconds; 0 for {@link Kind#LATENCY}. */
    public long deadlineNs()
    {
        return deadlineNs;
    }

    @Override
    public String toString()
    {
        return kind == Kind.LATENCY ? "latency" :
            String.format(Locale.ROOT, "%s under %.2f ms", kind.name().toLowerCase(Locale.ROOT), deadlineNs * 1e-6);
    }
}
