package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SpeedBookTest
{
    @Test
    void shouldTakeTheMedianOfTheLastSamplesSoOneOutlierMovesNothing()
    {
        final RateWindow w = new RateWindow(5);
        assertEquals(-1, w.median(-1));
        for (final double v : new double[]{10, 11, 9, 400, 10})
        {
            w.add(v);
        }
        assertEquals(10, w.median(0));
        // a device that really slowed down: within half a window the median follows
        w.add(3);
        w.add(3);
        w.add(3);
        assertEquals(3, w.median(0));
        assertEquals(5, w.size());
        w.add(Double.NaN);
        w.add(-1);
        w.add(Double.POSITIVE_INFINITY);
        assertEquals(3, w.median(0));
    }

    @Test
    void shouldPlanWithCalibratedRatesScaledUntilEnoughAreMeasured()
    {
        final SpeedBook book = new SpeedBook(3);
        book.calibrated(0, 200);
        book.calibrated(1, 200);
        book.calibrated(2, 100);
        final int[] nodes = {0, 1, 2};
        assertArrayEquals(new double[]{200, 200, 100}, book.estimates(nodes), 1e-9);
        // nodes 0 and 1 measured at half and a quarter of their calibration; node 2 not yet measured
        for (int i = 0; i < SpeedBook.MIN_SAMPLES; i++)
        {
            book.measuredSample(0, 100);
            book.measuredSample(1, 50);
        }
        final double[] e = book.estimates(nodes);
        assertEquals(100, e[0], 1e-9);
        assertEquals(50, e[1], 1e-9);
        // node 2 at its calibration times the mean of the others' ratios (0.5 and 0.25)
        assertEquals(100 * 0.375, e[2], 1e-9);
    }
}
