package org.coedge.engine.onnx;

import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.Lowering;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;

/**
 * A scalar {@code Mul} and {@code Add} after a convolution's activation (PP-OCR's learnable affine blocks) become the
 * convolution's affine tail, in every convolution kernel (im2col GEMM, Winograd, depthwise, transposed), and the
 * model matches ONNX Runtime on the same bytes and input within max abs error / max |reference| <= 1e-4, and the
 * engine with the fusion off within 1e-5. Where the
 * pattern does not hold (an Add of a graph output; a per-channel Mul; an Add of a value read twice) the
 * operators stay layers of their own. Likewise a Mul whose result is added to its own map operand ({@code y + y * s},
 * PP-OCR's squeeze-and-excitation residual) is one layer.
 */
class AffineFusionTest
{
    /** The end-to-end tolerance of every ONNX Runtime comparison of the engine (six layers of random weights). */
    private static final double ORT_TOLERANCE = 1e-4;
    private static final double UNFUSED_TOLERANCE = 1e-5;

    @Test
    void scalarMulAndAddAfterEachConvolutionKernelBecomeItsTailAndMatchOnnxRuntime()
    {
        final Random random = new Random(7);
        final ModelBuilder b = new ModelBuilder(14)
            .input("x", 1, 4, 20, 18)
            .output("y", 1, 6, 40, 36)
            .output("side", 1, 8, 20, 18)
            .output("twice", 1, 8, 20, 18);
        // 3x3 stride 1 (Winograd where preferred) + HardSwish, then Mul and Add by scalars: fused
        conv(b, random, "c1", "x", 4, 8, 3, 1, 1);
        b.node("HardSwish", "", List.of("c1"), List.of("a1"));
        scalar(b, "Mul", "a1", "s1", 1.75f, "m1");
        scalar(b, "Add", "m1", "t1", -0.375f, "p1");
        // depthwise 3x3 + Relu, then only an Add (scalar first): fused
        depthwise(b, random, "c2", "p1", 8);
        b.node("Relu", "", List.of("c2"), List.of("a2"));
        scalar(b, "Add", "a2", "t2", 0.25f, "p2", true);
        // 1x1 conv + Relu, Mul then Add, the Mul's result a graph output: the Mul is fused (the layer writes that
        // output), the Add not (a Mul straight after a convolution, with no activation between, the graph optimizer
        // folds into its weights before this)
        conv(b, random, "c3", "p2", 8, 8, 1, 1, 0);
        b.node("Relu", "", List.of("c3"), List.of("a3"));
        scalar(b, "Mul", "a3", "s3", 0.5f, "side");
        scalar(b, "Add", "side", "t3", 1f, "p3");
        // 3x3 + Relu, a per-channel Mul: not fused
        conv(b, random, "c4", "p3", 8, 8, 3, 1, 1);
        b.node("Relu", "", List.of("c4"), List.of("a4"));
        b.weights("pc", new long[]{1, 8, 1, 1}, ModelBuilder.random(random, 8));
        b.node("Mul", "", List.of("a4", "pc"), List.of("m4"));
        // 3x3 + Relu, a scalar Mul read by two operators: the Mul is fused, the Add that reads it twice not
        conv(b, random, "c5", "m4", 8, 8, 3, 1, 1);
        b.node("Relu", "", List.of("c5"), List.of("a5"));
        scalar(b, "Mul", "a5", "s5", 2f, "m5");
        b.node("Relu", "", List.of("m5"), List.of("r5"));
        b.node("Add", "", List.of("m5", "r5"), List.of("twice"));
        // transposed 2x2 stride 2 + Sigmoid, Mul and Add: fused
        b.weights("wt", new long[]{8, 6, 2, 2}, ModelBuilder.random(random, 8 * 6 * 4));
        b.node("ConvTranspose", "ct", List.of("m4", "wt"), List.of("c6"), intsAttr("strides", 2, 2));
        b.node("Sigmoid", "", List.of("c6"), List.of("a6"));
        scalar(b, "Mul", "a6", "s6", -3f, "m6");
        scalar(b, "Add", "m6", "t6", 2f, "y");
        final byte[] bytes = b.bytes();

        final List<String> ops = new ArrayList<>();
        for (final Layer l : Model.load(bytes, "affine").prepare(Map.of()).layers())
        {
            ops.add(l.opType());
        }
        assertTrue(ops.get(0).endsWith("Conv+HardSwish+Mul+Add"), ops.toString());
        assertEquals("DepthwiseConv+Relu+Add", ops.get(1), ops.toString());
        assertTrue(ops.contains("ConvTranspose+Sigmoid+Mul+Add"), ops.toString());
        assertEquals(2, ops.stream().filter(o -> o.endsWith("Conv+Relu+Mul")).count(), ops.toString());
        assertEquals(1, ops.stream().filter(o -> o.equals("Mul")).count(), "Mul layers left: " + ops);
        assertEquals(2, ops.stream().filter(o -> o.equals("Add")).count(), "Add layers left: " + ops);

        final int unfusedLayers = withoutFusion(() -> Model.load(bytes, "affine").prepare(Map.of()).layers()).size();
        assertEquals(ops.size() + 7, unfusedLayers, "layers with -D" + Lowering.AFFINE_FUSION_PROPERTY + "=false");
        assertMatchesOrtAndUnfused(bytes, new long[] {1, 4, 20, 18}, random);
    }

