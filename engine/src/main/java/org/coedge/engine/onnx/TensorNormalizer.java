package org.coedge.engine.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

import static org.coedge.engine.onnx.OperatorNormalizer.attrs;

/**
 * Normalizes the operators of the generic tensor path (any rank, any batch): layout operators, n-ary and unary math,
 * reductions, normalizations, N-d windows. Each resolves its constant operands into attributes (perm, per-dim slice
 * starts and steps, gather indices, reduction axes) and records its output dims through {@link OperatorNormalizer}.
 * <p>
 * Owned by one {@link OperatorNormalizer}, on its thread.
 */
final class TensorNormalizer
{
    /** Operators of quantized models: refused in one line. */
    static final Set<String> QUANTIZED = Set.of(
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
        "MatMulInteger", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu", "QLinearConcat",
        "QLinearGlobalAveragePool", "QLinearAveragePool");

    private static final Map<String, String> UNARY = Map.ofEntries(
        Map.entry("Exp", "EXP"), Map.entry("Log", "LOG"), Map.entry("Sqrt", "SQRT"), Map.entry("Abs", "ABS"),
        Map.entry("Neg", "NEG"), Map.entry("Reciprocal", "RECIPROCAL"), Map.entry("Erf", "ERF"),
        Map.entry("Softplus", "SOFTPLUS"), Map.entry("Softsign", "SOFTSIGN"), Map.entry("Elu", "ELU"),
        Map.entry("Selu", "SELU"), Map.entry("Celu", "CELU"), Map.entry("Mish", "MISH"), Map.entry("Gelu", "GELU"),
        Map.entry("Floor", "FLOOR"), Map.entry("Ceil", "CEIL"), Map.entry("Round", "ROUND"), Map.entry("Sign", "SIGN"),
        Map.entry("Sin", "SIN"), Map.entry("Cos", "COS"), Map.entry("ThresholdedRelu", "THRESHOLDED_RELU"));

    private static final Map<String, String> REDUCE = Map.of(
        "ReduceSum", "SUM", "ReduceMean", "MEAN", "ReduceMax", "MAX", "ReduceMin", "MIN", "ReduceProd", "PROD",
        "ReduceL1", "L1", "ReduceL2", "L2", "ReduceSumSquare", "SUM_SQUARE", "ReduceLogSum", "LOG_SUM",
        "ReduceLogSumExp", "LOG_SUM_EXP");

    private final OperatorNormalizer base;
    private final int opset;

    TensorNormalizer(final OperatorNormalizer base, final int opset)
    {
        this.base = base;
        this.opset = opset;
    }

    /** @return the normalized node, or null when {@code n} is not an operator of this path. */
    Node normalize(final Node n)
    {
        final String op = n.opType();
        if (QUANTIZED.contains(op))
        {
            throw quantized(n);
        }
        if (UNARY.containsKey(op))
        {
            return unary(n);
        }
        if (REDUCE.containsKey(op))
        {
            return reduce(n, REDUCE.get(op));
        }
        switch (op)
        {
            case "Transpose":
                return transpose(n);
            case "Slice":
                return slice(n);
            case "Gather":
                return gather(n);
            case "Expand":
                return expand(n);
            case "Tile":
                return tile(n);
            case "Max":
            case "Min":
            case "Sum":
            case "Mean":
                return nary(n);
            case "Pow":
                return binary(n, "POW");
            case "Mod":
                return binary(n, n.attrInt("fmod", 0) != 0 ? "FMOD" : "MOD");
            case "InstanceNormalization":
            case "LayerNormalization":
            case "GroupNormalization":
                return normalization(n);
            case "DepthToSpace":
            case "SpaceToDepth":
                return depthToSpace(n);
            default:
                return null;
        }
    }

    static ModelException quantized(final Node n)
    {
        return new ModelException("quantized models are not supported (" + n.opType() + " in node '" + n.name() +
            "'); use the float model");
    }

