package org.coedge.engine.testbed;

import java.util.Locale;

/**
 * The testbed's {@code --link-schedule}: at which timed request of a cooperative run the links change to which rate,
 * as {@code INDEX:MBPS,...} (for example {@code 0:1000,40:50,80:1000}: 1 Gbit/s from the start, 50 Mbit/s from
 * timed request 40, 1 Gbit/s again from 80). Indices count the coordinator's timed requests from 0, strictly
 * increasing and under {@code --repeat}; rates are Mbit/s, finite and {@code > 0}. An entry at 0 holds from the start
 * of the coordinator's run (its warm-up and the planner's trial included); without one, the run starts at
 * {@code --link-mbps}. Immutable; parsed once on the command line's thread.
 */
public final class LinkSchedule
{
    private final int[] requests;
    private final double[] mbps;
    private final String text;

    private LinkSchedule(final int[] requests, final double[] mbps, final String text)
    {
        this.requests = requests;
        this.mbps = mbps;
        this.text = text;
    }

    /**
     * @param spec   {@code INDEX:MBPS,...}.
     * @param repeat the timed requests of a run: every index must be under it.
     * @throws IllegalArgumentException in one line naming the bad entry.
     */
    public static LinkSchedule parse(final String spec, final int repeat)
    {
        if (spec == null || spec.isBlank())
        {
            throw new IllegalArgumentException("--link-schedule needs INDEX:MBPS entries, e.g. 0:1000,40:50,80:1000");
        }
        final String[] entries = spec.split(",", -1);
        final int[] requests = new int[entries.length];
        final double[] mbps = new double[entries.length];
        for (int i = 0; i < entries.length; i++)
        {
            final String e = entries[i].trim();
            final int colon = e.indexOf(':');
            if (colon <= 0 || colon == e.length() - 1 || e.indexOf(':', colon + 1) >= 0)
            {
                throw new IllegalArgumentException("--link-schedule: '" + e + "' is not INDEX:MBPS (e.g. 40:50)");
            }
            try
            {
                requests[i] = Integer.parseInt(e.substring(0, colon).trim());
                mbps[i] = Double.parseDouble(e.substring(colon + 1).trim());
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("--link-schedule: '" + e + "' is not INDEX:MBPS (a whole request " +
                    "index and a rate in Mbit/s)");
            }
            if (requests[i] < 0 || requests[i] >= repeat)
            {
                throw new IllegalArgumentException("--link-schedule: request index " + requests[i] + " in '" + e +
                    "' must be in [0, " + repeat + ") (the timed requests of --repeat " + repeat + ")");
            }
            if (!(mbps[i] > 0) || Double.isInfinite(mbps[i]) || mbps[i] > 1e6)
            {
                throw new IllegalArgumentException("--link-schedule: the rate in '" + e + "' must be > 0 and at " +
                    "most 1000000 Mbit/s");
            }
            if (i > 0 && requests[i] <= requests[i - 1])
            {
                throw new IllegalArgumentException("--link-schedule: request indices must increase: " +
                    requests[i - 1] + " then " + requests[i]);
            }
        }
        return new LinkSchedule(requests, mbps, spec.trim());
    }

    public int size()
    {
        return requests.length;
    }

    /** @return the timed request from which entry {@code i}'s rate holds. */
    public int request(final int i)
    {
        return requests[i];
    }

    public double mbps(final int i)
    {
        return mbps[i];
    }

    /** @return the rate from the start of a run: the entry at request 0, else {@code linkMbps}. */
    public double startMbps(final double linkMbps)
    {
        return requests[0] == 0 ? mbps[0] : linkMbps;
    }

    /** @return the rate for timed request {@code request} in a run that starts at {@code linkMbps}. */
    public double mbpsAt(final int request, final double linkMbps)
    {
        double rate = linkMbps;
        for (int i = 0; i < requests.length && requests[i] <= request; i++)
        {
            rate = mbps[i];
        }
        return rate;
    }

    /** @return the schedule as given. */
    public String toString()
    {
        return text;
    }

    /** @return e.g. {@code 1000 Mbit/s from request 0, 50 Mbit/s from 40}. */
    public String describe()
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < requests.length; i++)
        {
            sb.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.0f Mbit/s from request %d", mbps[i],
                requests[i]));
        }
        return sb.toString();
    }
}
