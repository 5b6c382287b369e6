package org.coedge.engine.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Rewrites one runtime node into the normalized form the lowering reads, and records its output dims: every
 * attribute explicit with defaults applied, constant operands of Clip / Pad / Reshape turned into attributes, the
 * reshape family turned into one Reshape with a resolved {@code shape}, ReduceMean over H and W turned into
 * GlobalAveragePool; convolutions and pooling go to {@link Window2dNormalizer} (auto_pad and ConvTranspose
 * output_shape resolved into pads; other ranks on to {@link WindowNormalizer}), Resize and Upsample to
 * {@link ResizeNormalizer}, the generic tensor operators to {@link TensorNormalizer}. Each operator checks
 * its inputs' ranks and dims and throws a {@link ModelException} naming the node and the shapes when they are wrong.
 * <p>
 * Owned by one {@link ShapeInference} fold, on its thread; reads the fold's constants and writes its shapes.
 */
final class OperatorNormalizer
{
    private final int opset;
    private final Map<String, ConstTensor> constants;
    private final Map<String, long[]> shapes;
    private final TensorNormalizer tensors;
    private final ResizeNormalizer resizes;
    private final Window2dNormalizer windows2d;

    OperatorNormalizer(final int opset, final Map<String, ConstTensor> constants, final Map<String, long[]> shapes)
    {
        this.opset = opset;
        this.constants = constants;
        this.shapes = shapes;
        this.tensors = new TensorNormalizer(this, opset);
        this.windows2d = new Window2dNormalizer(this, new WindowNormalizer(this));
        this.resizes = new ResizeNormalizer(this, opset);
    }

    /** @param n a node with runtime data and a single output. */
    Node normalize(final Node n)
    {
        switch (n.opType())
        {
            case "Conv":
                return windows2d.conv(n);
            case "ConvTranspose":
                return windows2d.convTranspose(n);
            case "MaxPool":
            case "AveragePool":
                return windows2d.pool(n);
            case "GlobalAveragePool":
            case "GlobalMaxPool":
                return windows2d.globalPool(n, n.opType());
            case "BatchNormalization":
                return batchNorm(n);
            case "LRN":
                return lrn(n);
            case "Relu":
            case "Sigmoid":
            case "Tanh":
            case "HardSwish":
                return unary(n, attrs());
            case "LeakyRelu":
                return unary(n, attrs(Attribute.ofFloat("alpha", n.attrFloat("alpha", 0.01f))));
            case "HardSigmoid":
                return unary(n, attrs(Attribute.ofFloat("alpha", n.attrFloat("alpha", 0.2f)),
                    Attribute.ofFloat("beta", n.attrFloat("beta", 0.5f))));
            case "Clip":
                return clip(n);
            case "PRelu":
                return prelu(n);
            case "Add":
            case "Sub":
            case "Mul":
            case "Div":
                return binary(n);
            case "Concat":
                return concat(n);
            case "Gemm":
                return gemm(n);
            case "MatMul":
                return matMul(n);
            case "Softmax":
            case "LogSoftmax":
                return softmax(n);
            case "Resize":
            case "Upsample":
                return resizes.normalize(n);
            case "Pad":
                return pad(n);
            case "Reshape":
            case "Flatten":
            case "Squeeze":
            case "Unsqueeze":
                return reshape(n);
            case "ReduceMean":
                return reduceMean(n);
            default:
            {
                final Node generic = tensors.normalize(n);
                if (generic == null)
                {
                    throw new ModelException("unsupported operator " + n.opType() + " in node '" + n.name() + "'");
                }
                return generic;
            }
        }
    }

    static Map<String, Attribute> attrs(final Attribute... attributes)
    {
        final Map<String, Attribute> out = new LinkedHashMap<>();
        for (final Attribute a : attributes)
        {
            out.put(a.name(), a);
        }
        return out;
    }

    Node emit(
        final Node n, final String opType, final List<String> inputs, final Map<String, Attribute> attributes,
        final long[] outDims)
    {
        for (final long d : outDims)
        {
            if (d <= 0)
            {
                throw ModelException.at(n, "output would have dims " + Dims.str(outDims));
            }
        }
        shapes.put(n.output(0), outDims.clone());
        return new Node(opType, n.name(), inputs, List.of(n.output(0)), attributes);
    }

