package org.coedge.engine.onnx;

import java.util.List;
import java.util.Map;
import java.util.Random;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.Node;
import org.junit.jupiter.api.Test;

import static org.coedge.engine.onnx.ModelBuilder.floatAttr;
import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.coedge.engine.onnx.ModelBuilder.random;
import static org.coedge.engine.onnx.OnnxImporterTest.node;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks every rewrite against a naive NCHW reference written here: the original graph's operators evaluated one by
 * one versus the optimized graph's. Tolerance: max abs error / max |reference| <= 1e-5 (float rounding of the
 * rescaled weights, far inside the project's 1e-4 end-to-end budget).
 */
class GraphOptimizerTest
{
    private static final double RELATIVE_TOLERANCE = 1e-5;
    private static final float EPSILON = 1e-3f;

    private final Random random = new Random(7);

    private static float[] positive(final Random random, final int n)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = 0.1f + random.nextFloat();
        }
        return v;
    }

    /** Batch-norm parameters (scale, bias, mean, variance), registered as bn_s, bn_b, bn_m, bn_v. */
    private float[][] batchNormParams(final ModelBuilder m, final int channels)
    {
        final float[][] p = {random(random, channels), random(random, channels), random(random, channels),
            positive(random, channels)};
        final String[] names = {"bn_s", "bn_b", "bn_m", "bn_v"};
        for (int i = 0; i < 4; i++)
        {
            m.weights(names[i], new long[]{channels}, p[i]);
        }
        return p;
    }

    private static List<String> ops(final Graph g)
    {
        return g.nodes().stream().map(Node::opType).toList();
    }

    @Test
    void shouldFoldBatchNormIntoGroupedStridedConv()
    {
        final long[] xd = {1, 4, 7, 6};
        final long[] wd = {6, 2, 3, 3};
        final float[] w = random(random, 108);
        final float[] b = random(random, 6);
        final ModelBuilder m = new ModelBuilder(13).input("x", xd).output("y", 1, 6, 4, 2)
            .weights("w", wd, w).weights("b", new long[]{6}, b)
            .node("Conv", "conv", List.of("x", "w", "b"), List.of("c"), intAttr("group", 2),
                intsAttr("strides", 2, 2), intsAttr("pads", 1, 1, 1, 1), intsAttr("dilations", 1, 2));
        final float[][] bn = batchNormParams(m, 6);
        m.node("BatchNormalization", "bn", List.of("c", "bn_s", "bn_b", "bn_m", "bn_v"), List.of("y"),
            floatAttr("epsilon", EPSILON));
        final float[] x = random(random, 168);

        final Graph folded = ShapeInference.fold(m.load(), Map.of());
        final Graph optimized = GraphOptimizer.optimize(folded);

        assertEquals(List.of("Conv"), ops(optimized));
        final Node conv = node(optimized, "conv");
        assertEquals(List.of("y"), conv.outputs());
        assertEquals(3, conv.inputs().size());
        final float[] reference = batchNorm(Reference.conv(x, xd, w, wd, b, node(folded, "conv")),
            folded.shape("c"), bn, EPSILON);
        final float[] actual = Reference.conv(x, xd, constant(optimized, conv, 1), wd, constant(optimized, conv, 2),
            conv);
        assertClose(reference, actual);
        assertEquals(2, optimized.constants().size(), "only the folded weights and bias remain");
    }

    @Test
    void shouldFoldBatchNormIntoConvWithoutBias()
    {
        final long[] xd = {1, 3, 5, 5};
        final long[] wd = {4, 3, 1, 1};
        final float[] w = random(random, 12);
        final ModelBuilder m = new ModelBuilder(9).input("x", xd).output("y", 1, 4, 5, 5)
            .weights("w", wd, w)
            .node("Conv", "conv", List.of("x", "w"), List.of("c"));
        final float[][] bn = batchNormParams(m, 4);
        m.node("BatchNormalization", "bn", List.of("c", "bn_s", "bn_b", "bn_m", "bn_v"), List.of("y"));
        final float[] x = random(random, 75);

        final Graph folded = ShapeInference.fold(m.load(), Map.of());
        final Graph optimized = GraphOptimizer.optimize(folded);

        final Node conv = node(optimized, "conv");
        final float[] reference = batchNorm(Reference.conv(x, xd, w, wd, null, node(folded, "conv")),
            folded.shape("c"), bn, 1e-5f);
        assertClose(reference, Reference.conv(x, xd, constant(optimized, conv, 1), wd, constant(optimized, conv, 2),
            conv));
    }

    @Test
    void shouldFoldBiasAddAndBatchNormIntoGroupedConvTranspose()
    {
        final long[] xd = {1, 4, 3, 4};
        final long[] wd = {4, 3, 2, 2};
        final float[] w = random(random, 48);
        final float[] bias = random(random, 6);
        final ModelBuilder m = new ModelBuilder(11).input("x", xd).output("y", 1, 6, 6, 8)
            .weights("w", wd, w)
            .weights("bias", new long[]{6}, bias)
            .ints("bias_shape", 1, 6, 1, 1)
            .node("ConvTranspose", "deconv", List.of("x", "w"), List.of("d"), intAttr("group", 2),
                intsAttr("strides", 2, 2))
            .node("Reshape", "bias_reshape", List.of("bias", "bias_shape"), List.of("bias4"))
            .node("Add", "bias_add", List.of("d", "bias4"), List.of("c"));
        final float[][] bn = batchNormParams(m, 6);
        m.node("BatchNormalization", "bn", List.of("c", "bn_s", "bn_b", "bn_m", "bn_v"), List.of("y"));
        final float[] x = random(random, 48);

        final Graph folded = ShapeInference.fold(m.load(), Map.of());
        final Graph optimized = GraphOptimizer.optimize(folded);

        assertEquals(List.of("ConvTranspose"), ops(optimized));
        final Node deconv = node(optimized, "deconv");
        final long[] cd = folded.shape("c");
        final float[] added = addPerChannel(Reference.convTranspose(x, xd, w, wd, null, node(folded, "deconv")), cd,
            bias);
        final float[] reference = batchNorm(added, cd, bn, 1e-5f);
        assertClose(reference, Reference.convTranspose(x, xd, constant(optimized, deconv, 1), wd,
            constant(optimized, deconv, 2), deconv));
    }

    @Test
    void shouldFoldScalarMulAndAddIntoConv()
    {
        final long[] xd = {1, 2, 4, 4};
        final long[] wd = {3, 2, 3, 3};
        final float[] w = random(random, 54);
        final float[] b = random(random, 3);
        final Graph folded = new ModelBuilder(13).input("x", xd).output("y", 1, 3, 4, 4)
            .weights("w", wd, w).weights("b", new long[]{3}, b)
            .weights("k", new long[]{1}, new float[]{1.9f})
            .weights("t", new long[]{1}, new float[]{0.8f})
            .node("Conv", "conv", List.of("x", "w", "b"), List.of("c"), intsAttr("pads", 1, 1, 1, 1))
            .node("Mul", "scale", List.of("k", "c"), List.of("s"))
            .node("Sub", "shift", List.of("s", "t"), List.of("y"))
            .fold("x", xd);
        final float[] x = random(random, 32);

        final Graph optimized = GraphOptimizer.optimize(folded);

        assertEquals(List.of("Conv"), ops(optimized));
        final float[] reference = Reference.conv(x, xd, w, wd, b, node(folded, "conv"));
        for (int i = 0; i < reference.length; i++)
        {
            reference[i] = 1.9f * reference[i] - 0.8f;
        }
        final Node conv = node(optimized, "conv");
        assertClose(reference, Reference.conv(x, xd, constant(optimized, conv, 1), wd, constant(optimized, conv, 2),
            conv));
    }

    @Test
    void shouldSplitBatchNormWhoseConvOutputHasOtherReaders()
    {
        final long[] xd = {1, 2, 3, 3};
        final long[] wd = {3, 2, 1, 1};
        final float[] w = random(random, 6);
        final ModelBuilder m = new ModelBuilder(13).input("x", xd).output("y", 1, 3, 3, 3).output("r", 1, 3, 3, 3)
            .weights("w", wd, w)
            .node("Conv", "conv", List.of("x", "w"), List.of("c"))
            .node("Relu", "relu", List.of("c"), List.of("r"));
        final float[][] bn = batchNormParams(m, 3);
        m.node("BatchNormalization", "bn", List.of("c", "bn_s", "bn_b", "bn_m", "bn_v"), List.of("y"));
        final float[] x = random(random, 18);

        final Graph folded = ShapeInference.fold(m.load(), Map.of());
        final Graph optimized = GraphOptimizer.optimize(folded);

        assertEquals(List.of("Conv", "Relu", "Mul", "Add"), ops(optimized));
        assertEquals(List.of("w"), node(optimized, "conv").inputs().subList(1, 2));
        final Node mul = optimized.nodes().get(2);
        final Node add = optimized.nodes().get(3);
        assertEquals(List.of("y"), add.outputs());
        final ConstTensor scale = optimized.constants().get(mul.input(1));
        final ConstTensor shift = optimized.constants().get(add.input(1));
        assertArrayEquals(new long[]{1, 3, 1, 1}, scale.dims());
        assertArrayEquals(new long[]{1, 3, 1, 1}, shift.dims());
        assertArrayEquals(new long[]{1, 3, 3, 3}, optimized.shape(mul.output(0)));
        final long[] cd = folded.shape("c");
        final float[] c = Reference.conv(x, xd, w, wd, null, node(folded, "conv"));
        final float[] split = addPerChannel(mulPerChannel(c, cd, scale.floats()), cd, shift.floats());
        assertClose(batchNorm(c, cd, bn, 1e-5f), split);
    }

    @Test
    void shouldNotFoldIntoConvWhoseOutputIsGraphOutput()
    {
        final ModelBuilder m = new ModelBuilder(13).input("x", 1, 2, 3, 3).output("c", 1, 2, 3, 3)
            .output("y", 1, 2, 3, 3)
            .weights("w", new long[]{2, 2, 1, 1}, random(random, 4))
            .weights("t", new long[]{1, 2, 1, 1}, random(random, 2))
            .node("Conv", "conv", List.of("x", "w"), List.of("c"))
            .node("Add", "add", List.of("c", "t"), List.of("y"));

        final Graph optimized = GraphOptimizer.optimize(ShapeInference.fold(m.load(), Map.of()));

        assertEquals(List.of("Conv", "Add"), ops(optimized));
        assertEquals(List.of("x", "w"), node(optimized, "conv").inputs());
    }

    @Test
    void shouldNotFoldConstantThatVariesAlongSpatialDims()
    {
        final ModelBuilder m = new ModelBuilder(13).input("x", 1, 2, 3, 3).output("y", 1, 2, 3, 3)
            .weights("w", new long[]{2, 2, 1, 1}, random(random, 4))
            .weights("row", new long[]{3}, random(random, 3))
            .weights("big", new long[]{2, 1, 1, 1, 1}, random(random, 2))
            .node("Conv", "conv", List.of("x", "w"), List.of("c"))
            .node("Add", "add", List.of("c", "row"), List.of("y"));

        final Graph optimized = GraphOptimizer.optimize(ShapeInference.fold(m.load(), Map.of()));

        assertEquals(List.of("Conv", "Add"), ops(optimized));
        assertTrue(optimized.isConstant("row"));
        assertFalse(optimized.isConstant("big"), "unreferenced constants are dropped");
    }

    private static float[] constant(final Graph g, final Node n, final int input)
    {
        return g.constants().get(n.input(input)).floats();
    }

    private static float[] batchNorm(final float[] x, final long[] dims, final float[][] p, final float epsilon)
    {
        final int channels = (int)dims[1];
        final int plane = (int)(dims[2] * dims[3]);
        final float[] out = new float[x.length];
        for (int c = 0; c < channels; c++)
        {
            final float invStd = (float)(1.0 / Math.sqrt(p[3][c] + epsilon));
            for (int i = 0; i < plane; i++)
            {
                final int at = c * plane + i;
                out[at] = (x[at] - p[2][c]) * invStd * p[0][c] + p[1][c];
            }
        }
        return out;
    }

    private static float[] addPerChannel(final float[] x, final long[] dims, final float[] v)
    {
        final int plane = (int)(dims[2] * dims[3]);
        final float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++)
        {
            out[i] = x[i] + v[i / plane];
        }
        return out;
    }

    private static float[] mulPerChannel(final float[] x, final long[] dims, final float[] v)
    {
        final int plane = (int)(dims[2] * dims[3]);
        final float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++)
        {
            out[i] = x[i] * v[i / plane];
        }
        return out;
    }

    private static void assertClose(final float[] expected, final float[] actual)
    {
        assertEquals(expected.length, actual.length);
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++)
        {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(maxRef > 0, "reference is all zero");
        assertTrue(maxErr / maxRef <= RELATIVE_TOLERANCE,
            "max abs error " + maxErr + " / max |reference| " + maxRef + " exceeds " + RELATIVE_TOLERANCE);
    }

    /** Naive NCHW (batch 1) convolution and transposed convolution, reading the normalized attributes. */
    static final class Reference
    {
        private Reference()
        {
        }

        static float[] conv(
            final float[] x, final long[] xd, final float[] w, final long[] wd, final float[] b, final Node n)
        {
            final long[] s = n.attrInts("strides", null);
            final long[] d = n.attrInts("dilations", null);
            final long[] p = n.attrInts("pads", null);
            final int group = (int)n.attrInt("group", 1);
            final int inC = (int)xd[1];
            final int h = (int)xd[2];
            final int wi = (int)xd[3];
            final int outC = (int)wd[0];
            final int cPerGroup = (int)wd[1];
            final int kh = (int)wd[2];
            final int kw = (int)wd[3];
            final int oh = (int)((h + p[0] + p[2] - ((kh - 1) * d[0] + 1)) / s[0] + 1);
            final int ow = (int)((wi + p[1] + p[3] - ((kw - 1) * d[1] + 1)) / s[1] + 1);
            final float[] out = new float[outC * oh * ow];
            final int mPerGroup = outC / group;
            for (int m = 0; m < outC; m++)
            {
                final int g = m / mPerGroup;
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double acc = b == null ? 0 : b[m];
                        for (int c = 0; c < cPerGroup; c++)
                        {
                            final int ci = g * cPerGroup + c;
                            for (int ky = 0; ky < kh; ky++)
                            {
                                final long iy = oy * s[0] - p[0] + ky * d[0];
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    final long ix = ox * s[1] - p[1] + kx * d[1];
                                    if (iy >= 0 && iy < h && ix >= 0 && ix < wi)
                                    {
                                        acc += x[(int)((ci * h + iy) * wi + ix)] *
                                            w[((m * cPerGroup + c) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                        out[(m * oh + oy) * ow + ox] = (float)acc;
                    }
                }
            }
            assertTrue(inC == cPerGroup * group);
            return out;
        }

        static float[] convTranspose(
            final float[] x, final long[] xd, final float[] w, final long[] wd, final float[] b, final Node n)
        {
            final long[] s = n.attrInts("strides", null);
            final long[] d = n.attrInts("dilations", null);
            final long[] p = n.attrInts("pads", null);
            final long[] op = n.attrInts("output_padding", null);
            final int group = (int)n.attrInt("group", 1);
            final int inC = (int)xd[1];
            final int h = (int)xd[2];
            final int wi = (int)xd[3];
            final int mPerGroup = (int)wd[1];
            final int kh = (int)wd[2];
            final int kw = (int)wd[3];
            final int outC = mPerGroup * group;
            final int oh = (int)(s[0] * (h - 1) + op[0] + (kh - 1) * d[0] + 1 - p[0] - p[2]);
            final int ow = (int)(s[1] * (wi - 1) + op[1] + (kw - 1) * d[1] + 1 - p[1] - p[3]);
            final double[] acc = new double[outC * oh * ow];
            final int cPerGroup = inC / group;
            for (int ci = 0; ci < inC; ci++)
            {
                final int g = ci / cPerGroup;
                for (int j = 0; j < mPerGroup; j++)
                {
                    final int m = g * mPerGroup + j;
                    for (int iy = 0; iy < h; iy++)
                    {
                        for (int ix = 0; ix < wi; ix++)
                        {
                            for (int ky = 0; ky < kh; ky++)
                            {
                                final long oy = iy * s[0] - p[0] + ky * d[0];
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    final long ox = ix * s[1] - p[1] + kx * d[1];
                                    if (oy >= 0 && oy < oh && ox >= 0 && ox < ow)
                                    {
                                        acc[(int)((m * oh + oy) * ow + ox)] += x[(ci * h + iy) * wi + ix] *
                                            w[((ci * mPerGroup + j) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            final float[] out = new float[acc.length];
            for (int i = 0; i < out.length; i++)
            {
                out[i] = (float)(acc[i] + (b == null ? 0 : b[i / (oh * ow)]));
            }
            return out;
        }
    }
}
