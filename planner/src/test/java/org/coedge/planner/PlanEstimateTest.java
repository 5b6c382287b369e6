package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanEstimateTest
{
    /**
     * Source of 8 rows, two 3x3 stride-1 convs (100 FLOPs and 10 bytes per row), then the global-pool and FC head.
     */
    private static LayerGraph twoConvs()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 8, 4, 1);
        final int c1 = b.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1,
            100, 10);
        b.addLayer("c2", new int[]{ c1 }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 8, 8) }, 8, 4, 1, 100, 10);
        return RandomGraphs.withHead(b.build());
    }

    @Test
    void shouldMatchHandComputationForTwoDevicePerLayerPlan()
    {
        final LayerGraph g = twoConvs();
        final Plan plan = Planner.uniform(g, new double[]{ 1, 3 }, 1);
        final ClusterModel cluster = ClusterModel.of(new double[]{ 1e9, 2e9 }, 1e8, 1000);

        // stage 0 (PER_LAYER, layers 0..2): device 0 has rows [0, 2), device 1 rows [2, 8) of c1 and c2;
        // each receives one c1 row (10 bytes) in one message from the other
        final PlanCost cost = PlanCost.of(g, plan);
        assertEquals(2, cost.stages().size());
        assertEquals(400, cost.stage(0).flops(0));
        assertEquals(1200, cost.stage(0).flops(1));
        assertEquals(10, cost.stage(0).haloBytes(0));
        assertEquals(10, cost.stage(0).haloBytes(1));
        assertEquals(1, cost.stage(0).messages(0));
        assertEquals(1, cost.stage(0).messages(1));
        // stage 1 (SINGLE_DEVICE head on device 0): gap 100 + fc 160 FLOPs, gathers the 6 c2 rows of device 1
        assertEquals(260, cost.stage(1).flops(0));
        assertEquals(0, cost.stage(1).flops(1));
        assertEquals(60, cost.stage(1).haloBytes(0));
        assertEquals(1, cost.stage(1).messages(0));
        assertEquals(0, cost.stage(1).messages(1));

        final PlanEstimate estimate = PlanEstimate.of(g, plan, cluster);
        assertEquals(2, estimate.stageCount());
        // stage 0: max(400 / 1 GFLOP/s, 1200 / 2 GFLOP/s) = max(400, 600) ns; exchange 10 B / 100 MB/s + 1000 ns
        assertEquals(600, estimate.stageComputeNs(0), 1e-9);
        assertEquals(1100, estimate.stageExchangeNs(0), 1e-9);
        // stage 1: 260 ns on device 0; gather 60 B / 100 MB/s + 1000 ns
        assertEquals(260, estimate.stageComputeNs(1), 1e-9);
        assertEquals(1600, estimate.stageExchangeNs(1), 1e-9);
        assertEquals(1700, estimate.stageNs(0), 1e-9);
        assertEquals(1860, estimate.stageNs(1), 1e-9);
        assertEquals(3560, estimate.totalNs(), 1e-9);
    }

    @Test
    void shouldBePacedBySlowestDeviceNotTheSum()
    {
        final LayerGraph g = twoConvs();
        final Plan plan = Planner.uniform(g, new double[]{ 1, 1 }, 2);
        final PlanCost cost = PlanCost.of(g, plan);
        final ClusterModel slowSecond = ClusterModel.of(new double[]{ 1e9, 1e8 }, 1e8, 0);
        final PlanEstimate estimate = PlanEstimate.of(cost, slowSecond);
        for (int s = 0; s < cost.stages().size(); s++)
        {
            final PlanCost.StageCost sc = cost.stage(s);
            final double expected = Math.max(sc.flops(0) * 1e9 / 1e9, sc.flops(1) * 1e9 / 1e8);
            assertEquals(expected, estimate.stageComputeNs(s), 1e-9);
        }
        // both devices compute in the fused block, so the sum of their times would be larger than the max
        final double device0Ns = cost.stage(0).flops(0);
        final double device1Ns = cost.stage(0).flops(1) * 10.0;
        assertTrue(device0Ns > 0 && device1Ns > 0);
        assertEquals(device1Ns, estimate.stageComputeNs(0), 1e-9);
    }

    @Test
    void shouldSumStagesAndGrowWithLatencyAndShrinkWithBandwidth()
    {
        final Random random = new Random(51);
        for (int trial = 0; trial < 100; trial++)
        {
            final LayerGraph g = RandomGraphs.withHead(RandomGraphs.branchy(random, 1 + random.nextInt(4)));
            final int devices = 1 + random.nextInt(6);
            final Plan plan = Planner.uniform(g, ApportionTest.randomShares(random, devices), 1 + random.nextInt(4));
            final double[] rates = new double[devices];
            for (int d = 0; d < devices; d++)
            {
                rates[d] = 1e8 + random.nextInt(1000) * 1e7;
            }
            final PlanEstimate base = PlanEstimate.of(g, plan, ClusterModel.of(rates, 1e7, 1000));
            double sum = 0;
            for (int s = 0; s < base.stageCount(); s++)
            {
                assertEquals(base.stageComputeNs(s) + base.stageExchangeNs(s), base.stageNs(s));
                sum += base.stageNs(s);
            }
            assertEquals(sum, base.totalNs(), 1e-6 * sum);
            final PlanEstimate moreLatency = PlanEstimate.of(g, plan, ClusterModel.of(rates, 1e7, 5000));
            final PlanEstimate moreBandwidth = PlanEstimate.of(g, plan, ClusterModel.of(rates, 1e9, 1000));
            assertTrue(moreLatency.totalNs() >= base.totalNs());
            assertTrue(moreBandwidth.totalNs() <= base.totalNs());
            if (base.cost().totalMessages() > 0)
            {
                assertTrue(moreLatency.totalNs() > base.totalNs());
            }
        }
    }

    @Test
    void shouldRejectDeviceCountMismatch()
    {
        final LayerGraph g = twoConvs();
        final Plan plan = Planner.uniform(g, new double[]{ 1, 1 }, 1);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PlanEstimate.of(g, plan, ClusterModel.uniform(3, 1e9, 1e8, 0)));
        assertTrue(e.getMessage().contains("plan has 2 devices but cluster has 3"), e.getMessage());
        final IllegalArgumentException fromCost = assertThrows(IllegalArgumentException.class,
            () -> PlanEstimate.of(PlanCost.of(g, plan), ClusterModel.uniform(1, 1e9, 1e8, 0)));
        assertTrue(fromCost.getMessage().contains("cluster has 1"), fromCost.getMessage());
    }
}