    /** @return the constant {@code value}, or null when it is runtime data. */
    ConstTensor constantOrNull(final String value)
    {
        return constants.get(value);
    }

    void putConstant(final String value, final ConstTensor t)
    {
        constants.put(value, t);
    }

    /** @return the dims of {@code value}, an input of {@code n}. */
    long[] dimsOf(final Node n, final String value)
    {
        final int i = n.inputs().indexOf(value);
        if (i < 0)
        {
            throw ModelException.at(n, "'" + value + "' is not an input");
        }
        return dims(n, i);
    }

    long[] dims(final Node n, final int i)
    {
        final String value = n.input(i);
        if (value.isEmpty())
        {
            throw ModelException.at(n, "required input " + i + " is missing");
        }
        final ConstTensor c = constants.get(value);
        if (c != null)
        {
            return c.dims();
        }
        final long[] d = shapes.get(value);
        if (d == null)
        {
            throw ModelException.at(n, "no shape known for input '" + value + "'");
        }
        return d.clone();
    }

    /** @return the dims of input 0, which must be a 4-D (NCHW) runtime value. */
    long[] map(final Node n, final String why)
    {
        final long[] x = dims(n, 0);
        if (x.length != 4)
        {
            throw ModelException.at(n, "input is " + Dims.str(x) + "; " + why);
        }
        return x;
    }

    ConstTensor constant(final Node n, final int i, final String what)
    {
        final ConstTensor c = optionalConstant(n, i, what);
        if (c == null)
        {
            throw ModelException.at(n, "required input " + i + " (" + what + ") is missing");
        }
        return c;
    }

    ConstTensor optionalConstant(final Node n, final int i, final String what)
    {
        final String value = n.input(i);
        if (value.isEmpty())
        {
            return null;
        }
        final ConstTensor c = constants.get(value);
        if (c == null)
        {
            throw ModelException.at(n, what + " (input " + i + ", '" + value + "') must be a constant");
        }
        return c;
    }

    void checkBias(final Node n, final long channels)
    {
        if (n.inputs().size() < 3 || n.input(2).isEmpty())
        {
            return;
        }
        final long[] b = dims(n, 2);
        if (b.length != 1 || b[0] != channels)
        {
            throw ModelException.at(n, "bias " + Dims.str(b) + " must be [" + channels + "]");
        }
    }

    private Node batchNorm(final Node n)
    {
        final long[] x = dims(n, 0);
        if (x.length < 2)
        {
            throw ModelException.at(n, "input " + Dims.str(x) + " has no channel dim");
        }
        if (n.attrInt("training_mode", 0) != 0 || n.attrInt("spatial", 1) != 1)
        {
            throw ModelException.at(n, "only inference-mode, spatial batch normalization is supported");
        }
        final String[] what = {"scale", "bias", "mean", "variance"};
        boolean runtime = false;
        for (int i = 0; i < what.length; i++)
        {
            final long[] c = dims(n, i + 1);
            if (Dims.count(c) != x[1] || c.length != 1)
            {
                throw ModelException.at(n, "the " + what[i] + " " + Dims.str(c) + " must be [" + x[1] +
                    "] for input " + Dims.str(x));
            }
            runtime |= !constants.containsKey(n.input(i + 1));
        }
        if (runtime)
        {
            // Statistics that arrive at run time: the generic path normalizes per channel on every run.
            return emit(n, "RuntimeBatchNormalization", n.inputs().subList(0, 5),
                attrs(Attribute.ofFloat("epsilon", n.attrFloat("epsilon", 1e-5f)),
                    Attribute.ofString("onnx", "BatchNormalization")), x);
        }
        return emit(n, "BatchNormalization", n.inputs().subList(0, 5),
            attrs(Attribute.ofFloat("epsilon", n.attrFloat("epsilon", 1e-5f))), x);
    }

    private Node lrn(final Node n)
    {
        final long[] x = map(n, "only NCHW input is supported");
        final long size = n.attrInt("size", -1);
        if (size < 1)
        {
            throw ModelException.at(n, "size is missing or not positive");
        }
        return emit(n, "LRN", List.of(n.input(0)), attrs(Attribute.ofFloat("alpha", n.attrFloat("alpha", 1e-4f)),
            Attribute.ofFloat("beta", n.attrFloat("beta", 0.75f)), Attribute.ofFloat("bias", n.attrFloat("bias", 1f)),
            Attribute.ofInt("size", size)), x);
    }

