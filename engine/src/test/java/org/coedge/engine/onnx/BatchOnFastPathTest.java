package org.coedge.engine.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.testing.RelativeError;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.junit.jupiter.api.Test;

import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A ResNet-like graph of batch 2 (a plain, a Winograd, a depthwise and a 1x1 convolution, residual adds, a per-channel
 * scale, max and average pooling, a channel concat, global pooling, a classifier) runs its spatial layers on the fast
 * NHWC kernels, image by image (org.coedge.engine.exec.ImageBatch), and matches ONNX Runtime on the same file and
 * input (max abs error <= 1e-4 max |reference|); split over 1 to 4 simulated devices by rows, with device windows
 * that cross the boundary between the two images, on it, and inside one image, it matches the unsplit engine within
 * 1e-5 and ONNX Runtime within 1e-4. So does a batch of 3 through a reflect Pad, a linear Resize and a strided
 * ConvTranspose, whose windows would read the neighbouring image if they crossed a boundary.
 */
class BatchOnFastPathTest
{
    private static final int BATCH = 2;
    private static final long[] INPUT = {BATCH, 3, 32, 32};

    private final Random random = new Random(2026);

    private float[] weights(final int n, final double scale)
    {
        final float[] w = new float[n];
        for (int i = 0; i < n; i++)
        {
            w[i] = (float)(random.nextGaussian() * scale);
        }
        return w;
    }

    private byte[] resNetLike()
    {
        final ModelBuilder m = new ModelBuilder(13).input("x", INPUT).output("y", BATCH, 10)
            .weights("w1", new long[]{16, 3, 3, 3}, weights(16 * 27, 0.3))
            .weights("b1", new long[]{16}, weights(16, 0.1))
            .weights("w2", new long[]{16, 16, 3, 3}, weights(16 * 144, 0.1))
            .weights("wd", new long[]{16, 1, 3, 3}, weights(16 * 9, 0.3))
            .weights("w3", new long[]{32, 16, 1, 1}, weights(32 * 16, 0.25))
            .weights("ws", new long[]{32, 16, 3, 3}, weights(32 * 144, 0.1))
            .weights("scale", new long[]{1, 32, 1, 1}, weights(32, 1))
            .weights("wfc", new long[]{10, 64}, weights(640, 0.2))
            .weights("bfc", new long[]{10}, weights(10, 0.1));
        m.node("Conv", "conv1", List.of("x", "w1", "b1"), List.of("c1p"), intsAttr("kernel_shape", 3, 3),
            intsAttr("pads", 1, 1, 1, 1));
        m.node("Relu", "relu1", List.of("c1p"), List.of("c1"));
        m.node("Conv", "conv2", List.of("c1", "w2"), List.of("c2p"), intsAttr("kernel_shape", 3, 3),
            intsAttr("pads", 1, 1, 1, 1));
        m.node("Relu", "relu2", List.of("c2p"), List.of("c2"));
        m.node("Add", "res1", List.of("c1", "c2"), List.of("a1"));
        m.node("MaxPool", "pool1", List.of("a1"), List.of("p1"), intsAttr("kernel_shape", 3, 3),
            intsAttr("strides", 2, 2), intsAttr("pads", 1, 1, 1, 1));
        m.node("Conv", "dw", List.of("p1", "wd"), List.of("d1p"), intsAttr("kernel_shape", 3, 3),
            intsAttr("pads", 1, 1, 1, 1), intAttr("group", 16));
        m.node("Relu", "relu3", List.of("d1p"), List.of("d1"));
        m.node("Conv", "pw", List.of("d1", "w3"), List.of("c3"), intsAttr("kernel_shape", 1, 1));
        m.node("Conv", "side", List.of("p1", "ws"), List.of("s1"), intsAttr("kernel_shape", 3, 3),
            intsAttr("pads", 1, 1, 1, 1));
        m.node("Add", "res2", List.of("c3", "s1"), List.of("a2"));
        m.node("Mul", "scaled", List.of("a2", "scale"), List.of("a2s"));
        m.node("Concat", "cat", List.of("a2s", "c3"), List.of("cat"), intAttr("axis", 1));
        m.node("AveragePool", "pool2", List.of("cat"), List.of("p2"), intsAttr("kernel_shape", 2, 2),
            intsAttr("strides", 2, 2));
        m.node("GlobalAveragePool", "gap", List.of("p2"), List.of("g"));
        m.node("Flatten", "flat", List.of("g"), List.of("f"), intAttr("axis", 1));
        m.node("Gemm", "fc", List.of("f", "wfc", "bfc"), List.of("y"), intAttr("transB", 1));
        return m.bytes();
    }

