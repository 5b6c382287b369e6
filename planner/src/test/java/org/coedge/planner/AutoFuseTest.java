package org.coedge.planner;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutoFuseTest
{
    @Test
    void shouldFuseDeeperOnSlowLink()
    {
        final LayerGraph g = PlannerTest.vggLike(64, 6);
        final double[] shares = { 1, 1, 1, 1 };
        // 1 KB/s and 1 s per message: exchanges dwarf the ~150 us of compute per row
        final ClusterModel slow = ClusterModel.uniform(4, 1e9, 1e3, 1e9);
        final FuseChoice choice = Planner.autoFuse(g, shares, slow, 6);
        assertTrue(choice.fuseDepth() > 1, "chose " + choice);
        assertEquals(Mode.FUSED, choice.plan().stages().get(0).mode());

        final PlanEstimate perLayer = PlanEstimate.of(g, Planner.uniform(g, shares, 1), slow);
        assertTrue(choice.estimate().cost().totalMessages() < perLayer.cost().totalMessages(),
            choice.estimate().cost().totalMessages() + " vs " + perLayer.cost().totalMessages());
        assertTrue(choice.estimate().totalNs() < perLayer.totalNs());
        assertTrue(choice.estimate().cost().totalRedundantFlops() > 0);
    }

    @Test
    void shouldFuseDeeperWhenOnlyLatencyIsHigh()
    {
        final LayerGraph g = PlannerTest.vggLike(64, 6);
        final double[] shares = { 2, 1, 1 };
        final ClusterModel cluster = ClusterModel.uniform(3, 1e9, 1e12, 1e9);
        assertTrue(Planner.autoFuse(g, shares, cluster, 6).fuseDepth() > 1);
    }

    @Test
    void shouldKeepPerLayerOnFastLink()
    {
        final Random random = new Random(61);
        for (int trial = 0; trial < 50; trial++)
        {
            final int devices = 1 + random.nextInt(6);
            final double[] shares = ApportionTest.randomShares(random, devices);
            final LayerGraph g = PlannerTest.vggLike(32 + random.nextInt(64), 1 + random.nextInt(6));
            final double[] rates = new double[devices];
            for (int d = 0; d < devices; d++)
            {
                rates[d] = 1e9 * (1 + random.nextInt(4));
            }
            // no message cost and bandwidth so high that exchange rounds to nothing: only redundant FLOPs count
            final ClusterModel fast = ClusterModel.of(rates, Double.MAX_VALUE, 0);
            final FuseChoice choice = Planner.autoFuse(g, shares, fast, 1 + random.nextInt(8));
            assertEquals(1, choice.fuseDepth(), "chose " + choice);
            assertEquals(Mode.PER_LAYER, choice.plan().stages().get(0).mode());
            assertEquals(0, choice.estimate().cost().totalRedundantFlops());
        }
    }

    @Test
    void shouldChooseLowestEstimateOfEveryDepthWithTiesToSmallerDepth()
    {
        final Random random = new Random(62);
        int deeper = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            final LayerGraph spatial = random.nextBoolean() ?
                RandomGraphs.chain(random, 1 + random.nextInt(7)) : RandomGraphs.branchy(random, 1 + random.nextInt(4));
            final LayerGraph g = random.nextBoolean() ? RandomGraphs.withHead(spatial) : spatial;
            final int devices = 1 + random.nextInt(6);
            final double[] shares = ApportionTest.randomShares(random, devices);
            final double[] rates = new double[devices];
            for (int d = 0; d < devices; d++)
            {
                rates[d] = 1e6 * (1 + random.nextInt(1000));
            }
            final ClusterModel cluster = ClusterModel.of(rates, 1e3 * (1 + random.nextInt(100_000)),
                random.nextInt(3) == 0 ? 0 : random.nextInt(1_000_000));
            final int maxDepth = 1 + random.nextInt(12);
            final long epoch = random.nextInt(100);

            final FuseChoice choice = Planner.autoFuse(g, shares, cluster, maxDepth, epoch);
            assertTrue(choice.fuseDepth() >= 1 && choice.fuseDepth() <= maxDepth);
            assertEquals(epoch, choice.plan().epoch());
            assertEquals(Planner.uniform(g, shares, choice.fuseDepth(), epoch).toString(), choice.plan().toString());
            assertEquals(PlanEstimate.of(g, choice.plan(), cluster).totalNs(), choice.estimate().totalNs());
            for (int depth = 1; depth <= maxDepth; depth++)
            {
                final double ns = PlanEstimate.of(g, Planner.uniform(g, shares, depth, epoch), cluster).totalNs();
                assertTrue(choice.estimate().totalNs() <= ns,
                    "depth " + depth + " estimates " + ns + " below the choice " + choice);
                if (depth < choice.fuseDepth())
                {
                    assertTrue(ns > choice.estimate().totalNs(), "smaller depth " + depth + " ties " + choice);
                }
            }
            deeper += choice.fuseDepth() > 1 ? 1 : 0;
        }
        assertTrue(deeper > 0 && deeper < 200, "random clusters choose both per-layer and fused: " + deeper);
    }

    @Test
    void shouldAcceptDevicesWithZeroShare()
    {
        final LayerGraph g = PlannerTest.vggLike(16, 4);
        final double[] shares = { 0, 1, 0, 1 };
        final FuseChoice choice = Planner.autoFuse(g, shares, ClusterModel.uniform(4, 1e9, 1e3, 1e9), 4);
        final Stage lastSpatial = choice.plan().stages().get(choice.plan().stages().size() - 2);
        assertTrue(lastSpatial.deviceRows(0).isEmpty());
        assertTrue(lastSpatial.deviceRows(2).isEmpty());
        assertEquals(8, lastSpatial.deviceRows(1).rows());
        assertEquals(8, lastSpatial.deviceRows(3).rows());
    }

    @Test
    void shouldRejectMaxDepthBelowOne()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Planner.autoFuse(PlannerTest.vggLike(8, 2), new double[]{ 1 }, ClusterModel.uniform(1, 1e9, 1e8, 0),
            0));
        assertTrue(e.getMessage().contains("maxDepth must be >= 1: 0"), e.getMessage());
    }

    @Test
    void shouldRejectSharesForOtherDeviceCountThanCluster()
    {
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Planner.autoFuse(PlannerTest.vggLike(8, 2), new double[]{ 1, 1, 1 },
            ClusterModel.uniform(2, 1e9, 1e8, 0), 3));
        assertTrue(e.getMessage().contains("3 shares but cluster has 2 devices"), e.getMessage());
    }
}
