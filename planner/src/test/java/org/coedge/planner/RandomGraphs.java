package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random layer graphs for property tests: chains of windows with random kernels, strides, dilations and pads, Pad
 * layers (reflect and edge, whose row maps run backwards near a border, and constant, whose padding rows read
 * nothing), branch-and-merge blocks (Inception-like concat of branches, ResNet-like residual add), and side outputs
 * that no layer reads (deep supervision). Every graph marks its last layer and its side outputs as outputs.
 */
final class RandomGraphs
{
    private RandomGraphs()
    {
    }

    /**
     * Appends a random spatial layer reading {@code in}; keeps the height at least 1.
     */
    static int addRandomWindow(final LayerGraph.Builder b, final Random random, final int in, final int inHeight)
    {
        final int kind = random.nextInt(7);
        final int k = 1 + random.nextInt(5);
        final int s = 1 + random.nextInt(3);
        final int d = 1 + random.nextInt(3);
        final int p = random.nextInt(k);
        final long flops = 1 + random.nextInt(1000);
        final long bytes = 1 + random.nextInt(100);
        if (kind == 0)
        {
            return b.addLayer("id", new int[]{ in }, new RowMap[]{ RowMap.identity(inHeight) }, inHeight, 1, 1,
                flops, bytes);
        }
        if (kind == 1 && inHeight < 200)
        {
            final int out = Math.max(1, (inHeight - 1) * s - 2 * p + (k - 1) * d + 1);
            return b.addLayer("convT", new int[]{ in }, new RowMap[]{
                RowMap.transposedWindow(k, s, d, p, inHeight, out) }, out, 1, 1, flops, bytes);
        }
        if (kind == 2)
        {
            return addPad(b, random, in, inHeight);
        }
        final int span = (k - 1) * d + 1;
        final int out = Math.max(1, (inHeight + 2 * p - span) / s + 1);
        return b.addLayer("conv", new int[]{ in }, new RowMap[]{ RowMap.window(k, s, d, p, inHeight, out) }, out, 1,
            1, flops, bytes);
    }

    /**
     * Appends an ONNX-style Pad of 1-3 rows on each side: reflect (needs pads below the height), edge or constant.
     */
    static int addPad(final LayerGraph.Builder b, final Random random, final int in, final int inHeight)
    {
        final int mode = inHeight > 1 ? random.nextInt(3) : 1 + random.nextInt(2);
        final int p = 1 + random.nextInt(mode == 0 ? Math.min(3, inHeight - 1) : 3);
        final int out = inHeight + 2 * p;
        final int[] first = new int[out];
        final int[] end = new int[out];
        for (int o = 0; o < out; o++)
        {
            final int position = o - p;
            int source = position;
            if (position < 0 || position >= inHeight)
            {
                source = mode == 0 ? (position < 0 ? -position : 2 * (inHeight - 1) - position) :
                    mode == 1 ? Math.max(0, Math.min(inHeight - 1, position)) : -1;
            }
            first[o] = Math.max(0, source);
            end[o] = source < 0 ? 0 : source + 1;
        }
        return b.addLayer(mode == 0 ? "reflect" : mode == 1 ? "edge" : "zeros", new int[]{ in },
            new RowMap[]{ RowMap.table(inHeight, first, end) }, out, 1, 1, 1, 1 + random.nextInt(100));
    }

    /** With probability 1/3 appends a side output reading {@code in} that no later layer reads. */
    private static void maybeSideOutput(final LayerGraph.Builder b, final Random random, final int in)
    {
        if (random.nextInt(3) == 0)
        {
            final int h = heightOf(b, in);
            b.markOutput(b.addLayer("side", new int[]{ in }, new RowMap[]{ RowMap.window(1, 1, 1, 0, h, h) }, h, 1, 1,
                1 + random.nextInt(100), 1 + random.nextInt(100)));
        }
    }

    /** @return the ids of the layers marked as outputs, ascending. */
    static int[] outputs(final LayerGraph graph)
    {
        return java.util.stream.IntStream.range(0, graph.layerCount()).filter(graph::isOutput).toArray();
    }