    @Test
    void shouldRunABatchOnTheFastKernelsAndSplitItByRows()
    {
        final byte[] bytes = resNetLike();
        final Model model = Model.load(bytes, "resnet-like");
        final float[] input = weights((int)(INPUT[0] * INPUT[1] * INPUT[2] * INPUT[3]), 1);
        final float[] ort = OrtReference.run(bytes, List.of(input), List.of(INPUT), 1).data(0);
        final Map<String, long[]> dims = Map.of("x", INPUT);

        final PreparedModel whole = model.prepare(dims);
        final List<String> kinds = new ArrayList<>();
        for (final Layer l : whole.layers())
        {
            kinds.add(l.getClass().getSimpleName() + ":" + l.opType());
        }
        for (final String fast : List.of("ConvLayer:Conv+Relu", "ConvLayer:WinogradConv+Relu",
            "ConvLayer:DepthwiseConv+Relu", "RowLayer:MaxPool", "RowLayer:AveragePool", "ElementwiseLayer:Add",
            "ElementwiseLayer:Mul", "ConcatLayer:Concat", "GlobalPoolLayer:GlobalAveragePool"))
        {
            assertTrue(kinds.contains(fast), fast + " not on the fast path: " + kinds);
        }

        final float[] unsplit;
        try (Session s = model.newSession(SessionOptions.threads(1).withInputDims("x", INPUT)))
        {
            s.setInput(0, input);
            s.run();
            assertArrayEquals(new long[]{BATCH, 10}, s.outputDims(0));
            unsplit = s.output(0);
        }
        final double vsOrt = RelativeError.of(ort, unsplit);
        assertTrue(vsOrt <= 1e-4, "unsplit vs ONNX Runtime " + vsOrt);

        final LayerGraph graph = assertSplitsMatch("resnet-like", model, dims, whole, input, unsplit, ort,
            new double[][]{{1}, {32, 32}, {20, 44}, {40, 24}, {1, 2, 3, 4}, {5, 0, 11}});
        assertEquals(BATCH * 32, graph.layer(0).heightRows(), "the first layer's rows stack both images");
    }

    /**
     * Runs {@code shareSets} splits (fusion 1 and 3), each twice, and checks them against the unsplit engine (1e-5)
     * and ONNX Runtime (1e-4).
     *
     * @return the model's layer graph.
     */
    private static LayerGraph assertSplitsMatch(final String name, final Model model, final Map<String, long[]> dims,
        final PreparedModel whole, final float[] input, final float[] unsplit, final float[] ort,
        final double[][] shareSets)
    {
        final LayerGraph graph = PlanGraphs.of(whole);
        double worstSplit = 0;
        double worstSplitVsOrt = 0;
        // rows of the first layer: 64 (two images of 32); the windows below cut inside image 0, at the boundary
        // (32 | 32), across it, and into four
        for (final double[] shares : shareSets)
        {
            for (final int fuse : new int[]{1, 3})
            {
                final Plan plan = Planner.uniform(graph, shares, fuse);
                if (shares.length > 1)
                {
                    assertTrue(plan.stages().get(0).deviceRows(shares.length - 1).rows() > 0,
                        "the last device has rows: " + plan);
                }
                final float[] split = new float[unsplit.length];
                try (SplitExecutor executor = SplitExecutor.create(model, dims, whole, graph, plan))
                {
                    for (int run = 0; run < 2; run++)
                    {
                        Arrays.fill(split, Float.NaN);
                        executor.setInput(0, input);
                        executor.run();
                        executor.outputInto(0, split);
                    }
                }
                final String what = name + " " + Arrays.toString(shares) + " fuse " + fuse;
                final double vsUnsplit = RelativeError.of(unsplit, split);
                assertTrue(vsUnsplit <= 1e-5, what + ": split vs unsplit " + vsUnsplit);
                final double splitVsOrt = RelativeError.of(ort, split);
                assertTrue(splitVsOrt <= 1e-4, what + ": split vs ONNX Runtime " + splitVsOrt);
                worstSplit = Math.max(worstSplit, vsUnsplit);
                worstSplitVsOrt = Math.max(worstSplitVsOrt, splitVsOrt);
            }
        }
        System.out.printf("%s: unsplit vs ONNX Runtime %.3g; worst split vs unsplit %.3g, vs ONNX Runtime %.3g%n",
            name, RelativeError.of(ort, unsplit), worstSplit, worstSplitVsOrt);
        return graph;
    }

