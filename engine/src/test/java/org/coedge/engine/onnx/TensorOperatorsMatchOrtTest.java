package org.coedge.engine.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleUnaryOperator;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;

import static org.coedge.engine.onnx.ModelBuilder.floatAttr;
import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.coedge.engine.onnx.ModelBuilder.stringAttr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operators of the generic tensor path ({@link org.coedge.kernels.TensorOps}, {@link org.coedge.kernels.TensorConv})
 * on random shapes, ranks, batches, axes and data, each a one-node model compared with ONNX Runtime on the same file
 * and inputs: max abs error <= 1e-4 max |reference| (or 1e-5). Tensors of rank 4 and batch 1 are NHWC maps inside the
 * engine, so they also exercise the strided views over map memory.
 */
class TensorOperatorsMatchOrtTest
{
    private static final double TOLERANCE = 1e-4;
    private static final int ROUNDS = 4;

    private final Random random = new Random(20261201);

    private long[] dims(final int rank, final int max)
    {
        final long[] d = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            d[i] = 1 + random.nextInt(max);
        }
        return d;
    }

    private static long count(final long[] dims)
    {
        long n = 1;
        for (final long d : dims)
        {
            n *= d;
        }
        return n;
    }

    private float[] data(final long[] dims, final DoubleUnaryOperator shape)
    {
        final float[] v = new float[(int)count(dims)];
        for (int i = 0; i < v.length; i++)
        {
            v[i] = (float)shape.applyAsDouble(random.nextDouble() * 4 - 2);
        }
        return v;
    }

    /** Runs the engine and ONNX Runtime on the model's runtime inputs ({@code inputs} in order) and compares. */
    private void check(final String what, final ModelBuilder model, final List<long[]> dims, final List<float[]> data)
    {
        final byte[] bytes = model.bytes();
        final Model m = Model.load(bytes, what);
        SessionOptions options = SessionOptions.threads(1);
        for (int i = 0; i < dims.size(); i++)
        {
            options = options.withInputDims(m.inputNames().get(i), dims.get(i));
        }
        final OrtReference.Result ort = OrtReference.run(bytes, data, dims, 1);
        try (Session s = m.newSession(options))
        {
            for (int i = 0; i < data.size(); i++)
            {
                s.setInput(i, data.get(i));
            }
            s.run();
            for (int o = 0; o < s.outputCount(); o++)
            {
                assertArrayEquals(ort.dims(o), s.outputDims(o), what + ": dims of output " + o);
                final float[] e = ort.data(o);
                final float[] a = s.output(o);
                double max = 0;
                double err = 0;
                for (int i = 0; i < e.length; i++)
                {
                    if (Float.isNaN(e[i]) || Float.isNaN(a[i]))
                    {
                        assertEquals(Float.isNaN(e[i]), Float.isNaN(a[i]), what + ": NaN at " + i);
                        continue;
                    }
                    max = Math.max(max, Math.abs(e[i]));
                    err = Math.max(err, Math.abs(e[i] - a[i]));
                }
                assertTrue(err <= Math.max(TOLERANCE * max, 1e-5), what + ": output " + o + " max abs error " +
                    err + ", max |reference| " + max);
            }
        }
    }

    private void unaryCheck(final String what, final ModelBuilder model, final long[] dims,
        final DoubleUnaryOperator shape)
    {
        check(what, model, List.of(dims), List.of(data(dims, shape)));
    }

    private static List<String> l(final String... s)
    {
        return List.of(s);
    }

    @Test
    void shouldTransposeAnyRank()
    {
        for (int r = 0; r < ROUNDS * 2; r++)
        {
            final int rank = 1 + r % 5;
            final long[] x = dims(rank, 5);
            if (rank == 4 && r % 2 == 0)
            {
                x[0] = 1;
            }
            final List<Integer> perm = new ArrayList<>();
            for (int i = 0; i < rank; i++)
            {
                perm.add(i);
            }
            java.util.Collections.shuffle(perm, random);
            final long[] p = perm.stream().mapToLong(Integer::longValue).toArray();
            final long[] y = new long[rank];
            for (int i = 0; i < rank; i++)
            {
                y[i] = x[(int)p[i]];
            }
            unaryCheck("Transpose " + Arrays.toString(x) + " " + Arrays.toString(p), new ModelBuilder(13)
                .input("x", x).output("y", y).node("Transpose", "t", l("x"), l("y"), intsAttr("perm", p)), x,
                v -> v);
        }
    }

    @Test
    void shouldSliceWithNegativeStepsAndAxes()
    {
        for (int r = 0; r < ROUNDS * 2; r++)
        {
            final long[] x = dims(3 + r % 2, 7);
            x[0] = r % 3 == 0 ? 1 : x[0];
            final int axis = random.nextInt(x.length);
            final long step = random.nextBoolean() ? 1 + random.nextInt(2) : -1 - random.nextInt(2);
            final long start = step > 0 ? random.nextInt((int)x[axis]) : -1 - random.nextInt((int)x[axis]);
            final long end = step > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
            final ModelBuilder m = new ModelBuilder(13).input("x", x).output("y")
                .ints("starts", start).ints("ends", end).ints("axes", axis - x.length).ints("steps", step)
                .node("Slice", "s", l("x", "starts", "ends", "axes", "steps"), l("y"));
            unaryCheck("Slice " + Arrays.toString(x) + " axis " + axis + " from " + start + " step " + step, m, x,
                v -> v);
        }
    }

    @Test
    void shouldGatherSplitConcatExpandTile()
    {
        for (int r = 0; r < ROUNDS; r++)
        {
            final long[] x = dims(3 + r % 2, 5);
            final int axis = random.nextInt(x.length);
            final long[] idx = {0, -1, x[axis] / 2};
            final ModelBuilder gather = new ModelBuilder(13).input("x", x).output("y")
                .initializer(ModelBuilder.int64s("i", new long[]{3}, idx))
                .node("Gather", "g", l("x", "i"), l("y"), intAttr("axis", axis));
            unaryCheck("Gather " + Arrays.toString(x) + " axis " + axis, gather, x, v -> v);

            final long[] xs = x.clone();
            xs[axis] = 3 * (1 + random.nextInt(2));
            final ModelBuilder split = new ModelBuilder(13).input("x", xs).output("a").output("b").output("c")
                .node("Split", "sp", l("x"), l("a", "b", "c"), intAttr("axis", axis));
            unaryCheck("Split " + Arrays.toString(xs) + " axis " + axis, split, xs, v -> v);

            final long[] x2 = x.clone();
            x2[axis] = 1 + random.nextInt(4);
            final ModelBuilder concat = new ModelBuilder(13).input("a", x).input("b", x2).output("y")
                .node("Concat", "c", l("a", "b"), l("y"), intAttr("axis", axis));
            check("Concat " + Arrays.toString(x) + " + " + Arrays.toString(x2) + " axis " + axis, concat,
                List.of(x, x2), List.of(data(x, v -> v), data(x2, v -> v)));

            final long[] small = x.clone();
            small[axis] = 1;
            final long[] target = x.clone();
            target[axis] = 3;
            final ModelBuilder expand = new ModelBuilder(13).input("x", small).output("y")
                .initializer(ModelBuilder.int64s("shape", new long[]{target.length}, target))
                .node("Expand", "e", l("x", "shape"), l("y"));
            unaryCheck("Expand " + Arrays.toString(small), expand, small, v -> v);

            final long[] reps = new long[x.length];
            Arrays.fill(reps, 1);
            reps[axis] = 2;
            reps[0] = 2;
            final ModelBuilder tile = new ModelBuilder(13).input("x", x).output("y")
                .initializer(ModelBuilder.int64s("r", new long[]{reps.length}, reps))
                .node("Tile", "t", l("x", "r"), l("y"));
            unaryCheck("Tile " + Arrays.toString(x), tile, x, v -> v);
        }
    }

    @Test
    void shouldBroadcastNaryMath()
    {
        for (int r = 0; r < ROUNDS; r++)
        {
            final long[] x = dims(2 + r % 3, 5);
            final long[] y = x.clone();
            y[random.nextInt(y.length)] = 1;
            final long[] z = Arrays.copyOfRange(x, 1, x.length);
            for (final String op : List.of("Max", "Min", "Sum", "Mean"))
            {
                check(op + " " + Arrays.toString(x), new ModelBuilder(13).input("a", x).input("b", y).input("c", z)
                    .output("o").node(op, "n", l("a", "b", "c"), l("o")), List.of(x, y, z),
                    List.of(data(x, v -> v), data(y, v -> v), data(z, v -> v)));
            }
            check("Pow " + Arrays.toString(x), new ModelBuilder(13).input("a", x).input("b", y).output("o")
                .node("Pow", "n", l("a", "b"), l("o")), List.of(x, y),
                List.of(data(x, v -> Math.abs(v) + 0.1), data(y, v -> v)));
            check("Add " + Arrays.toString(x), new ModelBuilder(13).input("a", x).input("b", y).output("o")
                .node("Add", "n", l("a", "b"), l("o")), List.of(x, y), List.of(data(x, v -> v), data(y, v -> v)));
            check("PRelu " + Arrays.toString(x), new ModelBuilder(13).input("a", x).input("b", y).output("o")
                .node("PRelu", "n", l("a", "b"), l("o")), List.of(x, y), List.of(data(x, v -> v), data(y, v -> v)));
            check("Clip " + Arrays.toString(x), new ModelBuilder(13).input("a", x).input("lo", new long[0])
                .input("hi", new long[0]).output("o").node("Clip", "n", l("a", "lo", "hi"), l("o")),
                List.of(x, new long[0], new long[0]), List.of(data(x, v -> v), new float[]{-0.5f}, new float[]{0.7f}));
        }
    }

    @Test
    void shouldComputeUnaryMath()
    {
        final Object[][] ops = {
            {"Exp", 13}, {"Log", 13}, {"Sqrt", 13}, {"Abs", 13}, {"Neg", 13}, {"Reciprocal", 13}, {"Erf", 13},
            {"Softplus", 13}, {"Softsign", 13}, {"Elu", 13}, {"Selu", 13}, {"Celu", 13}, {"Mish", 18},
            {"Gelu", 20}, {"Floor", 13}, {"Ceil", 13}, {"Round", 13}, {"Sign", 13}, {"Sin", 13}, {"Cos", 13},
            {"ThresholdedRelu", 13}};
        for (final Object[] op : ops)
        {
            final String name = (String)op[0];
            final long[] x = dims(1 + random.nextInt(5), 4);
            final boolean positive = "Log".equals(name) || "Sqrt".equals(name) || "Reciprocal".equals(name);
            unaryCheck(name + " " + Arrays.toString(x), new ModelBuilder((Integer)op[1]).input("x", x).output("y")
                .node(name, "u", l("x"), l("y")), x, positive ? v -> Math.abs(v) + 0.05 : v -> v * 3);
        }
        final long[] x = {2, 3, 4};
        unaryCheck("Gelu tanh", new ModelBuilder(20).input("x", x).output("y")
            .node("Gelu", "u", l("x"), l("y"), stringAttr("approximate", "tanh")), x, v -> v * 3);
        unaryCheck("Elu alpha", new ModelBuilder(13).input("x", x).output("y")
            .node("Elu", "u", l("x"), l("y"), floatAttr("alpha", 0.3f)), x, v -> v * 3);
    }

    @Test
    void shouldReduceOverAnyAxes()
    {
        final String[] ops = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
            "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"};
        for (int r = 0; r < ROUNDS * 2; r++)
        {
            final long[] x = dims(2 + r % 3, 4);
            if (x.length == 4)
            {
                x[0] = 1;
            }
            final long a0 = random.nextInt(x.length);
            final long a1 = random.nextInt(x.length) - x.length;
            final long keep = random.nextInt(2);
            final String op = ops[r % ops.length];
            final String what = op + " " + Arrays.toString(x) + " axes " + a0 + "," + a1 + " keepdims " + keep;
            final ModelBuilder m13 = new ModelBuilder(13).input("x", x).output("y");
            if ("ReduceSum".equals(op))
            {
                m13.ints("axes", a0, a1).node(op, "r", l("x", "axes"), l("y"), intAttr("keepdims", keep));
            }
            else
            {
                m13.node(op, "r", l("x"), l("y"), intsAttr("axes", a0, a1), intAttr("keepdims", keep));
            }
            unaryCheck(what, m13, x, v -> v);
            unaryCheck(what + " (opset 18)", new ModelBuilder(18).input("x", x).output("y").ints("axes", a0)
                .node(op, "r", l("x", "axes"), l("y"), intAttr("keepdims", keep)), x, v -> v);
        }
        final long[] x = {2, 3, 4};
        unaryCheck("ReduceMean all", new ModelBuilder(13).input("x", x).output("y")
            .node("ReduceMean", "r", l("x"), l("y"), intAttr("keepdims", 0)), x, v -> v);
    }

    @Test
    void shouldSoftmaxOverAnyAxisWithAndWithoutFlattening()
    {
        for (int r = 0; r < ROUNDS * 2; r++)
        {
            final long[] x = dims(2 + r % 3, 5);
            if (x.length == 4 && r % 2 == 0)
            {
                x[0] = 1;
            }
            final long axis = random.nextInt(x.length);
            for (final String op : List.of("Softmax", "LogSoftmax"))
            {
                for (final int opset : new int[]{11, 13})
                {
                    unaryCheck(op + " " + Arrays.toString(x) + " axis " + axis + " opset " + opset,
                        new ModelBuilder(opset).input("x", x).output("y")
                            .node(op, "s", l("x"), l("y"), intAttr("axis", axis)), x, v -> v * 4);
                }
            }
        }
    }

    @Test
    void shouldNormalizeInstancesLayersAndGroups()
    {
        for (int r = 0; r < ROUNDS; r++)
        {
            final long[] x = dims(3 + r % 2, 5);
            x[1] = 4;
            final long[] c = {x[1]};
            check("InstanceNormalization " + Arrays.toString(x), new ModelBuilder(13).input("x", x).output("y")
                .weights("s", c, data(c, v -> v)).weights("b", c, data(c, v -> v))
                .node("InstanceNormalization", "n", l("x", "s", "b"), l("y"), floatAttr("epsilon", 1e-3f)),
                List.of(x), List.of(data(x, v -> v)));
            final int axis = 1 + random.nextInt(x.length - 1);
            final long[] tail = Arrays.copyOfRange(x, axis, x.length);
            check("LayerNormalization " + Arrays.toString(x) + " axis " + axis, new ModelBuilder(17).input("x", x)
                .output("y").weights("s", tail, data(tail, v -> v)).weights("b", tail, data(tail, v -> v))
                .node("LayerNormalization", "n", l("x", "s", "b"), l("y"), intAttr("axis", axis)),
                List.of(x), List.of(data(x, v -> v)));
            check("GroupNormalization " + Arrays.toString(x), new ModelBuilder(21).input("x", x).output("y")
                .weights("s", c, data(c, v -> v)).weights("b", c, data(c, v -> v))
                .node("GroupNormalization", "n", l("x", "s", "b"), l("y"), intAttr("num_groups", 2)),
                List.of(x), List.of(data(x, v -> v)));
        }
    }

    @Test
    void shouldMoveDepthToSpaceAndBack()
    {
        for (int r = 0; r < ROUNDS; r++)
        {
            final long b = 2;
            final long[] x = {1 + r % 2, 4 * (1 + random.nextInt(2)), 1 + random.nextInt(4), 1 + random.nextInt(4)};
            for (final String mode : List.of("DCR", "CRD"))
            {
                unaryCheck("DepthToSpace " + mode + " " + Arrays.toString(x), new ModelBuilder(13).input("x", x)
                    .output("y").node("DepthToSpace", "d", l("x"), l("y"), intAttr("blocksize", b),
                        stringAttr("mode", mode)), x, v -> v);
            }
            final long[] s = {x[0], x[1], x[2] * b, x[3] * b};
            unaryCheck("SpaceToDepth " + Arrays.toString(s), new ModelBuilder(13).input("x", s).output("y")
                .node("SpaceToDepth", "d", l("x"), l("y"), intAttr("blocksize", b)), s, v -> v);
        }
    }

    @Test
    void shouldMultiplyActivationsWithBroadcastBatches()
    {
        for (int r = 0; r < ROUNDS; r++)
        {
            final long m = 1 + random.nextInt(4);
            final long k = 1 + random.nextInt(5);
            final long n = 1 + random.nextInt(4);
            final long[] a = {2, m, k};
            final long[] b = {3, 1, k, n};
            check("MatMul " + Arrays.toString(a) + " x " + Arrays.toString(b), new ModelBuilder(13).input("a", a)
                .input("b", b).output("y").node("MatMul", "mm", l("a", "b"), l("y")), List.of(a, b),
                List.of(data(a, v -> v), data(b, v -> v)));
            final long[] v1 = {k};
            final long[] b2 = {k, n};
            check("MatMul 1-D", new ModelBuilder(13).input("a", v1).input("b", b2).output("y")
                .node("MatMul", "mm", l("a", "b"), l("y")), List.of(v1, b2), List.of(data(v1, v -> v),
                data(b2, v -> v)));
            final long[] ga = {k, m};
            final long[] gb = {n, k};
            final long[] gc = {n};
            check("Gemm transA transB runtime", new ModelBuilder(13).input("a", ga).input("b", gb).input("c", gc)
                .output("y").node("Gemm", "g", l("a", "b", "c"), l("y"), intAttr("transA", 1), intAttr("transB", 1),
                    floatAttr("alpha", 0.5f), floatAttr("beta", 2f)), List.of(ga, gb, gc),
                List.of(data(ga, v -> v), data(gb, v -> v), data(gc, v -> v)));
        }
    }

    @Test
    void shouldRunWindowsOfAnyRankAndBatch()
    {
        for (int r = 0; r < ROUNDS; r++)
        {
            final long batch = 1 + random.nextInt(3);
            final long[] x1 = {batch, 3, 9 + random.nextInt(8)};
            final long[] w1 = {4, 3, 3};
            check("Conv 1-D " + Arrays.toString(x1), new ModelBuilder(13).input("x", x1).output("y")
                .weights("w", w1, data(w1, v -> v)).weights("b", new long[]{4}, data(new long[]{4}, v -> v))
                .node("Conv", "c", l("x", "w", "b"), l("y"), intsAttr("strides", 2), intsAttr("pads", 1, 2),
                    intsAttr("dilations", 1 + r % 2)), List.of(x1), List.of(data(x1, v -> v)));
            final long[] x3 = {batch, 2, 4, 5, 6};
            final long[] w3 = {4, 1, 2, 3, 2};
            check("Conv 3-D groups " + Arrays.toString(x3), new ModelBuilder(13).input("x", x3).output("y")
                .weights("w", w3, data(w3, v -> v))
                .node("Conv", "c", l("x", "w"), l("y"), intAttr("group", 2), stringAttr("auto_pad", "SAME_UPPER")),
                List.of(x3), List.of(data(x3, v -> v)));
            final long[] x2 = {batch, 3, 6, 7};
            final long[] w2 = {2, 3, 3, 3};
            check("Conv runtime W " + Arrays.toString(x2), new ModelBuilder(13).input("x", x2).input("w", w2)
                .output("y").node("Conv", "c", l("x", "w"), l("y"), intsAttr("pads", 1, 0, 1, 1)),
                List.of(x2, w2), List.of(data(x2, v -> v), data(w2, v -> v)));
            final long[] wt = {3, 2, 3};
            check("ConvTranspose 1-D " + Arrays.toString(x1), new ModelBuilder(13).input("x", x1).output("y")
                .weights("w", wt, data(wt, v -> v))
                .node("ConvTranspose", "c", l("x", "w"), l("y"), intsAttr("strides", 2), intsAttr("pads", 1, 0),
                    intsAttr("output_padding", 1)), List.of(x1), List.of(data(x1, v -> v)));
            for (final String pool : List.of("MaxPool", "AveragePool"))
            {
                final ModelBuilder m = new ModelBuilder(13).input("x", x1).output("y");
                if ("MaxPool".equals(pool))
                {
                    m.node(pool, "p", l("x"), l("y"), intsAttr("kernel_shape", 3), intsAttr("strides", 2),
                        intsAttr("pads", 1, 1), intAttr("ceil_mode", 1), intsAttr("dilations", 1 + r % 2));
                }
                else
                {
                    m.node(pool, "p", l("x"), l("y"), intsAttr("kernel_shape", 3), intsAttr("strides", 2),
                        intsAttr("pads", 1, 1), intAttr("ceil_mode", 1 - r % 2), intAttr("count_include_pad", r % 2));
                }
                check(pool + " 1-D " + Arrays.toString(x1) + " round " + r, m, List.of(x1), List.of(data(x1, v -> v)));
                check(pool + " 3-D " + Arrays.toString(x3), new ModelBuilder(13).input("x", x3).output("y")
                    .node(pool, "p", l("x"), l("y"), intsAttr("kernel_shape", 2, 2, 3)), List.of(x3),
                    List.of(data(x3, v -> v)));
            }
            check("LRN batch " + batch, new ModelBuilder(13).input("x", x2).output("y")
                .node("LRN", "n", l("x"), l("y"), intAttr("size", 3)), List.of(x2), List.of(data(x2, v -> v)));
            check("GlobalAveragePool 1-D", new ModelBuilder(13).input("x", x1).output("y")
                .node("GlobalAveragePool", "g", l("x"), l("y")), List.of(x1), List.of(data(x1, v -> v)));
        }
    }

    @Test
    void shouldPadAnyRank()
    {
        for (final String mode : List.of("constant", "reflect", "edge"))
        {
            final long[] x = {2, 4, 5};
            check("Pad " + mode, new ModelBuilder(13).input("x", x).output("y").ints("pads", 0, 1, 2, 1, 3, 2)
                .initializer(scalar("v", 0.25f))
                .node("Pad", "p", l("x", "pads", "v"), l("y"), stringAttr("mode", mode)), List.of(x),
                List.of(data(x, v -> v)));
        }
    }

    @Test
    void shouldResizeCubic()
    {
        final String[] modes = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"};
        for (int r = 0; r < ROUNDS * 2; r++)
        {
            final long[] x = {1 + r % 2, 2, 3 + random.nextInt(5), 3 + random.nextInt(5)};
            final float sh = r % 2 == 0 ? 1.5f + random.nextInt(3) * 0.5f : 0.6f;
            final float sw = r % 3 == 0 ? 2f : 0.75f;
            final String mode = modes[r % modes.length];
            final ModelBuilder m = new ModelBuilder(13).input("x", x).output("y")
                .initializer(ModelBuilder.rawFloats("scales", new long[]{4}, new float[]{1, 1, sh, sw}))
                .node("Resize", "rs", l("x", "", "scales"), l("y"), stringAttr("mode", "cubic"),
                    stringAttr("coordinate_transformation_mode", mode), floatAttr("cubic_coeff_a", r % 2 == 0 ?
                        -0.75f : -0.5f), intAttr("exclude_outside", r % 4 < 2 ? 0 : 1));
            unaryCheck("Resize cubic " + Arrays.toString(x) + " scales " + sh + "," + sw + " " + mode, m, x,
                v -> v);
        }
    }

    private static OnnxMl.TensorProto scalar(final String name, final float v)
    {
        return ModelBuilder.rawFloats(name, new long[0], new float[]{v});
    }
}