    private Node unary(final Node n, final Map<String, Attribute> attributes)
    {
        return emit(n, n.opType(), List.of(n.input(0)), attributes, dims(n, 0));
    }

    private Node clip(final Node n)
    {
        float min = Float.NEGATIVE_INFINITY;
        float max = Float.POSITIVE_INFINITY;
        if (opset < 11)
        {
            min = n.attrFloat("min", min);
            max = n.attrFloat("max", max);
        }
        else
        {
            for (int i = 1; i < Math.min(3, n.inputs().size()); i++)
            {
                if (!n.input(i).isEmpty() && !constants.containsKey(n.input(i)))
                {
                    // Bounds that arrive at run time: the generic path clamps elementwise.
                    return emit(n, "Clip", n.inputs().subList(0, Math.min(3, n.inputs().size())),
                        attrs(Attribute.ofInt("nd", 1)), dims(n, 0));
                }
            }
            final ConstTensor lo = optionalConstant(n, 1, "min");
            final ConstTensor hi = optionalConstant(n, 2, "max");
            min = lo == null ? min : scalar(n, lo, "min");
            max = hi == null ? max : scalar(n, hi, "max");
        }
        return emit(n, "Clip", List.of(n.input(0)),
            attrs(Attribute.ofFloat("min", min), Attribute.ofFloat("max", max)), dims(n, 0));
    }

    private static float scalar(final Node n, final ConstTensor t, final String what)
    {
        if (t.size() != 1)
        {
            throw ModelException.at(n, what + " " + Dims.str(t.dims()) + " must be a single value");
        }
        return t.floats()[0];
    }

    private Node prelu(final Node n)
    {
        final long[] x = dims(n, 0);
        long[] slope = dims(n, 1);
        List<String> inputs = n.inputs().subList(0, 2);
        final ConstTensor given = constants.get(n.input(1));
        if (opset < 7 && given != null && slope.length == 1 && x.length > 2 && slope[0] == x[1] && slope[0] != 1)
        {
            // Before opset 7 a slope of C values is one per channel (axis 1), not numpy-aligned to the last dim.
            final long[] perChannel = new long[x.length - 1];
            Arrays.fill(perChannel, 1);
            perChannel[0] = slope[0];
            final String name = n.input(1) + "#perChannel@" + n.name();
            constants.put(name, ConstTensor.ofFloats(perChannel, given.floats()));
            inputs = List.of(n.input(0), name);
            slope = perChannel;
        }
        if (!Dims.broadcastsTo(slope, x))
        {
            throw ModelException.at(n, "slope " + Dims.str(slope) + " does not broadcast to input " + Dims.str(x));
        }
        return emit(n, "PRelu", inputs, attrs(), x);
    }

    private Node binary(final Node n)
    {
        final long[] a = dims(n, 0);
        long[] b = dims(n, 1);
        List<String> inputs = n.inputs().subList(0, 2);
        if (opset < 7 && n.attrInt("broadcast", 0) != 0 && n.has("axis") && b.length < a.length)
        {
            // Before opset 7, B of lower rank lines up with A from 'axis' on; numpy alignment needs trailing 1s.
            final int axis = Dims.axis(n, n.attrInt("axis", 0), a.length);
            final ConstTensor c = optionalConstant(n, 1, "B with broadcast and axis (opset < 7)");
            if (axis + b.length > a.length)
            {
                throw ModelException.at(n, "B " + Dims.str(b) + " at axis " + axis + " does not fit A " + Dims.str(a));
            }
            final long[] aligned = new long[a.length - axis];
            Arrays.fill(aligned, 1);
            System.arraycopy(b, 0, aligned, 0, b.length);
            final String name = n.input(1) + "#aligned@" + n.name();
            constants.put(name, c.isFloat() ? ConstTensor.ofFloats(aligned, c.floats()) :
                ConstTensor.ofLongs(aligned, c.longs()));
            inputs = List.of(n.input(0), name);
            b = aligned;
        }
        final long[] out = Dims.broadcast(a, b);
        if (out == null)
        {
            throw ModelException.at(n, "cannot broadcast " + Dims.str(a) + " with " + Dims.str(b));
        }
        return emit(n, n.opType(), inputs, attrs(), out);
    }