    /** Runs {@code bytes} fused and unfused on one random input and compares both with ONNX Runtime. */
    private static void assertMatchesOrtAndUnfused(final byte[] bytes, final long[] dims, final Random random)
    {
        final float[] input = ModelBuilder.random(random, (int)(dims[1] * dims[2] * dims[3]));
        final OrtReference.Result ref = OrtReference.run(bytes, List.of(input), List.of(dims), 1);
        final List<float[]> fused = run(bytes, input);
        final List<float[]> unfused = withoutFusion(() -> run(bytes, input));
        for (int i = 0; i < fused.size(); i++)
        {
            final double vsOrt = relativeError(ref.data(i), fused.get(i));
            assertTrue(vsOrt <= ORT_TOLERANCE, "output " + i + " against ONNX Runtime: " + vsOrt);
            // the tail multiplies and adds in float as the two layers did: only the GEMM's chunking may differ
            final double vsUnfused = relativeError(unfused.get(i), fused.get(i));
            assertTrue(vsUnfused <= UNFUSED_TOLERANCE, "output " + i + " against the unfused layers: " + vsUnfused);
            System.out.printf("affine fusion, output %d: error %.3g against ONNX Runtime (unfused %.3g), %.3g " +
                "against the unfused engine%n", i, vsOrt, relativeError(ref.data(i), unfused.get(i)), vsUnfused);
        }
    }

    @Test
    void squeezeAndExcitationResidualIsOneLayerAndMatchesOnnxRuntime()
    {
        // PP-OCR's RSE block: y = conv(x); s = hardsigmoid(conv(relu(conv(gap(y))))); out = y + y * s, in both orders
        final Random random = new Random(11);
        final ModelBuilder b = new ModelBuilder(14)
            .input("x", 1, 6, 16, 12)
            .output("out", 1, 8, 16, 12)
            .output("out2", 1, 8, 16, 12);
        conv(b, random, "y", "x", 6, 8, 3, 1, 1);
        b.node("GlobalAveragePool", "", List.of("y"), List.of("g"));
        conv(b, random, "q", "g", 8, 4, 1, 1, 0);
        b.node("Relu", "", List.of("q"), List.of("qr"));
        conv(b, random, "e", "qr", 4, 8, 1, 1, 0);
        b.node("HardSigmoid", "", List.of("e"), List.of("s"));
        b.node("Mul", "", List.of("y", "s"), List.of("ys"));
        b.node("Add", "", List.of("y", "ys"), List.of("out"));
        // the same with the scale first and the sum the other way round, then a ReLU taken in
        conv(b, random, "z", "x", 6, 8, 3, 1, 1);
        b.node("Mul", "", List.of("s", "z"), List.of("zs"));
        b.node("Add", "", List.of("zs", "z"), List.of("zsum"));
        b.node("Relu", "", List.of("zsum"), List.of("out2"));
        final byte[] bytes = b.bytes();

        final List<String> ops = new ArrayList<>();
        for (final Layer l : Model.load(bytes, "rse").prepare(Map.of()).layers())
        {
            ops.add(l.opType());
        }
        assertEquals(1, ops.stream().filter(o -> o.equals("Mul+Add")).count(), ops.toString());
        assertEquals(1, ops.stream().filter(o -> o.equals("Mul+Add+Relu")).count(), ops.toString());
        assertTrue(ops.stream().noneMatch(o -> o.equals("Add") || o.equals("Mul")), ops.toString());

        assertMatchesOrtAndUnfused(bytes, new long[] {1, 6, 16, 12}, random);
    }

