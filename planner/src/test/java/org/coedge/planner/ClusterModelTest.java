package org.coedge.planner;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterModelTest
{
    @Test
    void shouldKeepValuesAndCopyRates()
    {
        final double[] rates = { 1e9, 2e9 };
        final ClusterModel cluster = ClusterModel.of(rates, 1e8, 0);
        rates[0] = 5;
        assertEquals(2, cluster.deviceCount());
        assertEquals(1e9, cluster.flopsPerSecond(0));
        assertEquals(2e9, cluster.flopsPerSecond(1));
        assertEquals(1e8, cluster.linkBytesPerSecond());
        assertEquals(0, cluster.messageLatencyNs());

        final ClusterModel uniform = ClusterModel.uniform(3, 4e9, 1e7, 250);
        assertEquals(3, uniform.deviceCount());
        assertEquals(4e9, uniform.flopsPerSecond(2));
        assertEquals(250, uniform.messageLatencyNs());
    }

    @Test
    void shouldRejectBadFlopsPerSecondNamingDeviceAndValue()
    {
        final double[] bad = { 0, -1, Double.NaN, Double.POSITIVE_INFINITY };
        for (final double value : bad)
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClusterModel.of(new double[]{ 1e9, value }, 1e8, 100));
            assertTrue(e.getMessage().contains("flopsPerSecond of device 1"), e.getMessage());
            assertTrue(e.getMessage().contains(String.valueOf(value)), e.getMessage());
        }
    }

    @Test
    void shouldRejectBadLinkBytesPerSecond()
    {
        final double[] bad = { 0, -3, Double.NaN, Double.POSITIVE_INFINITY };
        for (final double value : bad)
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClusterModel.of(new double[]{ 1e9 }, value, 100));
            assertTrue(e.getMessage().contains("linkBytesPerSecond"), e.getMessage());
            assertTrue(e.getMessage().contains(String.valueOf(value)), e.getMessage());
        }
    }

    @Test
    void shouldRejectBadMessageLatencyNs()
    {
        final double[] bad = { -1, Double.NaN, Double.POSITIVE_INFINITY };
        for (final double value : bad)
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClusterModel.of(new double[]{ 1e9 }, 1e8, value));
            assertTrue(e.getMessage().contains("messageLatencyNs"), e.getMessage());
            assertTrue(e.getMessage().contains(String.valueOf(value)), e.getMessage());
        }
    }

    @Test
    void shouldRejectClusterWithoutDevices()
    {
        final IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
            () -> ClusterModel.of(new double[0], 1e8, 100));
        assertTrue(empty.getMessage().contains("at least one device"), empty.getMessage());
        final IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
            () -> ClusterModel.uniform(0, 1e9, 1e8, 100));
        assertTrue(none.getMessage().contains("deviceCount must be >= 1: 0"), none.getMessage());
    }
}
