package org.coedge.engine.onnx;

import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.testing.RelativeError;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Mode;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.junit.jupiter.api.Test;

/**
 * Plans that split fully-connected layers by output features (MoDNN, {@link Mode#FEATURES}) run in one process
 * through {@link SplitExecutor} and match the unsplit engine within max abs error / max |unsplit| <= 1e-5: on small
 * random stacks of Gemm and MatMul layers behind a convolution, on VGG-16 (FC6-FC8) and, against ONNX Runtime,
 * on ResNet-18 (its one FC). Each device holds only its slice of the weights, checked against the bytes the layer
 * shapes give.
 */
class FeatureSplitMatchesUnsplitTest
{
    private static final double TOLERANCE = 1e-5;

    /** A 1x3x8x8 input, a 3x3 convolution to 4 channels, flatten, then {@code features.length} FC layers. */
    private static byte[] fcStack(final Random random, final int[] features)
    {
        final ModelBuilder b = new ModelBuilder(13).input("x", 1, 3, 8, 8)
            .weights("cw", new long[]{4, 3, 3, 3}, ModelBuilder.random(random, 4 * 27))
            .node("Conv", "conv", List.of("x", "cw"), List.of("c"), ModelBuilder.intsAttr("pads", 1, 1, 1, 1))
            .node("Flatten", "flatten", List.of("c"), List.of("f0"));
        int in = 4 * 8 * 8;
        String x = "f0";
        for (int i = 0; i < features.length; i++)
        {
            final int out = features[i];
            final float[] w = ModelBuilder.random(random, in * out);
            final String y = "g" + i;
            if (random.nextBoolean())
            {
                b.weights("w" + i, new long[]{out, in}, w).weights("b" + i, new long[]{out},
                    ModelBuilder.random(random, out))
                    .node("Gemm", "fc" + i, List.of(x, "w" + i, "b" + i), List.of(y), intAttr("transB", 1));
            }
            else
            {
                // without a bias: a MatMul's Add stays a layer of its own, which ends the run
                b.weights("w" + i, new long[]{in, out}, w)
                    .node("MatMul", "mm" + i, List.of(x, "w" + i), List.of(y));
            }
            x = y;
            if (i < features.length - 1)
            {
                b.node("Relu", "relu" + i, List.of(x), List.of(x + "r"));
                x = x + "r";
            }
            in = out;
        }
        b.node("Identity", "out", List.of(x), List.of("y")).output("y", 1, in);
        return b.bytes();
    }

    @Test
    void shouldEqualUnsplitOnRandomFullyConnectedStacks()
    {
        final Random random = new Random(41);
        for (int trial = 0; trial < 12; trial++)
        {
            final int[] features = new int[1 + random.nextInt(3)];
            for (int i = 0; i < features.length; i++)
            {
                features[i] = 3 + random.nextInt(300);
            }
            final byte[] bytes = fcStack(random, features);
            final Model model = Model.load(bytes, "fc-stack");
            final float[] input = ModelBuilder.random(random, 3 * 64);
            final float[] expected = unsplit(model, input);
            final PreparedModel whole = model.prepare(Map.of());
            final LayerGraph graph = PlanGraphs.of(whole);
            final int[] run = Planner.featureRun(graph);
            assertNotNull(run, "trial " + trial + ": no fully-connected run in " + graph.layers());
            assertEquals(features.length, run[1] - run[0] + 1, graph.layers().toString());
            final int devices = 2 + random.nextInt(4);
            final double[] featureShares = shares(random, devices);
            final Plan plan;
            if (random.nextBoolean())
            {
                plan = Planner.hybrid(graph, unit(devices, random.nextInt(devices)), 1, -1, random.nextInt(devices),
                    0, false, false, featureShares);
            }
            else
            {
                plan = Planner.hybrid(graph, shares(random, devices), 1 + random.nextInt(2),
                    graph.firstGlobalLayer() - 1, random.nextInt(devices), 0, true, true, featureShares);
            }
            assertTrue(plan.stages().stream().anyMatch(s -> s.mode() == Mode.FEATURES), plan.toString());
            final float[] actual = runTwice(model, whole, graph, plan, input, expected.length, null);
            final double rel = RelativeError.of(expected, actual);
            assertTrue(rel <= TOLERANCE, "trial " + trial + " " + Arrays.toString(features) + " " + plan +
                ": max abs error / max |unsplit| = " + rel);
        }
    }

