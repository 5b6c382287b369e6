package org.coedge.engine.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.IntFunction;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Evaluates one node whose inputs are all constants, as exporters emit them for shape arithmetic (Shape, Gather,
 * Concat, Slice, Cast, Reshape ...) and for weight preprocessing (Reshape of a bias, Mul of a scale). Integer data is
 * computed in 64 bits and floating data in 32 bits, as ONNX Runtime would for int64 and float tensors.
 * <p>
 * Called by {@link ShapeInference} on the loading thread; stateless. The element-wise arithmetic is
 * {@link ConstantArithmetic}.
 */
final class ConstantFolder
{
    private static final Set<String> BINARY = Set.of(
        "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And",
        "Or", "Xor");
    private static final Set<String> UNARY = Set.of(
        "Neg", "Abs", "Floor", "Ceil", "Round", "Sqrt", "Reciprocal", "Exp", "Log", "Relu", "Sigmoid", "Tanh", "Not",
        "Sign");
    private static final Set<String> OTHER = Set.of(
        "Identity", "Dropout", "Cast", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape",
        "Flatten", "Slice", "ConstantOfShape", "Range", "Transpose", "Expand", "Where", "Min", "Max", "Sum", "Clip");

    private ConstantFolder()
    {
    }

    static boolean supports(final String opType)
    {
        return BINARY.contains(opType) || UNARY.contains(opType) || OTHER.contains(opType);
    }

    /**
     * @param in the node's inputs in order, null for an omitted optional input.
     * @return the node's first output.
     */
    static ConstTensor evaluate(final Node node, final List<ConstTensor> in, final int opset)
    {
        final String op = node.opType();
        if (BINARY.contains(op))
        {
            return ConstantArithmetic.binary(node, op, required(node, in, 0), required(node, in, 1));
        }
        if (UNARY.contains(op))
        {
            return ConstantArithmetic.unary(op, required(node, in, 0));
        }
        final ConstTensor x = required(node, in, 0);
        final long[] reshaped = reshapedDims(node, x.dims(), i -> i < in.size() ? in.get(i) : null, opset);
        if (reshaped != null)
        {
            return withDims(x, reshaped);
        }
        switch (op)
        {
            case "Identity":
            case "Dropout":
                return x;
            case "Cast":
                return ConstantArithmetic.cast(node, x, node.attrInt("to", -1));
            case "Shape":
                return shapeOf(node, x.dims());
            case "Size":
                return ConstTensor.ofLongs(new long[0], new long[]{x.size()});
            case "Gather":
                return gather(node, x, required(node, in, 1));
            case "Concat":
                return concat(node, in);
            case "Slice":
                return slice(node, x, in, opset);
            case "ConstantOfShape":
                return constantOfShape(node, x);
            case "Range":
                return range(node, x, required(node, in, 1), required(node, in, 2));
            case "Transpose":
                return transpose(node, x);
            case "Expand":
                return expand(node, x, required(node, in, 1));
            case "Where":
                return where(node, x, required(node, in, 1), required(node, in, 2));
            case "Min":
            case "Max":
            case "Sum":
                return ConstantArithmetic.variadic(node, op, in);
            case "Clip":
                return ConstantArithmetic.clip(node, x, in, opset);
            default:
                throw ModelException.at(node, "cannot evaluate on constant inputs");
        }
    }

    /** @return the Shape operator's result for a value of {@code dims}, honouring {@code start} / {@code end}. */
    static ConstTensor shapeOf(final Node node, final long[] dims)
    {
        final int rank = dims.length;
        final int start = (int)clampAxis(node.attrInt("start", 0), rank);
        int end = (int)clampAxis(node.attrInt("end", rank), rank);
        if (end < start)
        {
            end = start;
        }
        return ConstTensor.ofLongs(new long[]{end - start}, Arrays.copyOfRange(dims, start, end));
    }

    private static long clampAxis(final long axis, final int rank)
    {
        final long a = axis < 0 ? axis + rank : axis;
        return Math.max(0, Math.min(rank, a));
    }