    private Node unary(final Node n)
    {
        final String op = n.opType();
        String fn = UNARY.get(op);
        float p = 0f;
        float q = 0f;
        switch (op)
        {
            case "Elu":
            case "Celu":
            case "ThresholdedRelu":
                p = n.attrFloat("alpha", 1f);
                break;
            case "Selu":
                p = n.attrFloat("alpha", 1.67326319217681884765625f);
                q = n.attrFloat("gamma", 1.05070102214813232421875f);
                break;
            case "Gelu":
                fn = "tanh".equals(n.attrString("approximate", "none")) ? "GELU_TANH" : "GELU";
                break;
            default:
                break;
        }
        return base.emit(n, "Unary", List.of(n.input(0)), attrs(Attribute.ofString("fn", fn),
            Attribute.ofFloat("p", p), Attribute.ofFloat("q", q), Attribute.ofString("onnx", op)), base.dims(n, 0));
    }

    private Node transpose(final Node n)
    {
        final long[] x = base.dims(n, 0);
        long[] perm = n.attrInts("perm", null);
        if (perm == null)
        {
            perm = new long[x.length];
            for (int i = 0; i < perm.length; i++)
            {
                perm[i] = x.length - 1 - i;
            }
        }
        if (perm.length != x.length)
        {
            throw ModelException.at(n, "perm " + Arrays.toString(perm) + " does not fit input " + Dims.str(x));
        }
        final boolean[] seen = new boolean[x.length];
        final long[] out = new long[x.length];
        for (int i = 0; i < perm.length; i++)
        {
            final int a = Dims.axis(n, perm[i], x.length);
            if (seen[a])
            {
                throw ModelException.at(n, "perm " + Arrays.toString(perm) + " repeats axis " + a);
            }
            seen[a] = true;
            perm[i] = a;
            out[i] = x[a];
        }
        return base.emit(n, "Transpose", List.of(n.input(0)), attrs(Attribute.ofInts("perm", perm)), out);
    }

    private long[] ints(final Node n, final int input, final String what)
    {
        final ConstTensor c = base.optionalConstant(n, input, what);
        return c == null ? null : c.longs();
    }

