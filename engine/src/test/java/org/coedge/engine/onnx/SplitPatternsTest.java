package org.coedge.engine.onnx;

import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.coedge.engine.onnx.ModelBuilder.stringAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.testing.RelativeError;
import org.coedge.planner.ClusterModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Property test of row splits over graphs built to contain the two patterns that used to break them: reflect and
 * edge pads inside the network (image-to-image generators pad this way before every conv; near a border their output
 * rows read input rows in reverse order) and side outputs that nothing downstream reads (deep supervision, extra
 * exits), one at full resolution early in the network and one in the middle. Over random device counts (1-6), shares
 * with zeros and one-row slices, and every fuse depth 1-6 plus auto, every output of the split run must equal the
 * unsplit engine's within max abs error / max |unsplit| <= 1e-5 and ONNX Runtime's on the same file and input within
 * 1e-4.
 */
class SplitPatternsTest
{
    private static final double UNSPLIT_TOLERANCE = 1e-5;
    private static final double ORT_TOLERANCE = 1e-4;
    private static final int AUTO = 0;

    private static final int[] FUSE_DEPTHS = {1, 2, 3, 4, 5, 6, AUTO};

    /**
     * Each pattern alone, then both: reflect / edge pads, zero Pad nodes, side outputs with the convs' own zero pads,
     * reflect pads with side outputs.
     */
    @ParameterizedTest
    @CsvSource({"reflect, false", "constant, false", "conv, true", "reflect, true"})
    void shouldSplitAtEveryFuseDepth(final String padMode, final boolean sideOutputs)
    {
        for (final int fuse : FUSE_DEPTHS)
        {
            assertSplitsMatch(padMode, sideOutputs, fuse);
        }
    }

    private static void assertSplitsMatch(final String padMode, final boolean sideOutputs, final int fuse)
    {
        final int height = 29;
        final int width = 13;
        final byte[] bytes = generator(new Random(7), height, width, padMode, sideOutputs);
        final long[] dims = {1, 3, height, width};
        final float[] input = smoothImage(new Random(11), height, width);
        final Model model = Model.load(bytes, "generator.onnx");
        final List<float[]> unsplit = new ArrayList<>();
        try (Session session = model.newSession(SessionOptions.threads(1)))
        {
            session.setInput(0, input);
            session.run();
            for (int i = 0; i < session.outputCount(); i++)
            {
                unsplit.add(session.output(i));
            }
        }
        final OrtReference.Result ort = OrtReference.run(bytes, List.of(input), List.of(dims), 1);
        assertEquals(sideOutputs ? 3 : 1, ort.count(), "outputs");
        for (int i = 0; i < unsplit.size(); i++)
        {
            assertTrue(RelativeError.of(ort.data(i), unsplit.get(i)) <= ORT_TOLERANCE, "unsplit output " + i);
        }
        final PreparedModel whole = model.prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(whole);
        final SplittableRandom random = new SplittableRandom(31L * fuse + 5);
        for (int trial = 0; trial < 6; trial++)
        {
            final double[] shares = shares(random, graph, trial);
            final Plan plan = fuse == AUTO ?
                Planner.autoFuse(graph, shares, ClusterModel.of(flops(shares), 12.5e6, 200e3), 8).plan() :
                Planner.uniform(graph, shares, fuse);
            final String what = padMode + " pads, " + (sideOutputs ? "side outputs, " : "") + "fuse " +
                (fuse == AUTO ? "auto" : fuse) + " shares " + Arrays.toString(shares);
            try (SplitExecutor split = SplitExecutor.create(model, Map.of(), whole, graph, plan))
            {
                for (int run = 0; run < 2; run++)
                {
                    split.setInput(0, input);
                    split.run();
                    for (int i = 0; i < unsplit.size(); i++)
                    {
                        final float[] actual = new float[unsplit.get(i).length];
                        Arrays.fill(actual, Float.NaN);
                        split.outputInto(i, actual);
                        final double vsUnsplit = RelativeError.of(unsplit.get(i), actual);
                        final double vsOrt = RelativeError.of(ort.data(i), actual);
                        assertTrue(vsUnsplit <= UNSPLIT_TOLERANCE, what + " output " + i + " vs unsplit: " + vsUnsplit);
                        assertTrue(vsOrt <= ORT_TOLERANCE, what + " output " + i + " vs ONNX Runtime: " + vsOrt);
                    }
                }
            }
        }
    }

    /**
     * Shares: trial 0 one device; trial 1 three devices, the middle one with no rows and the last with a single row
     * of the last split layer; then 2-6 random devices, some with share 0.
     */
    private static double[] shares(final SplittableRandom random, final LayerGraph graph, final int trial)
    {
        if (trial == 0)
        {
            return new double[] {1};
        }
        if (trial == 1)
        {
            final int height = graph.layer(graph.firstGlobalLayer() - 1).heightRows();
            return new double[] {height - 1, 0, 1};
        }
        final double[] shares = new double[2 + random.nextInt(5)];
        for (int d = 0; d < shares.length; d++)
        {
            shares[d] = random.nextInt(4) == 0 ? 0 : 0.1 + random.nextDouble();
        }
        shares[random.nextInt(shares.length)] = 1;
        return shares;
    }

