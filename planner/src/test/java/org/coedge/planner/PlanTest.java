package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PlanTest
{
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 8, 3);
        final int conv = b.addLayer("conv", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 8,
            4, 10, 32);
        final int gap = b.addLayer("gap", new int[]{ conv }, new RowMap[]{ RowMap.global(8, 1) }, 1, 1, 4, 4, 16);
        b.addLayer("fc", new int[]{ gap }, new RowMap[]{ RowMap.global(1, 1) }, 1, 1, 10, 40, 40);
        return b.build();
    }

    private static RowRange[] rows(final int... bounds)
    {
        final RowRange[] r = new RowRange[bounds.length / 2];
        for (int i = 0; i < r.length; i++)
        {
            r[i] = RowRange.of(bounds[2 * i], bounds[2 * i + 1]);
        }
        return r;
    }

    @Test
    void shouldAcceptValidPlanWithEmptyAndOneRowDevices()
    {
        final Plan plan = new Plan(7, List.of(
            new Stage(0, 1, Mode.PER_LAYER, rows(0, 1, 1, 1, 1, 8)),
            new Stage(2, 3, Mode.SINGLE_DEVICE, rows(0, 0, 0, 1, 1, 1))));
        plan.validate(graph());
        assertEquals(7, plan.epoch());
        assertEquals(1, plan.stages().get(1).firstDeviceWithRows());
    }

    @Test
    void shouldRejectGapsOverlapsAndMismatchedDevices()
    {
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of(
            new Stage(0, 1, Mode.PER_LAYER, rows(0, 8)), new Stage(3, 3, Mode.SINGLE_DEVICE, rows(0, 1)))));
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of(
            new Stage(0, 1, Mode.PER_LAYER, rows(0, 8)), new Stage(1, 3, Mode.SINGLE_DEVICE, rows(0, 1)))));
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of(
            new Stage(0, 1, Mode.PER_LAYER, rows(0, 8)), new Stage(2, 3, Mode.SINGLE_DEVICE, rows(0, 1, 1, 1)))));
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of()));
    }

    @Test
    void shouldRejectBadDeviceRanges()
    {
        assertThrows(IllegalArgumentException.class, () -> new Stage(0, 1, Mode.PER_LAYER, rows(0, 4, 5, 8)));
        assertThrows(IllegalArgumentException.class, () -> new Stage(0, 1, Mode.PER_LAYER, rows(4, 8, 0, 4)));
        assertThrows(IllegalArgumentException.class, () -> new Stage(0, 1, Mode.PER_LAYER, rows(0, 4, 3, 8)));
        assertThrows(IllegalArgumentException.class, () -> new Stage(0, 1, Mode.SINGLE_DEVICE, rows(0, 4, 4, 8)));
    }

    @Test
    void shouldRejectIncompleteCoverageAndMisplacedGlobalLayers()
    {
        final LayerGraph g = graph();
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of(
            new Stage(0, 1, Mode.PER_LAYER, rows(0, 4, 4, 7)), new Stage(2, 3, Mode.SINGLE_DEVICE, rows(0, 1, 1, 1))))
            .validate(g));
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of(
            new Stage(0, 1, Mode.PER_LAYER, rows(0, 4, 4, 8)))).validate(g));
        assertThrows(IllegalArgumentException.class, () -> new Plan(0, List.of(
            new Stage(0, 3, Mode.FUSED, rows(0, 1, 1, 1)))).validate(g));
        new Plan(0, List.of(new Stage(0, 2, Mode.PER_LAYER, rows(0, 1, 1, 1)),
            new Stage(3, 3, Mode.SINGLE_DEVICE, rows(0, 1, 1, 1)))).validate(g);
    }
}
