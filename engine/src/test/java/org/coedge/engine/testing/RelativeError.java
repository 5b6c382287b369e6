package org.coedge.engine.testing;

/** The tests' error measure: max abs error / max |expected|, infinite where an actual value is NaN. */
public final class RelativeError
{
    private RelativeError()
    {
    }

    /**
     * @return max over i of |expected[i] - actual[i]|, divided by max |expected[i]| (at least the smallest normal).
     * @throws IllegalArgumentException if the lengths differ.
     */
    public static double of(final float[] expected, final float[] actual)
    {
        if (expected.length != actual.length)
        {
            throw new IllegalArgumentException("lengths differ: expected " + expected.length + ", actual " +
                actual.length);
        }
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++)
        {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            final double err = Math.abs((double)expected[i] - actual[i]);
            maxErr = Double.isNaN(err) ? Double.POSITIVE_INFINITY : Math.max(maxErr, err);
        }
        return maxErr / Math.max(maxRef, Double.MIN_NORMAL);
    }
}
