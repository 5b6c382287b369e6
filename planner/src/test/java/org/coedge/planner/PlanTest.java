package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void shouldCarryEveryLayersSplitOfAPerLayerStage()
    {
        final LayerGraph g = graph();
        final Stage stage = Stage.perLayer(0, new RowRange[][]{ rows(0, 8, 8, 8), rows(0, 3, 3, 8) });
        assertEquals(Mode.PER_LAYER, stage.mode());
        assertEquals(1, stage.lastLayer());
        assertEquals(RowRange.of(3, 8), stage.deviceRows(1));
        new Plan(0, List.of(stage, new Stage(2, 3, Mode.SINGLE_DEVICE, rows(0, 1, 1, 1)))).validate(g);
        final RowRange[][] computed = StageRows.computed(g, stage);
        // the source's split is kept as given, not derived from the 3:5 split of conv
        assertEquals(RowRange.of(0, 8), computed[0][0]);
        assertEquals(RowRange.EMPTY, computed[1][0]);
        assertEquals(RowRange.of(0, 3), computed[0][1]);
    }

    @Test
    void shouldRejectPerLayerSplitsThatAreUnorderedMismatchedOrIncomplete()
    {
        final LayerGraph g = graph();
        final IllegalArgumentException unordered = assertThrows(IllegalArgumentException.class,
            () -> Stage.perLayer(0, new RowRange[][]{ rows(4, 8, 0, 4), rows(0, 4, 4, 8) }));
        assertTrue(unordered.getMessage().contains("of layer 0"), unordered.getMessage());
        assertThrows(IllegalArgumentException.class,
            () -> Stage.perLayer(0, new RowRange[][]{ rows(0, 8), rows(0, 4, 4, 8) }));
        assertThrows(IllegalArgumentException.class, () -> Stage.perLayer(0, new RowRange[0][]));
        final IllegalArgumentException incomplete = assertThrows(IllegalArgumentException.class,
            () -> new Plan(0, List.of(Stage.perLayer(0, new RowRange[][]{ rows(0, 4, 4, 7), rows(0, 4, 4, 8) }),
            new Stage(2, 3, Mode.SINGLE_DEVICE, rows(0, 1, 1, 1)))).validate(g));
        assertTrue(incomplete.getMessage().contains("covers rows [0, 7) of layer 0 with height 8"),
            incomplete.getMessage());
    }
}
