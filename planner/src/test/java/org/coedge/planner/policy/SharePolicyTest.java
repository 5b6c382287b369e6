package org.coedge.planner.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.coedge.planner.LayerGraph;
import org.coedge.planner.RowMap;
import org.junit.jupiter.api.Test;

/**
 * The default policy leaves the coordinator room for the head so that every device finishes at the same time: with
 * split-layer FLOPs T, head H and throughputs F, device 0 gets F0 - H * sum(F) / (T + H) and the others their F.
 */
class SharePolicyTest
{
    @Test
    void shouldShareRowsSoThatTheCoordinatorFinishesTheHeadWithTheOthers()
    {
        // a source, a 10-row spatial layer of 60 FLOPs per row (T = 600), and a head of 1 row of 400 FLOPs (H = 400)
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 10, 1, 1);
        final int conv = b.addLayer("conv", new int[]{ in }, new RowMap[]{ RowMap.identity(10) }, 10, 1, 1, 60, 4);
        b.addLayer("fc", new int[]{ conv }, new RowMap[]{ RowMap.global(10, 1) }, 1, 1, 1, 400, 4);
        final LayerGraph graph = b.build();
        final double[] flops = {3, 2};

        // 3 - 400 * 5 / 1000 = 1: device 0 spends 1/3 of the time on rows and 2/3 on the head
        assertArrayEquals(new double[]{ 1, 2 }, SharePolicy.HEAD_AWARE.shares(flops, graph, -1), 1e-12);
        // a measured head of 0.5 s counts as 0.5 * 3 FLOPs: 3 - 1.5 * 5 / 601.5
        assertEquals(3 - 1.5 * 5 / 601.5, SharePolicy.HEAD_AWARE.shares(flops, graph, 0.5)[0], 1e-12);
        assertArrayEquals(new double[]{ 3, 2 }, SharePolicy.PROPORTIONAL.shares(flops, graph, 0.5), 0);
        assertArrayEquals(new double[]{ 1, 1 }, SharePolicy.EQUAL.shares(flops, graph, 0.5), 0);
        // one device alone keeps all of its throughput
        assertArrayEquals(new double[]{ 3 }, SharePolicy.HEAD_AWARE.shares(new double[]{ 3 }, graph, 0.5), 0);
    }
}