    private static List<float[]> run(final byte[] bytes, final float[] input)
    {
        final List<float[]> out = new ArrayList<>();
        try (Session s = Model.load(bytes, "affine").newSession(SessionOptions.threads(2)))
        {
            s.setInput(0, input);
            s.run();
            for (int i = 0; i < s.outputCount(); i++)
            {
                out.add(s.output(i));
            }
        }
        return out;
    }

    /** @return max abs error / max |expected|. */
    private static double relativeError(final float[] expected, final float[] actual)
    {
        assertEquals(expected.length, actual.length, "output length");
        double maxRef = 0;
        double maxErr = 0;
        for (int k = 0; k < expected.length; k++)
        {
            maxRef = Math.max(maxRef, Math.abs(expected[k]));
            maxErr = Math.max(maxErr, Math.abs(expected[k] - actual[k]));
        }
        return maxErr / maxRef;
    }

    private static <T> T withoutFusion(final java.util.function.Supplier<T> what)
    {
        final String previous = System.getProperty(Lowering.AFFINE_FUSION_PROPERTY);
        System.setProperty(Lowering.AFFINE_FUSION_PROPERTY, "false");
        try
        {
            return what.get();
        }
        finally
        {
            if (previous == null)
            {
                System.clearProperty(Lowering.AFFINE_FUSION_PROPERTY);
            }
            else
            {
                System.setProperty(Lowering.AFFINE_FUSION_PROPERTY, previous);
            }
        }
    }

    private static void conv(final ModelBuilder b, final Random random, final String out, final String in,
        final int cin, final int cout, final int k, final int stride, final int pad)
    {
        b.weights(out + "_w", new long[]{cout, cin, k, k}, ModelBuilder.random(random, cout * cin * k * k));
        b.weights(out + "_b", new long[]{cout}, ModelBuilder.random(random, cout));
        b.node("Conv", out, List.of(in, out + "_w", out + "_b"), List.of(out), intsAttr("pads", pad, pad, pad, pad),
            intsAttr("strides", stride, stride));
    }

    private static void depthwise(final ModelBuilder b, final Random random, final String out, final String in,
        final int c)
    {
        b.weights(out + "_w", new long[]{c, 1, 3, 3}, ModelBuilder.random(random, c * 9));
        b.node("Conv", out, List.of(in, out + "_w"), List.of(out), intsAttr("pads", 1, 1, 1, 1),
            ModelBuilder.intAttr("group", c));
    }

    private static void scalar(final ModelBuilder b, final String op, final String in, final String constant,
        final float value, final String out)
    {
        scalar(b, op, in, constant, value, out, false);
    }

    private static void scalar(final ModelBuilder b, final String op, final String in, final String constant,
        final float value, final String out, final boolean constantFirst)
    {
        b.weights(constant, new long[]{1}, new float[]{value});
        b.node(op, "", constantFirst ? List.of(constant, in) : List.of(in, constant), List.of(out));
    }
}
