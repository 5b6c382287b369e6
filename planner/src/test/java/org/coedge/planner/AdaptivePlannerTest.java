package org.coedge.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * The hybrid search against exhaustive search over the same plan shapes with shares on a 1/8 grid, and its
 * promises: never predicted slower than the fastest device alone, deterministic, memory limits kept or refused in
 * one line naming the device.
 */
class AdaptivePlannerTest
{
    /** A device computing at {@code flopsPerSecond} plus {@code fixedNs} per layer call, profiled at two heights. */
    static LatencyModel device(final LayerGraph g, final double flopsPerSecond, final long fixedNs, final long memory)
    {
        final List<int[]> samples = new ArrayList<>();
        final List<Long> ns = new ArrayList<>();
        for (int id = 0; id < g.layerCount(); id++)
        {
            final Layer l = g.layer(id);
            if (l.isSource())
            {
                continue;
            }
            for (final int rows : new int[]{l.heightRows(), Math.max(1, l.heightRows() / 2)})
            {
                samples.add(new int[]{id, rows});
                ns.add(fixedNs + Math.round(l.flopsPerRow() * rows / flopsPerSecond * 1e9));
            }
        }
        final int[] layers = samples.stream().mapToInt(s -> s[0]).toArray();
        final int[] rows = samples.stream().mapToInt(s -> s[1]).toArray();
        return LatencyModel.fit(g, DeviceProfile.of("test", flopsPerSecond, memory, layers, rows,
            ns.stream().mapToLong(Long::longValue).toArray()));
    }

    private static LatencyModel[] devices(final LayerGraph g, final Random random, final int n)
    {
        final LatencyModel[] out = new LatencyModel[n];
        for (int d = 0; d < n; d++)
        {
            out[d] = device(g, 1e6 * (1 + random.nextInt(16)), random.nextInt(2000), 1L << 40);
        }
        return out;
    }

    private static LinkModel links(final Random random, final int n)
    {
        return LinkModel.uniform(n, 1e5 * (1 + random.nextInt(1000)), random.nextInt(50_000), random.nextInt(5000));
    }

    @Test
    void shouldComeWithinOnePercentOfExhaustiveSearchOnSmallGraphs()
    {
        final Random random = new Random(11);
        for (int trial = 0; trial < 40; trial++)
        {
            final LayerGraph g = random.nextBoolean() ?
                RandomGraphs.withHead(RandomGraphs.chain(random, 1 + random.nextInt(6))) :
                RandomGraphs.chain(random, 2 + random.nextInt(6));
            final int n = 2 + random.nextInt(2);
            final LatencyModel[] devices = devices(g, random, n);
            final LinkModel links = links(random, n);
            final int[] outputs = RandomGraphs.outputs(g);
            AdaptivePlannerTest.assertWithinOnePercentOfExhaustive("trial " + trial, g, outputs, devices, links);
        }
    }

    /** The search's choice is predicted within 1% of the exhaustive search's best. */
    static void assertWithinOnePercentOfExhaustive(final String label, final LayerGraph g, final int[] outputs,
        final LatencyModel[] devices, final LinkModel links)
    {
        final PlanChoice choice = AdaptivePlanner.plan(g, outputs, devices, links, 0);
        final double exhaustive = BruteForce.bestNs(g, outputs, devices, links);
        assertTrue(choice.prediction().endNs() <= exhaustive * 1.01,
            label + ": search " + choice.prediction().endNs() + " ns (" + choice.description() + "), exhaustive " +
            exhaustive + " ns");
    }

    @Test
    void shouldNeverBePredictedSlowerThanTheFastestDeviceAlone()
    {
        final Random random = new Random(5);
        for (int trial = 0; trial < 40; trial++)
        {
            final LayerGraph g = RandomGraphs.any(random);
            final int n = 1 + random.nextInt(6);
            final LatencyModel[] devices = devices(g, random, n);
            final LinkModel links = links(random, n);
            final PlanChoice choice = AdaptivePlanner.plan(g, RandomGraphs.outputs(g), devices, links, 0);
            for (int d = 0; d < n; d++)
            {
                final Plan alone = Planner.hybrid(g, unit(n, d), 1, -1, d, 0, false);
                final double aloneNs = PlanSimulator.predict(g, alone, RandomGraphs.outputs(g), devices, links).endNs();
                assertTrue(choice.prediction().endNs() <= aloneNs, "trial " + trial + " device " + d);
            }
            assertTrue(choice.prediction().endNs() <= choice.fastestAloneNs());
        }
    }