    private Node slice(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final int rank = x.length;
        final long[] starts;
        final long[] ends;
        long[] axes;
        long[] steps = null;
        if (opset < 10 && n.has("starts"))
        {
            starts = n.attrInts("starts", null);
            ends = n.attrInts("ends", null);
            axes = n.attrInts("axes", null);
        }
        else
        {
            starts = ints(n, 1, "the starts");
            ends = ints(n, 2, "the ends");
            axes = n.inputs().size() > 3 ? ints(n, 3, "the axes") : null;
            steps = n.inputs().size() > 4 ? ints(n, 4, "the steps") : null;
        }
        if (starts == null || ends == null || starts.length != ends.length)
        {
            throw ModelException.at(n, "starts and ends must be given, one each per sliced axis");
        }
        if (axes == null)
        {
            axes = new long[starts.length];
            for (int i = 0; i < axes.length; i++)
            {
                axes[i] = i;
            }
        }
        final long[] start = new long[rank];
        final long[] step = new long[rank];
        final long[] out = x.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < axes.length; i++)
        {
            final int a = Dims.axis(n, axes[i], rank);
            final long s = steps == null ? 1 : steps[i];
            if (s == 0)
            {
                throw ModelException.at(n, "step 0 on axis " + a);
            }
            final long d = x[a];
            long b = starts[i] < 0 ? starts[i] + d : starts[i];
            long e = ends[i] < 0 ? ends[i] + d : ends[i];
            if (s > 0)
            {
                b = Math.max(0, Math.min(d, b));
                e = Math.max(0, Math.min(d, e));
                out[a] = Math.max(0, (e - b + s - 1) / s);
            }
            else
            {
                b = Math.max(-1, Math.min(d - 1, b));
                e = Math.max(-1, Math.min(d - 1, e));
                out[a] = Math.max(0, (b - e + (-s) - 1) / (-s));
            }
            start[a] = b;
            step[a] = s;
        }
        return base.emit(n, "Slice", List.of(n.input(0)), attrs(Attribute.ofInts("starts", start),
            Attribute.ofInts("steps", step)), out);
    }

    private Node gather(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final int axis = Dims.axis(n, n.attrInt("axis", 0), x.length);
        final ConstTensor idx = base.optionalConstant(n, 1, "the indices");
        if (idx == null)
        {
            throw ModelException.at(n, "the indices are missing");
        }
        final long[] indices = idx.longs().clone();
        for (int i = 0; i < indices.length; i++)
        {
            final long v = indices[i] < 0 ? indices[i] + x[axis] : indices[i];
            if (v < 0 || v >= x[axis])
            {
                throw ModelException.at(n, "index " + indices[i] + " is out of range for axis " + axis + " of " +
                    Dims.str(x));
            }
            indices[i] = v;
        }
        final long[] id = idx.dims();
        final long[] out = new long[x.length - 1 + id.length];
        System.arraycopy(x, 0, out, 0, axis);
        System.arraycopy(id, 0, out, axis, id.length);
        System.arraycopy(x, axis + 1, out, axis + id.length, x.length - axis - 1);
        return base.emit(n, "Gather", List.of(n.input(0)), attrs(Attribute.ofInt("axis", axis),
            Attribute.ofInts("indices", indices)), out);
    }

    private Node expand(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final long[] shape = ints(n, 1, "the shape");
        final long[] out = shape == null ? null : Dims.broadcast(x, shape);
        if (out == null)
        {
            throw ModelException.at(n, "cannot expand " + Dims.str(x) + " to " + Arrays.toString(shape));
        }
        return base.emit(n, "Expand", List.of(n.input(0)), attrs(), out);
    }

    private Node tile(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final long[] repeats = ints(n, 1, "the repeats");
        if (repeats == null || repeats.length != x.length)
        {
            throw ModelException.at(n, "repeats " + Arrays.toString(repeats) + " must have one value per dim of " +
                Dims.str(x));
        }
        final long[] out = x.clone();
        for (int i = 0; i < out.length; i++)
        {
            out[i] *= repeats[i];
        }
        return base.emit(n, "Tile", List.of(n.input(0)), attrs(), out);
    }

    private Node nary(final Node n)
    {
        final String op = n.opType();
        final List<String> inputs = new ArrayList<>();
        long[] out = new long[0];
        for (int i = 0; i < n.inputs().size(); i++)
        {
            if (!n.input(i).isEmpty())
            {
                inputs.add(n.input(i));
                final long[] d = base.dims(n, i);
                final long[] b = Dims.broadcast(out, d);
                if (b == null)
                {
                    throw ModelException.at(n, "cannot broadcast " + Dims.str(out) + " with " + Dims.str(d));
                }
                out = b;
            }
        }
        if (inputs.isEmpty())
        {
            throw ModelException.at(n, "no inputs");
        }
        if (inputs.size() == 2 && ("Max".equals(op) || "Min".equals(op)))
        {
            // Max / Min with a single constant value is a clamp (tf2onnx writes ReLU6 so): an activation.
            for (int i = 0; i < 2; i++)
            {
                final ConstTensor c = base.constantOrNull(inputs.get(i));
                final String other = inputs.get(1 - i);
                if (c != null && c.size() == 1 && c.isFloat() && base.constantOrNull(other) == null &&
                    Arrays.equals(base.dimsOf(n, other), out))
                {
                    final float v = c.floats()[0];
                    return base.emit(n, "Clip", List.of(other), attrs(
                        Attribute.ofFloat("min", "Max".equals(op) ? v : Float.NEGATIVE_INFINITY),
                        Attribute.ofFloat("max", "Min".equals(op) ? v : Float.POSITIVE_INFINITY)), out);
                }
            }
        }
        final String kind = "Sum".equals(op) || "Mean".equals(op) ? "ADD" : op.toUpperCase(java.util.Locale.ROOT);
        return base.emit(n, "Nary", inputs, attrs(Attribute.ofString("op", kind),
            Attribute.ofInt("mean", "Mean".equals(op) ? 1 : 0), Attribute.ofString("onnx", op)), out);
    }

    private Node binary(final Node n, final String kind)
    {
        final long[] a = base.dims(n, 0);
        final long[] b = base.dims(n, 1);
        final long[] out = Dims.broadcast(a, b);
        if (out == null)
        {
            throw ModelException.at(n, "cannot broadcast " + Dims.str(a) + " with " + Dims.str(b));
        }
        return base.emit(n, "Nary", n.inputs().subList(0, 2), attrs(Attribute.ofString("op", kind),
            Attribute.ofInt("mean", 0), Attribute.ofString("onnx", n.opType())), out);
    }

    /** Generic reductions (and ReduceMean forms other than the mean over H and W of a map). */
    Node reduce(final Node n, final String kind)
    {
        final long[] x = base.dims(n, 0);
        final boolean axesInput = opset >= 18 || ("ReduceSum".equals(n.opType()) && opset >= 13);
        long[] axes = axesInput ? (n.inputs().size() > 1 ? ints(n, 1, "the axes") : null) :
            n.attrInts("axes", null);
        if (axes != null && axes.length == 0)
        {
            axes = null;
        }
        final long keep = n.attrInt("keepdims", 1);
        if (axes == null && n.attrInt("noop_with_empty_axes", 0) != 0)
        {
            return base.emit(n, "Nary", List.of(n.input(0)), attrs(Attribute.ofString("op", "ADD"),
                Attribute.ofInt("mean", 0), Attribute.ofString("onnx", n.opType())), x);
        }
        final TreeSet<Integer> set = new TreeSet<>();
        if (axes == null)
        {
            for (int i = 0; i < x.length; i++)
            {
                set.add(i);
            }
        }
        else
        {
            for (final long a : axes)
            {
                set.add(Dims.axis(n, a, x.length));
            }
        }
        final long[] sorted = set.stream().mapToLong(Integer::longValue).toArray();
        final List<Long> out = new ArrayList<>();
        for (int i = 0; i < x.length; i++)
        {
            if (!set.contains(i))
            {
                out.add(x[i]);
            }
            else if (keep != 0)
            {
                out.add(1L);
            }
        }
        return base.emit(n, "Reduce", List.of(n.input(0)), attrs(Attribute.ofString("kind", kind),
            Attribute.ofInts("axes", sorted), Attribute.ofInt("keepdims", keep),
            Attribute.ofString("onnx", n.opType())), out.stream().mapToLong(Long::longValue).toArray());
    }

    private Node normalization(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final String op = n.opType();
        final List<String> inputs = new ArrayList<>(n.inputs());
        final Map<String, Attribute> a = attrs(Attribute.ofFloat("epsilon", n.attrFloat("epsilon", 1e-5f)));
        if ("LayerNormalization".equals(op))
        {
            a.put("axis", Attribute.ofInt("axis", Dims.axis(n, n.attrInt("axis", -1), x.length)));
        }
        else if (x.length < 3)
        {
            throw ModelException.at(n, "input " + Dims.str(x) + " must be [N, C, ...] with a spatial dim");
        }
        if ("GroupNormalization".equals(op))
        {
            final long groups = n.attrInt("num_groups", -1);
            if (groups < 1 || x[1] % groups != 0)
            {
                throw ModelException.at(n, "num_groups " + groups + " must divide the channels of " + Dims.str(x));
            }
            a.put("num_groups", Attribute.ofInt("num_groups", groups));
            // Opset 18 gives scale and bias per group; they apply to each channel of the group.
            for (int i = 1; i < 3; i++)
            {
                final ConstTensor c = base.constantOrNull(n.input(i));
                if (c != null && c.size() == groups && groups != x[1])
                {
                    final float[] per = new float[(int)x[1]];
                    for (int ch = 0; ch < per.length; ch++)
                    {
                        per[ch] = c.floats()[(int)(ch / (x[1] / groups))];
                    }
                    final String name = n.input(i) + "#perChannel@" + n.name();
                    base.putConstant(name, ConstTensor.ofFloats(new long[]{x[1]}, per));
                    inputs.set(i, name);
                }
            }
        }
        return base.emit(n, op, inputs.subList(0, Math.min(3, inputs.size())), a, x);
    }

    private Node depthToSpace(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final long b = n.attrInt("blocksize", -1);
        if (x.length != 4 || b < 1)
        {
            throw ModelException.at(n, "input " + Dims.str(x) + " must be 4-D and blocksize positive");
        }
        final long[] out;
        if ("DepthToSpace".equals(n.opType()))
        {
            if (x[1] % (b * b) != 0)
            {
                throw ModelException.at(n, "channels of " + Dims.str(x) + " are not divisible by blocksize^2");
            }
            out = new long[]{x[0], x[1] / (b * b), x[2] * b, x[3] * b};
        }
        else
        {
            if (x[2] % b != 0 || x[3] % b != 0)
            {
                throw ModelException.at(n, "H and W of " + Dims.str(x) + " are not divisible by blocksize " + b);
            }
            out = new long[]{x[0], x[1] * b * b, x[2] / b, x[3] / b};
        }
        return base.emit(n, n.opType(), List.of(n.input(0)), attrs(Attribute.ofInt("blocksize", b),
            Attribute.ofString("mode", n.attrString("mode", "DCR"))), out);
    }
}
