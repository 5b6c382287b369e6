package org.coedge.planner;

/**
 * A device's CPU quota as the Linux scheduler enforces it (CFS bandwidth): in every period of {@code periodNs} the
 * device may run {@code cores x periodNs} and is then stopped until the next period. Work shorter than what is left of
 * a period runs at full speed, longer work stalls at every period's end: a per-layer sum of unthrottled times would
 * predict the first too slow if the times were taken under the quota, and the second too fast if not, so the
 * simulator runs each device's CPU work through {@link #run} instead.
 * <p>
 * Periods are counted from the start of the request, with a full budget then (the device was idle before it). Immutable.
 */
public final class CpuQuota
{
    private final double cores;
    private final double periodNs;
    private final double budgetNs;

    /**
     * @param cores    the share of one CPU the device may use per period, in (0, 1).
     * @param periodNs the period, > 0.
     */
    public CpuQuota(final double cores, final double periodNs)
    {
        if (!(cores > 0) || !(cores < 1) || !(periodNs > 0) || Double.isInfinite(periodNs))
        {
            throw new IllegalArgumentException("a CPU quota needs 0 < cores < 1 and a period > 0: " + cores +
                " cores, " + periodNs + " ns");
        }
        this.cores = cores;
        this.periodNs = periodNs;
        this.budgetNs = cores * periodNs;
    }

    public double cores()
    {
        return cores;
    }

    public double periodNs()
    {
        return periodNs;
    }

    /**
     * Runs {@code workNs} of CPU time from {@code startNs}.
     *
     * @param used the budget used in the period {@code used[0]} (its index); updated. Start with {@code {-1, 0}}.
     * @return when the work is done.
     */
    public double run(final double startNs, final double workNs, final double[] used)
    {
        double t = startNs;
        double left = workNs;
        while (left > 0)
        {
            // periods never go back (a step may start before the last one ended, at an arrival computed earlier)
            final double period = Math.max(used[0], Math.floor(t / periodNs));
            if (period != used[0])
            {
                used[0] = period;
                used[1] = 0;
            }
            t = Math.max(t, period * periodNs);
            final double periodEnd = (period + 1) * periodNs;
            final double run = Math.min(left, Math.min(budgetNs - used[1], periodEnd - t));
            if (run > 0)
            {
                t += run;
                left -= run;
                used[1] += run;
            }
            if (left > 0)
            {
                // throttled (or at the period's end) until the next period, with its budget whole
                t = periodEnd;
                used[0] = period + 1;
                used[1] = 0;
            }
        }
        return t;
    }

    /**
     * The CPU quota a device key names ({@code ...;threads=1;cores=0.4500;period-us=10000;...}, as a device's
     * profile is keyed by the engine): one that limits a single compute thread to less than a core. Null for none,
     * more than a core, several threads, or a key of another form.
     */
    public static CpuQuota ofDeviceKey(final String deviceKey)
    {
        double cores = Double.NaN;
        long periodUs = -1;
        int threads = -1;
        for (final String part : deviceKey.split(";"))
        {
            final int eq = part.indexOf('=');
            if (eq < 0)
            {
                continue;
            }
            final String name = part.substring(0, eq);
            final String value = part.substring(eq + 1);
            try
            {
                if (name.equals("cores") && !value.equals("unlimited"))
                {
                    cores = Double.parseDouble(value);
                }
                else if (name.equals("period-us"))
                {
                    periodUs = Long.parseLong(value);
                }
                else if (name.equals("threads"))
                {
                    threads = Integer.parseInt(value);
                }
            }
            catch (final NumberFormatException e)
            {
                return null;
            }
        }
        if (threads != 1 || !(cores > 0) || !(cores < 1) || periodUs <= 0)
        {
            return null;
        }
        return new CpuQuota(cores, periodUs * 1000.0);
    }

    @Override
    public String toString()
    {
        return String.format(java.util.Locale.ROOT, "%.3f cores per %.1f ms", cores, periodNs * 1e-6);
    }
}
