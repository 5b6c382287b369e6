package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Parsing the {@code --power} figures, and the energy formula on figures worked by hand. */
class PowerModelTest
{
    @Test
    void shouldParseTheNamedDefaults()
    {
        assertSame(PowerModel.PI4, PowerModel.parse("pi4"));
        assertSame(PowerModel.MINIPC, PowerModel.parse(" MiniPC "));
        // Pi 4: 2.7 W idle, 6.4 W with four cores loaded
        assertEquals(2.7, PowerModel.PI4.idleWatts(), 1e-12);
        assertEquals(6.4, PowerModel.PI4.idleWatts() + 4 * PowerModel.PI4.activeWattsPerCore(), 1e-9);
        assertEquals(10, PowerModel.MINIPC.idleWatts(), 1e-12);
        assertEquals(30, PowerModel.MINIPC.idleWatts() + 4 * PowerModel.MINIPC.activeWattsPerCore(), 1e-9);
    }

    @Test
    void shouldParseCustomFigures()
    {
        final PowerModel one = PowerModel.parse("1.5:3:10");
        assertEquals(1.5, one.activeWattsPerCore(), 0);
        assertEquals(3, one.idleWatts(), 0);
        assertEquals(10, one.nanojoulesPerByteSent(), 0);
        assertEquals(10, one.nanojoulesPerByteReceived(), 0);
        final PowerModel two = PowerModel.parse("0:0.5:2300/1100");
        assertEquals(0, two.activeWattsPerCore(), 0);
        assertEquals(2300, two.nanojoulesPerByteSent(), 0);
        assertEquals(1100, two.nanojoulesPerByteReceived(), 0);
    }

    @Test
    void shouldRejectBadFiguresInOneLineNamingWhatIsWrong()
    {
        for (final String bad : new String[]{"", "  ", "pi5", "1:2", "1:2:3:4", "a:2:3", "1:x:3", "1:2:y", "-1:2:3",
            "1:-2:3", "1:2:-3", "NaN:1:1", "1:Infinity:1", "1:2:3/4/5", "1:2:3/", "1:2:/4"})
        {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PowerModel.parse(bad), bad);
            assertTrue(!e.getMessage().contains("\n") && e.getMessage().contains("power model"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> PowerModel.parse(null));
        assertThrows(IllegalArgumentException.class, () -> PowerModel.of(1, 1, Double.NaN, 1));
    }

    @Test
    void shouldChargeIdleOverTheRequestActiveOverCpuTimeAndBytes()
    {
        final PowerModel m = PowerModel.of(2, 3, 5, 7);
        // 10 ms busy of a 40 ms request, 1000 bytes out, 2000 in:
        // 3 W * 0.04 s + 2 W * 0.01 s + (5 * 1000 + 7 * 2000) nJ = 0.12 + 0.02 + 0.000019 J
        assertEquals(0.140019, m.joules(10e6, 40e6, 1000, 2000), 1e-12);
        assertEquals(0.12, m.joules(0, 40e6, 0, 0), 1e-12);
    }
}