    @Test
    void shouldPadResizeAndTransposeConvolveABatchImageByImage()
    {
        final long[] x = {3, 4, 12, 10};
        final ModelBuilder m = new ModelBuilder(13).input("x", x).output("y", 3, 4, 47, 39)
            .initializer(ModelBuilder.int64s("pads", new long[]{8}, new long[]{0, 0, 1, 1, 0, 0, 1, 1}))
            .weights("w1", new long[]{8, 4, 3, 3}, weights(8 * 36, 0.2))
            .weights("scales", new long[]{4}, new float[]{1, 1, 2, 2})
            .weights("wt", new long[]{8, 4, 3, 3}, weights(8 * 36, 0.2));
        m.node("Pad", "pad", List.of("x", "pads"), List.of("xp"), ModelBuilder.stringAttr("mode", "reflect"));
        m.node("Conv", "conv", List.of("xp", "w1"), List.of("c"), intsAttr("kernel_shape", 3, 3));
        m.node("Resize", "up", List.of("c", "", "scales"), List.of("u"), ModelBuilder.stringAttr("mode", "linear"));
        m.node("ConvTranspose", "deconv", List.of("u", "wt"), List.of("y"), intsAttr("kernel_shape", 3, 3),
            intsAttr("strides", 2, 2), intsAttr("pads", 1, 1, 1, 1));
        final byte[] bytes = m.bytes();
        final Model model = Model.load(bytes, "pad-resize-deconv");
        final float[] input = weights((int)(x[0] * x[1] * x[2] * x[3]), 1);
        final float[] ort = OrtReference.run(bytes, List.of(input), List.of(x), 1).data(0);
        final Map<String, long[]> dims = Map.of("x", x);
        final PreparedModel whole = model.prepare(dims);
        final List<String> kinds = new ArrayList<>();
        for (final Layer l : whole.layers())
        {
            kinds.add(l.getClass().getSimpleName() + ":" + l.opType());
        }
        assertEquals(List.of("RowLayer:Pad", "ConvLayer:Conv", "RowLayer:Resize", "ConvLayer:ConvTranspose"), kinds);
        final float[] unsplit;
        try (Session s = model.newSession(SessionOptions.threads(2).withInputDims("x", x)))
        {
            s.setInput(0, input);
            s.run();
            assertArrayEquals(new long[]{3, 4, 47, 39}, s.outputDims(0));
            unsplit = s.output(0);
        }
        assertTrue(RelativeError.of(ort, unsplit) <= 1e-4, "unsplit vs ONNX Runtime " + RelativeError.of(ort, unsplit));
        // 36 rows of the first layer (three images of 12): windows inside, on and across image boundaries
        assertSplitsMatch("pad-resize-deconv", model, dims, whole, input, unsplit, ort,
            new double[][]{{12, 12, 12}, {5, 31}, {17, 19}, {1, 1, 1, 1, 1}});
    }
}