    /**
     * Output dims of the reshape family (Reshape, Flatten, Squeeze, Unsqueeze), shared with the runtime path so that
     * both agree.
     *
     * @param input the node's constant inputs by index (null when omitted); the data input is not read.
     * @return the output dims, or null when {@code node} is not of the family.
     */
    static long[] reshapedDims(final Node node, final long[] in, final IntFunction<ConstTensor> input, final int opset)
    {
        switch (node.opType())
        {
            case "Reshape":
            {
                final ConstTensor shape = opset < 5 ? ConstTensor.ofLongs(new long[]{node.attrInts("shape",
                    new long[0]).length}, node.attrInts("shape", new long[0])) : input.apply(1);
                if (shape == null)
                {
                    throw ModelException.at(node, "the shape input is missing");
                }
                return Dims.reshape(node, in, shape.longs(), node.attrInt("allowzero", 0) != 0);
            }
            case "Flatten":
                return Dims.flatten(node, in, node.attrInt("axis", 1));
            case "Squeeze":
            {
                final long[] axes = opset >= 13 ? optionalInts(input.apply(1)) : node.attrInts("axes", null);
                return Dims.squeeze(node, in, axes);
            }
            case "Unsqueeze":
            {
                final long[] axes = opset >= 13 ? optionalInts(input.apply(1)) : node.attrInts("axes", null);
                if (axes == null)
                {
                    throw ModelException.at(node, "the axes are missing");
                }
                return Dims.unsqueeze(node, in, axes);
            }
            default:
                return null;
        }
    }

    private static long[] optionalInts(final ConstTensor t)
    {
        return t == null ? null : t.longs();
    }

    private static ConstTensor required(final Node node, final List<ConstTensor> in, final int i)
    {
        final ConstTensor t = i < in.size() ? in.get(i) : null;
        if (t == null)
        {
            throw ModelException.at(node, "required input " + i + " is missing");
        }
        return t;
    }

    private static ConstTensor withDims(final ConstTensor x, final long[] dims)
    {
        return x.isFloat() ? ConstTensor.ofFloats(dims, x.floats()) : ConstTensor.ofLongs(dims, x.longs());
    }

    /** @return a tensor of {@code dims} whose element k is element {@code from[k]} of {@code x}. */
    private static ConstTensor pick(final ConstTensor x, final long[] dims, final int[] from)
    {
        if (x.isFloat())
        {
            final float[] v = x.floats();
            final float[] out = new float[from.length];
            for (int i = 0; i < from.length; i++)
            {
                out[i] = v[from[i]];
            }
            return ConstTensor.ofFloats(dims, out);
        }
        final long[] v = x.longs();
        final long[] out = new long[from.length];
        for (int i = 0; i < from.length; i++)
        {
            out[i] = v[from[i]];
        }
        return ConstTensor.ofLongs(dims, out);
    }

    private static ConstTensor gather(final Node node, final ConstTensor data, final ConstTensor indices)
    {
        final long[] d = data.dims();
        final int axis = Dims.axis(node, node.attrInt("axis", 0), d.length);
        final long[] idx = indices.longs();
        final long[] id = indices.dims();
        final long[] dims = new long[d.length - 1 + id.length];
        System.arraycopy(d, 0, dims, 0, axis);
        System.arraycopy(id, 0, dims, axis, id.length);
        System.arraycopy(d, axis + 1, dims, axis + id.length, d.length - axis - 1);
        final long outer = Dims.count(Arrays.copyOfRange(d, 0, axis));
        final long inner = Dims.count(Arrays.copyOfRange(d, axis + 1, d.length));
        final int[] from = new int[(int)Dims.count(dims)];
        int k = 0;
        for (long o = 0; o < outer; o++)
        {
            for (final long index : idx)
            {
                final long at = index < 0 ? index + d[axis] : index;
                if (at < 0 || at >= d[axis])
                {
                    throw ModelException.at(node, "index " + index + " is out of range for dim " + d[axis]);
                }
                for (long i = 0; i < inner; i++)
                {
                    from[k++] = (int)((o * d[axis] + at) * inner + i);
                }
            }
        }
        return pick(data, dims, from);
    }