    private Node concat(final Node n)
    {
        final List<String> inputs = new ArrayList<>();
        final List<long[]> all = new ArrayList<>();
        for (int i = 0; i < n.inputs().size(); i++)
        {
            if (!n.input(i).isEmpty())
            {
                inputs.add(n.input(i));
                all.add(dims(n, i));
            }
        }
        if (all.isEmpty())
        {
            throw ModelException.at(n, "no inputs");
        }
        final long[] first = all.get(0);
        if (!n.has("axis") && opset >= 4)
        {
            throw ModelException.at(n, "the axis attribute is missing");
        }
        final int axis = Dims.axis(n, n.attrInt("axis", 1), first.length);
        final long[] out = first.clone();
        out[axis] = 0;
        for (final long[] d : all)
        {
            boolean fits = d.length == first.length;
            for (int i = 0; fits && i < d.length; i++)
            {
                fits = i == axis || d[i] == first[i];
            }
            if (!fits)
            {
                final StringBuilder sb = new StringBuilder();
                for (final long[] each : all)
                {
                    sb.append(sb.length() == 0 ? "" : ", ").append(Dims.str(each));
                }
                throw ModelException.at(n, "cannot concatenate on axis " + axis + " inputs of shapes " + sb +
                    ": all dims but the axis must match");
            }
            out[axis] += d[axis];
        }
        return emit(n, "Concat", inputs, attrs(Attribute.ofInt("axis", axis)), out);
    }

    private Node gemm(final Node n)
    {
        final long[] a = dims(n, 0);
        final long[] c = n.inputs().size() > 2 && !n.input(2).isEmpty() ? dims(n, 2) : null;
        final long transA = n.attrInt("transA", 0);
        final long transB = n.attrInt("transB", 0);
        final long[] bd = dims(n, 1);
        if (a.length != 2 || bd.length != 2)
        {
            throw ModelException.at(n, "A " + Dims.str(a) + " and B " + Dims.str(bd) + " must both be 2-D");
        }
        final long m = transA != 0 ? a[1] : a[0];
        final long k = transA != 0 ? a[0] : a[1];
        final long kb = transB != 0 ? bd[1] : bd[0];
        final long cols = transB != 0 ? bd[0] : bd[1];
        if (k != kb)
        {
            throw ModelException.at(n, "A " + Dims.str(a) + " (transA " + transA + ") and B " + Dims.str(bd) +
                " (transB " + transB + ") do not multiply");
        }
        final long[] out = {m, cols};
        if (c != null && !Dims.broadcastsTo(c, out))
        {
            throw ModelException.at(n, "C " + Dims.str(c) + " does not broadcast to " + Dims.str(out));
        }
        final List<String> inputs = c == null ? n.inputs().subList(0, 2) : n.inputs().subList(0, 3);
        return emit(n, "Gemm", inputs, attrs(Attribute.ofFloat("alpha", n.attrFloat("alpha", 1f)),
            Attribute.ofFloat("beta", n.attrFloat("beta", 1f)), Attribute.ofInt("transA", transA),
            Attribute.ofInt("transB", transB)), out);
    }

    private Node matMul(final Node n)
    {
        final long[] a = dims(n, 0);
        final long[] b = dims(n, 1);
        if (a.length == 0 || b.length == 0)
        {
            throw ModelException.at(n, "A " + Dims.str(a) + " and B " + Dims.str(b) + " must not be scalars");
        }
        final long[] a2 = a.length == 1 ? new long[]{1, a[0]} : a;
        final long[] b2 = b.length == 1 ? new long[]{b[0], 1} : b;
        if (a2[a2.length - 1] != b2[b2.length - 2])
        {
            throw ModelException.at(n, "A " + Dims.str(a) + " and B " + Dims.str(b) + " do not multiply");
        }
        final long[] batch = Dims.broadcast(Arrays.copyOf(a2, a2.length - 2), Arrays.copyOf(b2, b2.length - 2));
        if (batch == null)
        {
            throw ModelException.at(n, "the batch dims of A " + Dims.str(a) + " and B " + Dims.str(b) +
                " do not broadcast");
        }
        final List<Long> out = new ArrayList<>();
        for (final long d : batch)
        {
            out.add(d);
        }
        if (a.length > 1)
        {
            out.add(a2[a2.length - 2]);
        }
        if (b.length > 1)
        {
            out.add(b2[b2.length - 1]);
        }
        return emit(n, "MatMul", n.inputs().subList(0, 2), attrs(),
            out.stream().mapToLong(Long::longValue).toArray());
    }