    /**
     * A random chain of {@code layers} layers after one source.
     */
    static LayerGraph chain(final Random random, final int layers)
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int last = b.addSource("in", 8 + random.nextInt(60), 1, 1);
        int height = 0;
        for (int i = 0; i < layers; i++)
        {
            height = heightOf(b, last);
            last = addRandomWindow(b, random, last, height);
            if (i < layers - 1)
            {
                maybeSideOutput(b, random, last);
            }
        }
        return b.markOutput(last).build();
    }

    /**
     * A random graph: a source, then blocks that are either a single window, a residual block (stride-1 same-padded
     * convs added to the block input) or an inception block (2..4 branches of stride-1 same-padded convs concatenated).
     */
    static LayerGraph branchy(final Random random, final int blocks)
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        int last = b.addSource("in", 8 + random.nextInt(60), 1, 1);
        for (int i = 0; i < blocks; i++)
        {
            final int h = heightOf(b, last);
            final int kind = random.nextInt(3);
            if (kind == 0)
            {
                last = addRandomWindow(b, random, last, h);
            }
            else
            {
                final int branches = kind == 1 ? 2 : 2 + random.nextInt(3);
                final List<Integer> ends = new ArrayList<>();
                for (int br = 0; br < branches; br++)
                {
                    int x = last;
                    final int depth = kind == 1 && br == 0 ? 0 : 1 + random.nextInt(3);
                    for (int j = 0; j < depth; j++)
                    {
                        x = addSame(b, random, x, h);
                    }
                    ends.add(x);
                }
                final int[] ins = new int[ends.size()];
                final RowMap[] maps = new RowMap[ends.size()];
                for (int j = 0; j < ins.length; j++)
                {
                    ins[j] = ends.get(j);
                    maps[j] = RowMap.identity(h);
                }
                last = b.addLayer(kind == 1 ? "add" : "concat", ins, maps, h, 1, 1, 1 + random.nextInt(10),
                    1 + random.nextInt(100));
            }
            if (i < blocks - 1)
            {
                maybeSideOutput(b, random, last);
            }
        }
        return b.markOutput(last).build();
    }

    private static int addSame(final LayerGraph.Builder b, final Random random, final int in, final int h)
    {
        final int d = 1 + random.nextInt(2);
        final int k = 1 + 2 * random.nextInt(3);
        final int p = (k - 1) * d / 2;
        return b.addLayer("same", new int[]{ in }, new RowMap[]{ RowMap.window(k, 1, d, p, h, h) }, h, 1, 1,
            1 + random.nextInt(1000), 1 + random.nextInt(100));
    }

    private static int heightOf(final LayerGraph.Builder b, final int id)
    {
        return b.build().layer(id).heightRows();
    }

    /** @return a chain of 1-7 or a branchy graph of 1-4 blocks, with or without a head. */
    static LayerGraph any(final Random random)
    {
        final LayerGraph spatial = random.nextBoolean() ?
            chain(random, 1 + random.nextInt(7)) : branchy(random, 1 + random.nextInt(4));
        return random.nextBoolean() ? withHead(spatial) : spatial;
    }

    /** @return a uniform plan over 1-8 devices with random shares (some zero) and fusion depth 1-5. */
    static Plan uniformPlan(final Random random, final LayerGraph graph)
    {
        final int devices = 1 + random.nextInt(8);
        return Planner.uniform(graph, ApportionTest.randomShares(random, devices), 1 + random.nextInt(5));
    }

    /** @return a proportional plan over 1-8 devices with random throughputs (some zero) and fusion depth 1-5. */
    static Plan proportionalPlan(final Random random, final LayerGraph graph)
    {
        final int devices = 1 + random.nextInt(8);
        return Planner.proportional(graph, ApportionTest.randomShares(random, devices), 1 + random.nextInt(5), 0);
    }

    /**
     * @return a builder holding {@code graph}'s layers as they are, its outputs marked except the last layer (which
     *         a head appended after it replaces).
     */
    static LayerGraph.Builder copyOf(final LayerGraph graph)
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        for (final Layer layer : graph.layers())
        {
            final int[] ins = new int[layer.inputCount()];
            final RowMap[] maps = new RowMap[layer.inputCount()];
            for (int j = 0; j < ins.length; j++)
            {
                ins[j] = layer.inputId(j);
                maps[j] = layer.rowMap(j);
            }
            final int id = b.addLayer(layer.name(), ins, maps, layer.heightRows(), layer.width(), layer.channels(),
                layer.flopsPerRow(), layer.bytesPerRow());
            if (graph.isOutput(id) && id != graph.layerCount() - 1)
            {
                b.markOutput(id);
            }
        }
        return b;
    }

    /**
     * Appends a global pooling layer and a fully-connected layer after the last layer.
     */
    static LayerGraph withHead(final LayerGraph graph)
    {
        final LayerGraph.Builder b = copyOf(graph);
        final int last = graph.layerCount() - 1;
        final int pool = b.addLayer("gap", new int[]{ last },
            new RowMap[]{ RowMap.global(graph.layer(last).heightRows(), 1) }, 1, 1, 8, 100, 32);
        return b.markOutput(b.addLayer("fc", new int[]{ pool }, new RowMap[]{ RowMap.global(1, 1) }, 1, 1, 10, 160,
            40)).build();
    }
}