    private static ConstTensor concat(final Node node, final List<ConstTensor> in)
    {
        final ConstTensor first = in.get(0);
        final int rank = first.rank();
        final int axis = Dims.axis(node, node.attrInt("axis", 0), rank);
        final long[] dims = first.dims();
        boolean anyFloat = false;
        dims[axis] = 0;
        for (final ConstTensor t : in)
        {
            if (t == null)
            {
                continue;
            }
            final long[] td = t.dims();
            for (int i = 0; i < rank; i++)
            {
                if (td.length != rank || i != axis && td[i] != first.dims()[i])
                {
                    throw ModelException.at(node, "cannot concatenate " + Dims.str(td) + " with " +
                        Dims.str(first.dims()) + " on axis " + axis);
                }
            }
            dims[axis] += td[axis];
            anyFloat |= t.isFloat();
        }
        final long outer = Dims.count(Arrays.copyOfRange(dims, 0, axis));
        final long inner = Dims.count(Arrays.copyOfRange(dims, axis + 1, rank));
        final int n = (int)Dims.count(dims);
        final float[] floats = anyFloat ? new float[n] : null;
        final long[] longs = anyFloat ? null : new long[n];
        int k = 0;
        for (long o = 0; o < outer; o++)
        {
            for (final ConstTensor t : in)
            {
                if (t == null)
                {
                    continue;
                }
                final int block = (int)(t.dims()[axis] * inner);
                final int from = (int)(o * block);
                if (anyFloat)
                {
                    System.arraycopy(t.floats(), from, floats, k, block);
                }
                else
                {
                    System.arraycopy(t.longs(), from, longs, k, block);
                }
                k += block;
            }
        }
        return anyFloat ? ConstTensor.ofFloats(dims, floats) : ConstTensor.ofLongs(dims, longs);
    }

    private static ConstTensor slice(final Node node, final ConstTensor x, final List<ConstTensor> in, final int opset)
    {
        final long[] d = x.dims();
        final long[] starts;
        final long[] ends;
        final long[] axesGiven;
        final long[] stepsGiven;
        if (opset < 10)
        {
            starts = node.attrInts("starts", null);
            ends = node.attrInts("ends", null);
            axesGiven = node.attrInts("axes", null);
            stepsGiven = null;
        }
        else
        {
            starts = required(node, in, 1).longs();
            ends = required(node, in, 2).longs();
            axesGiven = in.size() > 3 && in.get(3) != null ? in.get(3).longs() : null;
            stepsGiven = in.size() > 4 && in.get(4) != null ? in.get(4).longs() : null;
        }
        if (starts == null || ends == null || starts.length != ends.length)
        {
            throw ModelException.at(node, "starts and ends must be given with the same length");
        }
        final long[] begin = new long[d.length];
        final long[] step = new long[d.length];
        final long[] dims = d.clone();
        Arrays.fill(step, 1);
        for (int i = 0; i < starts.length; i++)
        {
            final int axis = Dims.axis(node, axesGiven != null ? axesGiven[i] : i, d.length);
            final long s = stepsGiven != null ? stepsGiven[i] : 1;
            if (s == 0)
            {
                throw ModelException.at(node, "step 0 on axis " + axis);
            }
            final long dim = d[axis];
            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (s > 0)
            {
                start = Math.max(0, Math.min(dim, start));
                end = Math.max(0, Math.min(dim, end));
                dims[axis] = Math.max(0, (end - start + s - 1) / s);
            }
            else
            {
                start = Math.max(0, Math.min(dim - 1, start));
                end = Math.max(-1, Math.min(dim - 1, end));
                dims[axis] = Math.max(0, (start - end + (-s) - 1) / (-s));
            }
            begin[axis] = start;
            step[axis] = s;
        }
        final long[] strides = rowMajorStrides(d);
        final int[] from = new int[(int)Dims.count(dims)];
        for (int k = 0; k < from.length; k++)
        {
            long rest = k;
            long at = 0;
            for (int i = d.length - 1; i >= 0; i--)
            {
                final long c = rest % dims[i];
                rest /= dims[i];
                at += (begin[i] + c * step[i]) * strides[i];
            }
            from[k] = (int)at;
        }
        return pick(x, dims, from);
    }

    private static long[] rowMajorStrides(final long[] dims)
    {
        final long[] strides = new long[dims.length];
        long s = 1;
        for (int i = dims.length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= dims[i];
        }
        return strides;
    }

    private static ConstTensor constantOfShape(final Node node, final ConstTensor shape)
    {
        final long[] dims = shape.longs().clone();
        final int n = (int)Dims.count(dims);
        final ConstTensor value = node.has("value") ? node.attributes().get("value").asTensor() : null;
        if (value == null || value.isFloat())
        {
            final float[] out = new float[n];
            Arrays.fill(out, value == null ? 0.0f : value.floats()[0]);
            return ConstTensor.ofFloats(dims, out);
        }
        final long[] out = new long[n];
        Arrays.fill(out, value.longs()[0]);
        return ConstTensor.ofLongs(dims, out);
    }

