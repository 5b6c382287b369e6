package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;

import org.junit.jupiter.api.Test;

/** The map from link rate to configuration: revisits, bins and the hysteresis at their edges. */
class BandwidthStatesTest
{
    private static final double MBIT = 1e6 / 8;

    @Test
    void shouldFindTheNearestRememberedStateWithinAFactor()
    {
        final BandwidthStates<String> states = new BandwidthStates<>();
        states.remember(44.9e6, "fast");
        states.remember(6.5e6, "slow");
        // a probe sees the fast link at 152 MB/s where a request's transfer saw 45: more than a bin apart
        assertNull(states.lookup(152e6));
        assertEquals("fast", states.nearest(152e6, 4));
        assertEquals("slow", states.nearest(5e6, 4));
        assertNull(states.nearest(1e9, 4), "nothing remembered within 4x of 1 GB/s");
    }

    @Test
    void shouldGiveARevisitedRateTheConfigurationRememberedForIt()
    {
        final BandwidthStates<String> states = new BandwidthStates<>();
        assertNull(states.lookup(1000 * MBIT));
        states.remember(1000 * MBIT, "plan for 1 Gbit/s");
        assertNull(states.lookup(50 * MBIT));
        states.remember(50 * MBIT, "plan for 50 Mbit/s");
        // back and forth with the detector's level estimates (within 25% of the rate)
        assertSame("plan for 1 Gbit/s", states.lookup(1100 * MBIT));
        // 1100 Mbit/s lies in the next bin up, within the hysteresis of 1 Gbit/s's
        assertNotEquals(states.bin(1000 * MBIT), states.bin(1100 * MBIT));
        assertEquals(states.bin(1000 * MBIT), states.current());
        assertSame("plan for 50 Mbit/s", states.lookup(45 * MBIT));
        assertSame("plan for 1 Gbit/s", states.lookup(950 * MBIT));
        assertEquals(2, states.remembered());
    }

    @Test
    void shouldKeepTheCurrentStateForALevelWanderingAcrossABinEdge()
    {
        final BandwidthStates<String> states = new BandwidthStates<>(2, 0.25);
        final double edge = states.highBytesPerSecond(states.bin(8e6)); // 2^23 bytes/s
        assertNotEquals(states.bin(edge * 0.97), states.bin(edge * 1.03));
        final int first = states.stateOf(edge * 0.97);
        states.remember(edge * 0.97, "below");
        final Random r = new Random(3);
        for (int i = 0; i < 100; i++)
        {
            final double level = edge * (0.9 + 0.2 * r.nextDouble()); // within 10% of the edge, both sides
            assertEquals(first, states.stateOf(level), "level " + level);
            assertSame("below", states.lookup(level));
        }
        // a quarter of a bin past the edge (2^0.25 = 1.19) is another state
        assertEquals(states.bin(edge * 1.25), states.stateOf(edge * 1.25));
        assertNull(states.lookup(edge * 1.25));
        // and coming back, the hysteresis holds the new state a quarter of a bin below its lower edge
        assertEquals(states.bin(edge * 1.25), states.stateOf(edge * 0.9));
        assertEquals(first, states.stateOf(edge * 0.8));
    }

    @Test
    void shouldBinRatesEvenlyInTheLogAndClampTheEnds()
    {
        final BandwidthStates<Integer> states = new BandwidthStates<>(2, 0);
        assertEquals(10, states.bin(1024));
        assertEquals(10, states.bin(2047));
        assertEquals(11, states.bin(2048));
        assertEquals(0, states.bin(0));
        assertEquals(0, states.bin(Double.NaN));
        assertEquals(states.bin(1e15), states.bin(1e30));
        assertEquals(1024, states.lowBytesPerSecond(10), 1e-9);
        assertEquals(2048, states.highBytesPerSecond(10), 1e-9);
        states.remember(1500, 7);
        assertEquals(7, states.config(10));
        assertNull(states.config(-1));
        states.clear();
        assertEquals(-1, states.current());
        assertNull(states.lookup(1500));
    }

    @Test
    void shouldRefuseBadSettingsAndNullConfigurations()
    {
        assertThrows(IllegalArgumentException.class, () -> new BandwidthStates<String>(1, 0.25));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthStates<String>(2, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthStates<String>(Double.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> new BandwidthStates<String>().remember(1e6, null));
    }
}