    @Test
    void shouldChooseTheSamePlanEveryTime()
    {
        final Random random = new Random(3);
        for (int trial = 0; trial < 10; trial++)
        {
            final LayerGraph g = RandomGraphs.any(random);
            final long seed = random.nextLong();
            final PlanChoice a = AdaptivePlanner.plan(g, RandomGraphs.outputs(g), devices(g, new Random(seed), 4),
                links(new Random(seed), 4), 7);
            final PlanChoice b = AdaptivePlanner.plan(g, RandomGraphs.outputs(g), devices(g, new Random(seed), 4),
                links(new Random(seed), 4), 7);
            assertEquals(a.plan().toString(), b.plan().toString());
            assertEquals(a.prediction().endNs(), b.prediction().endNs());
            assertEquals(7, a.plan().epoch());
        }
    }

    @Test
    void shouldRunEverythingOnTheOnlyDevice()
    {
        final LayerGraph g = RandomGraphs.withHead(RandomGraphs.chain(new Random(1), 4));
        final PlanChoice choice = AdaptivePlanner.plan(g, RandomGraphs.outputs(g),
            new LatencyModel[]{device(g, 1e6, 0, 1L << 30)}, LinkModel.uniform(1, 1e6, 0, 0), 0);
        assertEquals(1, choice.plan().stages().size());
        assertEquals(Mode.SINGLE_DEVICE, choice.plan().stages().get(0).mode());
    }

    @Test
    void shouldKeepEveryDeviceUnderItsMemoryLimitOrSayWhichDeviceLacksHowMuch()
    {
        final LayerGraph g = heavyHead();
        final int[] outputs = RandomGraphs.outputs(g);
        final LinkModel links = LinkModel.uniform(2, 1e9, 1000, 0);
        // device 1 is four times faster but cannot hold the head's weights: the head stays on device 0
        final LatencyModel small = device(g, 4e9, 0, 1L << 20);
        final LatencyModel big = device(g, 1e9, 0, 1L << 30);
        final PlanChoice tight = AdaptivePlanner.plan(g, outputs, new LatencyModel[]{big, small}, links, 0);
        for (int d = 0; d < 2; d++)
        {
            assertTrue(tight.prediction().memoryBytes(d) <= (d == 0 ? big : small).memoryBytes(), "device " + d);
        }
        final Stage head = tight.plan().stages().get(tight.plan().stages().size() - 1);
        assertEquals(0, head.firstDeviceWithRows(), tight.description());

        final LatencyModel tiny = device(g, 1e9, 0, 1L << 20);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> AdaptivePlanner.plan(g, outputs, new LatencyModel[]{tiny, tiny.copy()}, links, 0));
        assertTrue(e.getMessage().startsWith("no plan fits every device's memory: device "), e.getMessage());
        assertTrue(e.getMessage().contains("limit 1 MiB"), e.getMessage());
    }

    /** Two convs and a fully-connected head whose 8 MiB of weights only a device with room can hold. */
    private static LayerGraph heavyHead()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 32, 32, 3);
        final int c1 = b.addLayer("c1", new int[]{in}, new RowMap[]{RowMap.window(3, 1, 1, 1, 32, 32)}, 32, 32, 16,
            1_000_000, 2048);
        b.describe(c1, LayerKind.CONV_3X3, 1728);
        final int c2 = b.addLayer("c2", new int[]{c1}, new RowMap[]{RowMap.window(3, 1, 1, 1, 32, 32)}, 32, 32, 16,
            1_000_000, 2048);
        b.describe(c2, LayerKind.CONV_3X3, 9216);
        final int fc = b.addLayer("fc", new int[]{c2}, new RowMap[]{RowMap.global(32, 1)}, 1, 1, 128, 4_000_000, 512);
        b.describe(fc, LayerKind.FULLY_CONNECTED, 8L << 20);
        return b.markOutput(fc).build();
    }

    static double[] unit(final int n, final int d)
    {
        final double[] s = new double[n];
        s[d] = 1;
        return s;
    }
}
