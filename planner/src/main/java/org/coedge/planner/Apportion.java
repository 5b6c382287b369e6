package org.coedge.planner;

/**
 * Splits a whole number of rows between devices in proportion to shares by the largest-remainder method: floor each
 * device's exact share, then hand the rows left over one each by descending fractional part, ties to the lower
 * device index. A device whose exact share falls below its minimum is pinned at the minimum and the others share
 * what is left, so the same inputs always give the same counts.
 * <p>
 * Pure functions, called by {@link Planner} and {@link StageRows}; any thread.
 */
public final class Apportion
{
    private Apportion()
    {
    }

    /**
     * @param shares  relative share per device, each finite and {@code >= 0}, not all 0.
     * @param total   rows to split, {@code >= 0}.
     * @param minimum rows each device must get at least (0 allows a device to get none).
     * @return rows per device, summing to {@code total}.
     */
    public static int[] largestRemainder(final double[] shares, final int total, final int[] minimum)
    {
        final int n = shares.length;
        if (n == 0 || minimum.length != n)
        {
            throw new IllegalArgumentException("need one share and one minimum per device, got " + n +
                " shares and " + minimum.length + " minimums");
        }
        if (total < 0)
        {
            throw new IllegalArgumentException("total rows must be >= 0: " + total);
        }
        long minimumSum = 0;
        double shareSum = 0;
        for (int i = 0; i < n; i++)
        {
            if (!(shares[i] >= 0) || Double.isInfinite(shares[i]))
            {
                throw new IllegalArgumentException("share of device " + i + " must be finite and >= 0: " +
                    shares[i]);
            }
            if (minimum[i] < 0)
            {
                throw new IllegalArgumentException("minimum of device " + i + " must be >= 0: " + minimum[i]);
            }
            minimumSum += minimum[i];
            shareSum += shares[i];
        }
        if (Double.isInfinite(shareSum))
        {
            throw new IllegalArgumentException("shares overflow when summed; scale them down");
        }
        if (shareSum == 0)
        {
            throw new IllegalArgumentException("all shares are 0");
        }
        if (minimumSum > total)
        {
            throw new IllegalArgumentException("minimum rows " + minimumSum + " exceed total " + total);
        }

        final boolean[] pinned = new boolean[n];
        final double[] exact = new double[n];
        int remaining;
        boolean changed;
        do
        {
            changed = false;
            remaining = total;
            double freeShares = 0;
            for (int i = 0; i < n; i++)
            {
                if (pinned[i])
                {
                    remaining -= minimum[i];
                }
                else
                {
                    freeShares += shares[i];
                }
            }
            for (int i = 0; i < n; i++)
            {
                if (!pinned[i])
                {
                    exact[i] = freeShares == 0 ? 0 : shares[i] * remaining / freeShares;
                    if (exact[i] < minimum[i])
                    {
                        pinned[i] = true;
                        changed = true;
                    }
                }
            }
        }
        while (changed);

        final int[] counts = new int[n];
        int left = remaining;
        for (int i = 0; i < n; i++)
        {
            if (pinned[i])
            {
                counts[i] = minimum[i];
                exact[i] = minimum[i];
            }
            else
            {
                counts[i] = (int)Math.floor(exact[i]);
                left -= counts[i];
            }
        }
        // rounding of the exact shares can overshoot by a row; take it back where it hurts least
        while (left < 0)
        {
            final int i = pick(exact, counts, pinned, minimum, false);
            counts[i]--;
            left++;
        }
        while (left > 0)
        {
            final int i = pick(exact, counts, pinned, minimum, true);
            counts[i]++;
            left--;
        }
        return counts;
    }

    /**
     * Contiguous row ranges in device order: device {@code i} gets {@code [sum(counts[0..i)), sum(counts[0..i]))}.
     */
    public static RowRange[] rowRanges(final int[] counts)
    {
        final RowRange[] ranges = new RowRange[counts.length];
        int start = 0;
        for (int i = 0; i < counts.length; i++)
        {
            if (counts[i] < 0)
            {
                throw new IllegalArgumentException("row count of device " + i + " is negative: " + counts[i]);
            }
            ranges[i] = RowRange.of(start, start + counts[i]);
            start += counts[i];
        }
        return ranges;
    }

    private static int pick(
        final double[] exact, final int[] counts, final boolean[] pinned, final int[] minimum, final boolean largest)
    {
        int best = -1;
        double bestFraction = 0;
        for (int i = 0; i < exact.length; i++)
        {
            if (pinned[i] || (!largest && counts[i] <= minimum[i]))
            {
                continue;
            }
            final double fraction = exact[i] - counts[i];
            if (best < 0 || (largest ? fraction > bestFraction : fraction < bestFraction))
            {
                best = i;
                bestFraction = fraction;
            }
        }
        if (best < 0)
        {
            throw new IllegalStateException("no device can take or give a row");
        }
        return best;
    }
}