    private static double[] flops(final double[] shares)
    {
        final double[] flops = new double[shares.length];
        for (int d = 0; d < shares.length; d++)
        {
            flops[d] = 10e9 * Math.max(shares[d], 1e-3);
        }
        return flops;
    }

    /**
     * A small image-to-image generator: reflect pad 3 then a 7x7 conv (the CycleGAN stem), a side output (sigmoid of
     * a 1x1 conv) that nothing reads, a stride-2 conv, an edge pad then an unpadded 3x3 conv, a reflect-padded residual
     * block, a second unread side output, an upsample back and a reflect-padded 3x3 conv to three channels. With
     * {@code padMode} "constant" every Pad node pads zeros (whose padding rows read no input row), with "conv" the
     * convs pad themselves (no Pad node); without side outputs those two branches are left out.
     */
    private static byte[] generator(
        final Random random, final int height, final int width, final String padMode, final boolean sideOutputs)
    {
        final boolean convPads = padMode.equals("conv");
        final int c = 8;
        final int half = (height + 1) / 2;
        final int halfW = (width + 1) / 2;
        final ModelBuilder b = new ModelBuilder(13).input("x", 1, 3, height, width)
            .output("y", 1, 3, 2 * half, 2 * halfW);
        if (sideOutputs)
        {
            b.output("side_full", 1, 1, height, width).output("side_half", 1, 1, half, halfW);
        }
        conv(b, random, pad(b, "x", padMode, 3), "c0", 3, c, 7, 1, convPads ? 3 : 0);
        b.node("Relu", "relu0", List.of("c0"), List.of("r0"));
        if (sideOutputs)
        {
            conv(b, random, "r0", "s0", c, 1, 1, 1, 0);
            b.node("Sigmoid", "side_full", List.of("s0"), List.of("side_full"));
        }
        conv(b, random, "r0", "c1", c, c, 3, 2, 1);
        b.node("Relu", "relu1", List.of("c1"), List.of("r1"));
        final String secondPad = padMode.equals("reflect") ? "edge" : padMode;
        conv(b, random, pad(b, "r1", secondPad, 1), "c2", c, c, 3, 1, convPads ? 1 : 0);
        b.node("Relu", "relu2", List.of("c2"), List.of("r2"));
        conv(b, random, pad(b, "r2", padMode, 1), "c3", c, c, 3, 1, convPads ? 1 : 0);
        b.node("Add", "res", List.of("c3", "r1"), List.of("r3"));
        if (sideOutputs)
        {
            conv(b, random, "r3", "s1", c, 1, 1, 1, 0);
            b.node("Sigmoid", "side_half", List.of("s1"), List.of("side_half"));
        }
        b.weights("scales", new long[] {4}, new float[] {1, 1, 2, 2});
        b.node("Resize", "up", List.of("r3", "", "scales"), List.of("u"), stringAttr("mode", "nearest"));
        conv(b, random, pad(b, "u", padMode, 1), "y_c", c, 3, 3, 1, convPads ? 1 : 0);
        b.node("Tanh", "y", List.of("y_c"), List.of("y"));
        return b.bytes();
    }

    /** @return the name of {@code in} padded by {@code p} rows and columns; "conv" leaves it to the conv. */
    private static String pad(final ModelBuilder b, final String in, final String mode, final int p)
    {
        if (mode.equals("conv"))
        {
            return in;
        }
        final String out = in + "_p";
        b.ints(out + "_pads", 0, 0, p, p, 0, 0, p, p);
        b.node("Pad", out, List.of(in, out + "_pads"), List.of(out), stringAttr("mode", mode));
        return out;
    }

    private static void conv(
        final ModelBuilder b, final Random random, final String in, final String out, final int cin, final int cout,
        final int k, final int stride, final int pad)
    {
        final float scale = (float)Math.sqrt(2.0 / (cin * k * k));
        final float[] w = ModelBuilder.random(random, cout * cin * k * k);
        for (int i = 0; i < w.length; i++)
        {
            w[i] *= scale;
        }
        b.weights(out + "_w", new long[] {cout, cin, k, k}, w);
        b.weights(out + "_b", new long[] {cout}, ModelBuilder.random(random, cout));
        b.node("Conv", out, List.of(in, out + "_w", out + "_b"), List.of(out), intsAttr("kernel_shape", k, k),
            intsAttr("strides", stride, stride), intsAttr("pads", pad, pad, pad, pad));
    }

    /** A smooth image with edges (a few gradients and discs), like a photo rather than noise. */
    private static float[] smoothImage(final Random random, final int height, final int width)
    {
        final float[] image = new float[3 * height * width];
        for (int ch = 0; ch < 3; ch++)
        {
            final double cy = random.nextDouble() * height;
            final double cx = random.nextDouble() * width;
            final double r = 3 + random.nextDouble() * height / 3;
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    final double disc = Math.hypot(y - cy, x - cx) < r ? 0.6 : 0;
                    image[(ch * height + y) * width + x] = (float)(disc + 0.4 * y / height - 0.3 * x / width);
                }
            }
        }
        return image;
    }
}