    private Node softmax(final Node n)
    {
        final long[] x = dims(n, 0);
        final int axis = Dims.axis(n, n.attrInt("axis", opset < 13 ? 1 : -1), x.length);
        return emit(n, n.opType(), List.of(n.input(0)),
            attrs(Attribute.ofInt("axis", axis), Attribute.ofInt("coerce2d", opset < 13 ? 1 : 0)), x);
    }

    private Node pad(final Node n)
    {
        final long[] x = dims(n, 0);
        final int rank = x.length;
        final String mode = n.attrString("mode", "constant");
        long[] pads;
        float value = 0f;
        if (opset < 11)
        {
            pads = n.attrInts(opset < 2 ? "paddings" : "pads", null);
            value = n.attrFloat("value", 0f);
        }
        else
        {
            pads = constant(n, 1, "the pads").longs().clone();
            final ConstTensor v = optionalConstant(n, 2, "the constant value");
            value = v == null || v.size() == 0 ? 0f : scalar(n, v, "the constant value");
            final ConstTensor axes = optionalConstant(n, 3, "the axes");
            if (axes != null)
            {
                final long[] ax = axes.longs();
                if (pads.length != 2 * ax.length)
                {
                    throw ModelException.at(n, "pads " + Arrays.toString(pads) + " do not match axes " +
                        Arrays.toString(ax));
                }
                final long[] full = new long[2 * rank];
                for (int i = 0; i < ax.length; i++)
                {
                    final int a = Dims.axis(n, ax[i], rank);
                    full[a] = pads[i];
                    full[a + rank] = pads[i + ax.length];
                }
                pads = full;
            }
        }
        if (pads == null || pads.length != 2 * rank)
        {
            throw ModelException.at(n, "pads " + (pads == null ? "missing" : Arrays.toString(pads)) + " must have " +
                2 * rank + " values for input " + Dims.str(x));
        }
        if (!"constant".equals(mode) && !"reflect".equals(mode) && !"edge".equals(mode))
        {
            throw ModelException.at(n, "mode '" + mode + "' is not supported (constant, reflect and edge are)");
        }
        final long[] out = x.clone();
        for (int i = 0; i < rank; i++)
        {
            if (pads[i] < 0 || pads[i + rank] < 0)
            {
                throw ModelException.at(n, "negative pads " + Arrays.toString(pads) + " are not supported");
            }
            if ("reflect".equals(mode) && (pads[i] >= x[i] || pads[i + rank] >= x[i]))
            {
                throw ModelException.at(n, "reflect pads " + Arrays.toString(pads) + " must be smaller than input " +
                    Dims.str(x));
            }
            out[i] = x[i] + pads[i] + pads[i + rank];
        }
        return emit(n, "Pad", List.of(n.input(0)), attrs(Attribute.ofString("mode", mode),
            Attribute.ofInts("pads", pads), Attribute.ofFloat("value", value)), out);
    }

    private Node reshape(final Node n)
    {
        final long[] x = dims(n, 0);
        final String operand = "Reshape".equals(n.opType()) ? "the shape" : "the axes";
        final long[] out = ConstantFolder.reshapedDims(n, x, i -> optionalConstant(n, i, operand), opset);
        return emit(n, "Reshape", List.of(n.input(0)), attrs(Attribute.ofInts("shape", out)), out);
    }

    private Node reduceMean(final Node n)
    {
        final long[] x = dims(n, 0);
        long[] axes = opset < 18 ? n.attrInts("axes", null) : null;
        if (opset >= 18)
        {
            final ConstTensor a = optionalConstant(n, 1, "the axes");
            axes = a == null || a.size() == 0 ? null : a.longs();
        }
        final long keep = n.attrInt("keepdims", 1);
        boolean overHw = x.length == 4 && keep == 1 && axes != null && axes.length == 2;
        if (overHw)
        {
            final int a0 = Dims.axis(n, axes[0], 4);
            final int a1 = Dims.axis(n, axes[1], 4);
            overHw = Math.min(a0, a1) == 2 && Math.max(a0, a1) == 3;
        }
        if (!overHw || x[0] != 1)
        {
            return tensors.reduce(n, "MEAN");
        }
        return emit(n, "GlobalAveragePool", List.of(n.input(0)), attrs(), new long[]{x[0], x[1], 1, 1});
    }
}