    private static ConstTensor range(
        final Node node, final ConstTensor start, final ConstTensor limit, final ConstTensor delta)
    {
        if (!start.isFloat() && !limit.isFloat() && !delta.isFloat())
        {
            final long s = start.longs()[0];
            final long d = delta.longs()[0];
            if (d == 0)
            {
                throw ModelException.at(node, "delta is 0");
            }
            final long n = Math.max(0, (long)Math.ceil((double)(limit.longs()[0] - s) / d));
            final long[] out = new long[(int)n];
            for (int i = 0; i < n; i++)
            {
                out[i] = s + i * d;
            }
            return ConstTensor.ofLongs(new long[]{n}, out);
        }
        final float s = start.floats()[0];
        final float d = delta.floats()[0];
        if (d == 0)
        {
            throw ModelException.at(node, "delta is 0");
        }
        final long n = Math.max(0, (long)Math.ceil((limit.floats()[0] - s) / d));
        final float[] out = new float[(int)n];
        for (int i = 0; i < n; i++)
        {
            out[i] = s + i * d;
        }
        return ConstTensor.ofFloats(new long[]{n}, out);
    }

    private static ConstTensor transpose(final Node node, final ConstTensor x)
    {
        final long[] d = x.dims();
        final long[] perm = node.attrInts("perm", null);
        final int rank = d.length;
        final int[] p = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            p[i] = perm == null ? rank - 1 - i : Dims.axis(node, perm[i], rank);
        }
        if (perm != null && perm.length != rank)
        {
            throw ModelException.at(node, "perm " + Arrays.toString(perm) + " does not match rank " + rank);
        }
        final long[] dims = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = d[p[i]];
        }
        final long[] inStrides = rowMajorStrides(d);
        final int[] from = new int[x.size()];
        for (int k = 0; k < from.length; k++)
        {
            long rest = k;
            long at = 0;
            for (int i = rank - 1; i >= 0; i--)
            {
                final long c = rest % dims[i];
                rest /= dims[i];
                at += c * inStrides[p[i]];
            }
            from[k] = (int)at;
        }
        return pick(x, dims, from);
    }

    private static ConstTensor expand(final Node node, final ConstTensor x, final ConstTensor shape)
    {
        final long[] dims = Dims.broadcast(x.dims(), shape.longs());
        if (dims == null)
        {
            throw ModelException.at(node, "cannot expand " + Dims.str(x.dims()) + " to " + Dims.str(shape.longs()));
        }
        return broadcastTo(x, dims);
    }

    private static ConstTensor broadcastTo(final ConstTensor x, final long[] dims)
    {
        final long[] strides = Dims.broadcastStrides(x.dims(), dims.length);
        final int[] from = new int[(int)Dims.count(dims)];
        for (int k = 0; k < from.length; k++)
        {
            from[k] = (int)Dims.sourceIndex(k, dims, strides);
        }
        return pick(x, dims, from);
    }

    static ConstTensor where(final Node node, final ConstTensor c, final ConstTensor x, final ConstTensor y)
    {
        final long[] xy = Dims.broadcast(x.dims(), y.dims());
        final long[] dims = xy == null ? null : Dims.broadcast(c.dims(), xy);
        if (dims == null)
        {
            throw ModelException.at(node, "cannot broadcast " + Dims.str(c.dims()) + ", " + Dims.str(x.dims()) +
                " and " + Dims.str(y.dims()));
        }
        final long[] cond = broadcastTo(c, dims).longs();
        final boolean asFloat = x.isFloat() || y.isFloat();
        final ConstTensor bx = broadcastTo(x, dims);
        final ConstTensor by = broadcastTo(y, dims);
        if (asFloat)
        {
            final float[] out = new float[cond.length];
            for (int i = 0; i < out.length; i++)
            {
                out[i] = cond[i] != 0 ? bx.floats()[i] : by.floats()[i];
            }
            return ConstTensor.ofFloats(dims, out);
        }
        final long[] out = new long[cond.length];
        for (int i = 0; i < out.length; i++)
        {
            out[i] = cond[i] != 0 ? bx.longs()[i] : by.longs()[i];
        }
        return ConstTensor.ofLongs(dims, out);
    }

}
