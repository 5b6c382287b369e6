package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ApportionTest
{
    @Test
    void shouldMatchPlainLargestRemainderWithoutMinimums()
    {
        final Random random = new Random(21);
        for (int trial = 0; trial < 2000; trial++)
        {
            final int n = 1 + random.nextInt(8);
            final double[] shares = randomShares(random, n);
            final int total = random.nextInt(300);
            final int[] counts = Apportion.largestRemainder(shares, total, new int[n]);
            assertArrayEquals(oracle(shares, total), counts);
        }
    }

    @Test
    void shouldRespectMinimumsAndSumToTotal()
    {
        final Random random = new Random(22);
        for (int trial = 0; trial < 2000; trial++)
        {
            final int n = 1 + random.nextInt(8);
            final double[] shares = randomShares(random, n);
            final int[] minimum = new int[n];
            int minimumSum = 0;
            for (int i = 0; i < n; i++)
            {
                minimum[i] = random.nextInt(3) == 0 ? random.nextInt(5) : 0;
                minimumSum += minimum[i];
            }
            final int total = minimumSum + random.nextInt(100);
            final int[] counts = Apportion.largestRemainder(shares, total, minimum);
            int sum = 0;
            double shareSum = 0;
            for (int i = 0; i < n; i++)
            {
                assertTrue(counts[i] >= minimum[i], "device " + i + " below its minimum");
                sum += counts[i];
                shareSum += shares[i];
            }
            assertEquals(total, sum);
            for (int i = 0; i < n; i++)
            {
                // a device above its minimum never gets more than its unconstrained exact share, rounded up
                if (counts[i] > minimum[i])
                {
                    assertTrue(counts[i] <= Math.ceil(shares[i] * total / shareSum + 1e-9),
                        "device " + i + " got " + counts[i]);
                }
            }
            assertArrayEquals(counts, Apportion.largestRemainder(shares.clone(), total, minimum.clone()));
        }
    }

    @Test
    void shouldGiveTinyShareItsMinimumRow()
    {
        assertArrayEquals(new int[]{ 9, 1, 0 },
            Apportion.largestRemainder(new double[]{ 1000, 1, 1 }, 10, new int[]{ 0, 1, 0 }));
    }

    @Test
    void shouldBreakTiesByLowerDeviceIndex()
    {
        assertArrayEquals(new int[]{ 2, 2, 1 }, Apportion.largestRemainder(new double[]{ 1, 1, 1 }, 5, new int[3]));
        assertArrayEquals(new int[]{ 0, 1, 0 }, Apportion.largestRemainder(new double[]{ 0, 1, 0 }, 1, new int[3]));
    }

    @Test
    void shouldRejectBadInputs()
    {
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ 1, 1 }, 3, new int[]{ 2, 2 }));
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ 1, -1 }, 3, new int[2]));
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ 1, Double.NaN }, 3, new int[2]));
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ 0, 0 }, 3, new int[2]));
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ Double.MAX_VALUE, Double.MAX_VALUE }, 3, new int[2]));
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ 1, Double.POSITIVE_INFINITY }, 3, new int[2]));
        assertThrows(IllegalArgumentException.class,
            () -> Apportion.largestRemainder(new double[]{ 1 }, 3, new int[2]));
    }

    @Test
    void shouldLayRangesContiguouslyInDeviceOrder()
    {
        final RowRange[] ranges = Apportion.rowRanges(new int[]{ 3, 0, 1, 4 });
        assertEquals(RowRange.of(0, 3), ranges[0]);
        assertTrue(ranges[1].isEmpty());
        assertEquals(3, ranges[1].start());
        assertEquals(RowRange.of(3, 4), ranges[2]);
        assertEquals(RowRange.of(4, 8), ranges[3]);
    }

    static double[] randomShares(final Random random, final int n)
    {
        final double[] shares = new double[n];
        boolean any = false;
        for (int i = 0; i < n; i++)
        {
            shares[i] = random.nextInt(4) == 0 ? 0 : random.nextDouble() * 10;
            any |= shares[i] > 0;
        }
        if (!any)
        {
            shares[random.nextInt(n)] = 1;
        }
        return shares;
    }

    private static int[] oracle(final double[] shares, final int total)
    {
        double sum = 0;
        for (final double s : shares)
        {
            sum += s;
        }
        final int[] counts = new int[shares.length];
        final double[] fraction = new double[shares.length];
        int left = total;
        for (int i = 0; i < shares.length; i++)
        {
            final double exact = shares[i] * total / sum;
            counts[i] = (int)Math.floor(exact);
            fraction[i] = exact - counts[i];
            left -= counts[i];
        }
        final List<Integer> order = new ArrayList<>();
        for (int i = 0; i < shares.length; i++)
        {
            order.add(i);
        }
        order.sort((a, b) -> fraction[a] != fraction[b] ? Double.compare(fraction[b], fraction[a]) : a - b);
        for (int j = 0; j < left; j++)
        {
            counts[order.get(j)]++;
        }
        return counts;
    }
}