    @Test
    void shouldEqualUnsplitOnVgg16WithEachDeviceHoldingItsSliceOfTheHead()
    {
        final Model model = Model.load(ModelZoo.build("vgg16"), "vgg16");
        final float[] input = ModelBuilder.random(new Random(16), 3 * 224 * 224);
        final float[] expected = unsplit(model, input);
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final int[] run = Planner.featureRun(graph);
        assertNotNull(run);
        assertEquals(3, run[1] - run[0] + 1, "FC6-FC8");
        // shares whose apportioning is exact, so the slices below follow from the shapes alone
        for (final double[] featureShares : new double[][]{{1, 1}, {2, 1, 1}})
        {
            final int n = featureShares.length;
            final Plan plan = Planner.hybrid(graph, unit(n, 0), 1, -1, 0, 0, false, false, featureShares);
            final long[] held = new long[n];
            final float[] actual = runTwice(model, whole, graph, plan, input, expected.length, held);
            final double rel = RelativeError.of(expected, actual);
            assertTrue(rel <= TOLERANCE, plan + ": max abs error / max |unsplit| = " + rel);
            double total = 0;
            for (final double s : featureShares)
            {
                total += s;
            }
            long slices = 0;
            final StringBuilder line = new StringBuilder();
            for (int d = 0; d < n; d++)
            {
                final double part = featureShares[d] / total;
                // FC6 25088 x 4096, FC7 4096 x 4096, FC8 4096 x 1000 floats: a device holds its rows of each
                final long slice = 4L * (25088L * (long)(4096 * part) + 4096L * (long)(4096 * part) +
                    4096L * (long)(1000 * part));
                if (d > 0)
                {
                    assertEquals(slice, held[d], "device " + d + " of " + n + " holds only its slices");
                    slices += slice;
                }
                line.append(String.format(" device %d %.1f MiB", d, held[d] / 1048576.0));
            }
            assertEquals(whole.weightBytes() - slices, held[0], "device 0: the convolutions and its slices");
            System.out.printf("vgg16 head split %d ways by features: weights held%s (unsplit %.1f MiB), " +
                "max abs error / max |unsplit| = %.3g%n", n, line, whole.weightBytes() / 1048576.0, rel);
        }
    }

    @Test
    void shouldMatchOnnxRuntimeOnResNet18WithItsClassifierSplitByFeatures()
    {
        final byte[] bytes = ModelZoo.build("resnet18");
        final Model model = Model.load(bytes, "resnet18");
        final float[] input = ModelBuilder.random(new Random(18), 3 * 224 * 224);
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final int[] run = Planner.featureRun(graph);
        assertNotNull(run);
        assertEquals(run[0], run[1], "one FC");
        final int cut = graph.firstGlobalLayer() - 1;
        final Plan plan = Planner.hybrid(graph, new double[]{1, 1, 1}, 1, cut, 1, 0, true, true,
            new double[]{0.3, 0.5, 0.2});
        final float[] ort = OrtReference.run(bytes, List.of(input), List.of(new long[]{1, 3, 224, 224}), 1).data(0);
        final float[] actual = runTwice(model, whole, graph, plan, input, ort.length, null);
        final double rel = RelativeError.of(ort, actual);
        System.out.printf("resnet18 split by rows and its FC by features (%s): vs ONNX Runtime max abs error / " +
            "max |ref| = %.3g%n", plan.stages().get(plan.stages().size() - 1), rel);
        assertTrue(rel <= 1e-4, "vs ONNX Runtime " + rel);
    }

    @Test
    void shouldDescribeAnIdleClassifierToThePlannerWithItsWeights()
    {
        // the coordinator plans from a weightless skeleton: its FC must still say what it would hold
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final LayerGraph graph = PlanGraphs.of(SplitExecutor.skeleton(model,
            Map.of(model.inputNames().get(0), ModelZoo.inputDims())));
        final org.coedge.planner.Layer fc = graph.layer(graph.layerCount() - 1);
        assertEquals(org.coedge.planner.LayerKind.FULLY_CONNECTED, fc.kind(), fc.toString());
        assertEquals(4L * 512 * 1000, fc.weightBytes(), "512 x 1000 floats");
    }

    private static float[] unsplit(final Model model, final float[] input)
    {
        try (Session session = model.newSession(SessionOptions.threads(1)))
        {
            session.setInput(0, input);
            session.run();
            return session.output(0);
        }
    }

    /** Runs {@code plan} twice, output filled with NaN first; @return the second output. */
    private static float[] runTwice(
        final Model model, final PreparedModel whole, final LayerGraph graph, final Plan plan, final float[] input,
        final int length, final long[] weightBytes)
    {
        final float[] actual = new float[length];
        try (SplitExecutor split = SplitExecutor.create(model, Map.of(), whole, graph, plan))
        {
            for (int r = 0; r < 2; r++)
            {
                Arrays.fill(actual, Float.NaN);
                split.setInput(0, input);
                split.run();
                split.outputInto(0, actual);
            }
            for (int d = 0; weightBytes != null && d < weightBytes.length; d++)
            {
                weightBytes[d] = split.weightBytes(d);
            }
        }
        return actual;
    }

    private static double[] shares(final Random random, final int devices)
    {
        final double[] s = new double[devices];
        for (int d = 0; d < devices; d++)
        {
            s[d] = random.nextInt(4) == 0 ? 0 : 0.1 + random.nextDouble();
        }
        s[random.nextInt(devices)] = 1;
        return s;
    }

    private static double[] unit(final int n, final int d)
    {
        final double[] s = new double[n];
        s[d] = 1;
        return s;
    }
}
