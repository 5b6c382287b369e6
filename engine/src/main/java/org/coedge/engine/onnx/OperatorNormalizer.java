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
 * attribute explicit with defaults applied, auto_pad and ConvTranspose output_shape resolved into pads, constant
 * operands of Clip / Resize / Upsample / Pad / Reshape turned into attributes, the reshape family turned into one
 * Reshape with a resolved {@code shape}, ReduceMean over H and W turned into GlobalAveragePool; Resize and Upsample
 * go to {@link ResizeNormalizer}, windows of other ranks to {@link WindowNormalizer}, the generic tensor operators to
 * {@link TensorNormalizer}. Each operator checks
 * its inputs' ranks and dims and throws a {@link ModelException} naming the node and the shapes when they are wrong.
 * <p>
 * Owned by one {@link ShapeInference} fold, on its thread; reads the fold's constants and writes its shapes.
 */
final class OperatorNormalizer
{
    private static final String NOTSET = "NOTSET";

    private final int opset;
    private final Map<String, ConstTensor> constants;
    private final Map<String, long[]> shapes;
    private final TensorNormalizer tensors;
    private final ResizeNormalizer resizes;
    private final WindowNormalizer windows;

    OperatorNormalizer(final int opset, final Map<String, ConstTensor> constants, final Map<String, long[]> shapes)
    {
        this.opset = opset;
        this.constants = constants;
        this.shapes = shapes;
        this.tensors = new TensorNormalizer(this, opset);
        this.windows = new WindowNormalizer(this);
        this.resizes = new ResizeNormalizer(this, opset);
    }

