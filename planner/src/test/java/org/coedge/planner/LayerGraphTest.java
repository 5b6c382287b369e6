package org.coedge.planner;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LayerGraphTest
{
    @Test
    void shouldRecordReadersAndFirstGlobalLayer()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 8, 3);
        final int a = b.addLayer("a", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 8, 4, 10,
            32);
        final int add = b.addLayer("add", new int[]{ in, a }, new RowMap[]{ RowMap.identity(8), RowMap.identity(8) },
            8, 8, 4, 1, 32);
        b.addLayer("gap", new int[]{ add }, new RowMap[]{ RowMap.global(8, 1) }, 1, 1, 4, 4, 16);
        final LayerGraph g = b.build();
        assertArrayEquals(new int[]{ a, add }, g.readers(in));
        assertEquals(3, g.firstGlobalLayer());
        assertTrue(g.layer(in).isSource());
        assertTrue(g.layer(3).isGlobal());
    }

    @Test
    void shouldRejectInputThatIsNotEarlier()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        b.addSource("in", 8, 8, 3);
        assertThrows(IllegalArgumentException.class,
            () -> b.addLayer("x", new int[]{ 1 }, new RowMap[]{ RowMap.identity(8) }, 8, 8, 3, 0, 0));
        assertThrows(IllegalArgumentException.class,
            () -> b.addLayer("x", new int[]{ -1 }, new RowMap[]{ RowMap.identity(8) }, 8, 8, 3, 0, 0));
    }

    @Test
    void shouldRejectInconsistentHeights()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        b.addSource("in", 8, 8, 3);
        assertThrows(IllegalArgumentException.class,
            () -> b.addLayer("inH", new int[]{ 0 }, new RowMap[]{ RowMap.identity(9) }, 9, 8, 3, 0, 0));
        assertThrows(IllegalArgumentException.class,
            () -> b.addLayer("outH", new int[]{ 0 }, new RowMap[]{ RowMap.window(3, 2, 1, 1, 8, 4) }, 5, 8, 3, 0,
            0));
        assertThrows(IllegalArgumentException.class,
            () -> b.addLayer("maps", new int[]{ 0, 0 }, new RowMap[]{ RowMap.identity(8) }, 8, 8, 3, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LayerGraph.builder().build());
    }
}