    /** @param n a node with runtime data and a single output. */
    Node normalize(final Node n)
    {
        switch (n.opType())
        {
            case "Conv":
                return conv(n);
            case "ConvTranspose":
                return convTranspose(n);
            case "MaxPool":
            case "AveragePool":
                return pool(n);
            case "GlobalAveragePool":
            case "GlobalMaxPool":
                return globalPool(n, n.opType());
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

    /** @return a 2-element spatial attribute, {@code fill} when absent. */
    private static long[] pair(final Node n, final String name, final long fill, final long min)
    {
        final long[] v = n.attrInts(name, new long[]{fill, fill});
        if (v.length != 2)
        {
            throw ModelException.at(n, name + " " + Arrays.toString(v) + " must have 2 values (2-D only)");
        }
        for (final long x : v)
        {
            if (x < min)
            {
                throw ModelException.at(n, name + " " + Arrays.toString(v) + " must be at least " + min);
            }
        }
        return v;
    }

    private static long[] kernel(final Node n, final long[] fromWeights)
    {
        final long[] k = n.attrInts("kernel_shape", fromWeights);
        if (k == null)
        {
            throw ModelException.at(n, "kernel_shape is missing");
        }
        if (k.length != 2)
        {
            throw ModelException.at(n, "kernel_shape " + Arrays.toString(k) + " is not 2-D; only 2-D is supported");
        }
        if (fromWeights != null && !Arrays.equals(k, fromWeights))
        {
            throw ModelException.at(n, "kernel_shape " + Arrays.toString(k) + " does not match the weights' " +
                Arrays.toString(fromWeights));
        }
        if (k[0] < 1 || k[1] < 1)
        {
            throw ModelException.at(n, "kernel_shape " + Arrays.toString(k) + " must be positive");
        }
        return k;
    }

    static long effective(final long k, final long d)
    {
        return (k - 1) * d + 1;
    }

    /** @return [top, left, bottom, right] with auto_pad resolved; {@code x} is NCHW. */
    private static long[] pads(final Node n, final long[] x, final long[] k, final long[] s, final long[] d)
    {
        final String autoPad = n.attrString("auto_pad", NOTSET);
        final long[] pads = new long[4];
        switch (autoPad.isEmpty() ? NOTSET : autoPad)
        {
            case NOTSET:
            {
                final long[] given = n.attrInts("pads", new long[4]);
                if (given.length != 4)
                {
                    throw ModelException.at(n, "pads " + Arrays.toString(given) + " must have 4 values (2-D only)");
                }
                for (final long p : given)
                {
                    if (p < 0)
                    {
                        throw ModelException.at(n, "negative pads " + Arrays.toString(given) + " are not supported");
                    }
                }
                return given;
            }
            case "VALID":
                return pads;
            case "SAME_UPPER":
            case "SAME_LOWER":
                for (int i = 0; i < 2; i++)
                {
                    final long in = x[2 + i];
                    final long out = (in + s[i] - 1) / s[i];
                    final long total = Math.max(0, (out - 1) * s[i] + effective(k[i], d[i]) - in);
                    final long small = total / 2;
                    final boolean upper = "SAME_UPPER".equals(autoPad);
                    pads[i] = upper ? small : total - small;
                    pads[i + 2] = upper ? total - small : small;
                }
                return pads;
            default:
                throw ModelException.at(n, "unknown auto_pad '" + autoPad + "'");
        }
    }

    static long windowOutput(
        final Node n, final long in, final long begin, final long end, final long k, final long s, final long d,
        final boolean ceil)
    {
        final long span = in + begin + end - effective(k, d);
        if (span < 0)
        {
            throw ModelException.at(n, "the window (" + effective(k, d) + " with dilation) is larger than the " +
                "padded input (" + (in + begin + end) + ")");
        }
        long out = (ceil ? (span + s - 1) / s : span / s) + 1;
        // A last window that would start inside the end padding is dropped, as ONNX and PyTorch specify.
        if (ceil && (out - 1) * s >= in + begin)
        {
            out--;
        }
        return out;
    }

    private Node conv(final Node n)
    {
        final long[] x = dims(n, 0);
        if (x.length != 4)
        {
            return windows.conv(n, false);
        }
        final long[] wd = dims(n, 1);
        if (wd.length != 4)
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " are not 4-D; only 2-D convolution is supported");
        }
        final long group = n.attrInt("group", 1);
        if (group < 1 || wd[0] % group != 0 || wd[1] * group != x[1])
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " with group " + group + " do not fit input " +
                Dims.str(x));
        }
        checkBias(n, wd[0]);
        final long[] k = kernel(n, new long[]{wd[2], wd[3]});
        final long[] s = pair(n, "strides", 1, 1);
        final long[] d = pair(n, "dilations", 1, 1);
        final long[] p = pads(n, x, k, s, d);
        final long[] out = {
            x[0], wd[0],
            windowOutput(n, x[2], p[0], p[2], k[0], s[0], d[0], false),
            windowOutput(n, x[3], p[1], p[3], k[1], s[1], d[1], false)};
        return emit(n, "Conv", n.inputs(), attrs(Attribute.ofInts("kernel_shape", k),
            Attribute.ofInts("strides", s), Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p),
            Attribute.ofInt("group", group)), out);
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

    private Node convTranspose(final Node n)
    {
        final long[] x = dims(n, 0);
        if (x.length != 4)
        {
            return windows.conv(n, true);
        }
        final long[] wd = dims(n, 1);
        if (wd.length != 4)
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " are not 4-D; only 2-D is supported");
        }
        final long group = n.attrInt("group", 1);
        if (group < 1 || wd[0] != x[1] || x[1] % group != 0)
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " with group " + group + " do not fit input " +
                Dims.str(x));
        }
        final long channels = wd[1] * group;
        checkBias(n, channels);
        final long[] k = kernel(n, new long[]{wd[2], wd[3]});
        final long[] s = pair(n, "strides", 1, 1);
        final long[] d = pair(n, "dilations", 1, 1);
        final long[] outPad = pair(n, "output_padding", 0, 0);
        final String autoPad = n.attrString("auto_pad", NOTSET);
        long[] target = n.attrInts("output_shape", null);
        if (target != null && target.length == 4)
        {
            target = new long[]{target[2], target[3]};
        }
        if (target == null && ("SAME_UPPER".equals(autoPad) || "SAME_LOWER".equals(autoPad)))
        {
            target = new long[]{x[2] * s[0], x[3] * s[1]};
        }
        final long[] p;
        if (target != null)
        {
            if (target.length != 2)
            {
                throw ModelException.at(n, "output_shape " + Arrays.toString(target) + " must have 2 values");
            }
            p = new long[4];
            for (int i = 0; i < 2; i++)
            {
                final long total = s[i] * (x[2 + i] - 1) + outPad[i] + effective(k[i], d[i]) - target[i];
                if (total < 0)
                {
                    // A larger output_shape adds rows / columns at the end that no input reaches (bias only), as
                    // ONNX Runtime does: that is output padding, with no pads.
                    outPad[i] -= total;
                    continue;
                }
                final long half = total / 2;
                p[i] = "SAME_UPPER".equals(autoPad) ? half : total - half;
                p[i + 2] = total - p[i];
            }
        }
        else if ("VALID".equals(autoPad))
        {
            p = new long[4];
        }
        else
        {
            p = pads(n, x, k, s, d);
        }
        final long[] out = new long[4];
        out[0] = x[0];
        out[1] = channels;
        for (int i = 0; i < 2; i++)
        {
            out[2 + i] = s[i] * (x[2 + i] - 1) + outPad[i] + effective(k[i], d[i]) - p[i] - p[i + 2];
        }
        return emit(n, "ConvTranspose", n.inputs(), attrs(Attribute.ofInts("kernel_shape", k),
            Attribute.ofInts("strides", s), Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p),
            Attribute.ofInts("output_padding", outPad), Attribute.ofInt("group", group)), out);
    }

    private Node pool(final Node n)
    {
        final long[] x = dims(n, 0);
        if (x.length != 4)
        {
            return windows.pool(n);
        }
        final long[] k = kernel(n, null);
        final long[] s = pair(n, "strides", 1, 1);
        final long[] d = pair(n, "dilations", 1, 1);
        final long[] p = pads(n, x, k, s, d);
        for (int i = 0; i < 4; i++)
        {
            if (p[i] >= effective(k[i % 2], d[i % 2]))
            {
                throw ModelException.at(n, "pads " + Arrays.toString(p) + " must be smaller than the kernel " +
                    Arrays.toString(k));
            }
        }
        // Once auto_pad is resolved into pads, the output size it implies is the floor one.
        final boolean autoPadded = !NOTSET.equals(n.attrString("auto_pad", NOTSET)) &&
            !n.attrString("auto_pad", NOTSET).isEmpty();
        final long ceil = autoPadded ? 0 : n.attrInt("ceil_mode", 0);
        final long[] out = {
            x[0], x[1],
            windowOutput(n, x[2], p[0], p[2], k[0], s[0], d[0], ceil != 0),
            windowOutput(n, x[3], p[1], p[3], k[1], s[1], d[1], ceil != 0)};
        final Map<String, Attribute> a = attrs(Attribute.ofInts("kernel_shape", k), Attribute.ofInts("strides", s),
            Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p), Attribute.ofInt("ceil_mode", ceil));
        if ("AveragePool".equals(n.opType()))
        {
            a.put("count_include_pad", Attribute.ofInt("count_include_pad", n.attrInt("count_include_pad", 0)));
        }
        return emit(n, n.opType(), List.of(n.input(0)), a, out);
    }

    private Node globalPool(final Node n, final String opType)
    {
        final long[] x = dims(n, 0);
        if (x.length < 3)
        {
            throw ModelException.at(n, "input " + Dims.str(x) + " must be [N, C, ...] with a spatial dim");
        }
        final long[] out = new long[x.length];
        Arrays.fill(out, 1);
        out[0] = x[0];
        out[1] = x[1];
        return emit(n, opType, List.of(n.input(0)), attrs(), out);
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
