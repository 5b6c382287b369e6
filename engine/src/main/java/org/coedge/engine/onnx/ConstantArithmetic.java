package org.coedge.engine.onnx;

import java.util.List;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * The element-wise arithmetic of {@link ConstantFolder}: binary operators with broadcasting, unary operators, Cast,
 * the variadic Min / Max / Sum and Clip, on constant tensors, with integer data in 64 bits and floating data in 32
 * bits as ONNX Runtime computes int64 and float tensors. Stateless; the loading thread.
 */
final class ConstantArithmetic
{
    private ConstantArithmetic()
    {
    }

    static ConstTensor binary(final Node node, final String op, final ConstTensor a, final ConstTensor b)
    {
        final long[] dims = Dims.broadcast(a.dims(), b.dims());
        if (dims == null)
        {
            throw ModelException.at(node, "cannot broadcast " + Dims.str(a.dims()) + " with " + Dims.str(b.dims()));
        }
        final int n = (int)Dims.count(dims);
        final long[] sa = Dims.broadcastStrides(a.dims(), dims.length);
        final long[] sb = Dims.broadcastStrides(b.dims(), dims.length);
        final boolean compare = op.startsWith("Equal") || op.startsWith("Less") || op.startsWith("Greater");
        final boolean logical = "And".equals(op) || "Or".equals(op) || "Xor".equals(op);
        if (!a.isFloat() && !b.isFloat() || logical)
        {
            final long[] x = a.longs();
            final long[] y = b.longs();
            final long[] out = new long[n];
            for (int i = 0; i < n; i++)
            {
                out[i] = applyLong(node, op, x[(int)Dims.sourceIndex(i, dims, sa)],
                    y[(int)Dims.sourceIndex(i, dims, sb)]);
            }
            return ConstTensor.ofLongs(dims, out);
        }
        final float[] x = a.floats();
        final float[] y = b.floats();
        if (compare)
        {
            final long[] out = new long[n];
            for (int i = 0; i < n; i++)
            {
                out[i] = (long)applyFloat(op, x[(int)Dims.sourceIndex(i, dims, sa)],
                    y[(int)Dims.sourceIndex(i, dims, sb)]);
            }
            return ConstTensor.ofLongs(dims, out);
        }
        final float[] out = new float[n];
        for (int i = 0; i < n; i++)
        {
            out[i] = applyFloat(op, x[(int)Dims.sourceIndex(i, dims, sa)], y[(int)Dims.sourceIndex(i, dims, sb)]);
        }
        return ConstTensor.ofFloats(dims, out);
    }

    private static long applyLong(final Node node, final String op, final long x, final long y)
    {
        switch (op)
        {
            case "Add":
                return x + y;
            case "Sub":
                return x - y;
            case "Mul":
                return x * y;
            case "Div":
            case "Mod":
                if (y == 0)
                {
                    throw ModelException.at(node, "integer division by zero");
                }
                return "Div".equals(op) ? x / y : Math.floorMod(x, y);
            case "Pow":
                long r = 1;
                for (long k = 0; k < y; k++)
                {
                    r *= x;
                }
                return r;
            case "Equal":
                return x == y ? 1 : 0;
            case "Less":
                return x < y ? 1 : 0;
            case "Greater":
                return x > y ? 1 : 0;
            case "LessOrEqual":
                return x <= y ? 1 : 0;
            case "GreaterOrEqual":
                return x >= y ? 1 : 0;
            case "And":
                return x != 0 && y != 0 ? 1 : 0;
            case "Or":
                return x != 0 || y != 0 ? 1 : 0;
            default:
                return (x != 0) != (y != 0) ? 1 : 0;
        }
    }

    private static float applyFloat(final String op, final float x, final float y)
    {
        switch (op)
        {
            case "Add":
                return x + y;
            case "Sub":
                return x - y;
            case "Mul":
                return x * y;
            case "Div":
                return x / y;
            case "Mod":
                return x % y;
            case "Pow":
                return (float)Math.pow(x, y);
            case "Equal":
                return x == y ? 1 : 0;
            case "Less":
                return x < y ? 1 : 0;
            case "Greater":
                return x > y ? 1 : 0;
            case "LessOrEqual":
                return x <= y ? 1 : 0;
            default:
                return x >= y ? 1 : 0;
        }
    }

    static ConstTensor unary(final String op, final ConstTensor x)
    {
        final long[] dims = x.dims();
        if (!x.isFloat() && Set.of("Neg", "Abs", "Floor", "Ceil", "Round", "Relu", "Not", "Sign").contains(op))
        {
            final long[] v = x.longs();
            final long[] out = new long[v.length];
            for (int i = 0; i < v.length; i++)
            {
                out[i] = applyLong(op, v[i]);
            }
            return ConstTensor.ofLongs(dims, out);
        }
        final float[] v = x.floats();
        final float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++)
        {
            out[i] = applyFloat(op, v[i]);
        }
        return "Not".equals(op) ? cast(null, ConstTensor.ofFloats(dims, out), OnnxMl.TensorProto.DataType.BOOL_VALUE) :
            ConstTensor.ofFloats(dims, out);
    }

    private static long applyLong(final String op, final long v)
    {
        switch (op)
        {
            case "Neg":
                return -v;
            case "Abs":
                return Math.abs(v);
            case "Relu":
                return Math.max(0, v);
            case "Not":
                return v == 0 ? 1 : 0;
            case "Sign":
                return Long.signum(v);
            default:
                return v;
        }
    }

    private static float applyFloat(final String op, final float v)
    {
        switch (op)
        {
            case "Neg":
                return -v;
            case "Abs":
                return Math.abs(v);
            case "Floor":
                return (float)Math.floor(v);
            case "Ceil":
                return (float)Math.ceil(v);
            case "Round":
                return (float)Math.rint(v);
            case "Sqrt":
                return (float)Math.sqrt(v);
            case "Reciprocal":
                return 1.0f / v;
            case "Exp":
                return (float)Math.exp(v);
            case "Log":
                return (float)Math.log(v);
            case "Relu":
                return Math.max(0.0f, v);
            case "Sigmoid":
                return (float)(1.0 / (1.0 + Math.exp(-v)));
            case "Tanh":
                return (float)Math.tanh(v);
            case "Not":
                return v == 0 ? 1 : 0;
            default:
                return Math.signum(v);
        }
    }

    /** @param node for error messages; may be null where the target type is known to be valid. */
    static ConstTensor cast(final Node node, final ConstTensor x, final long to)
    {
        final long[] dims = x.dims();
        switch ((int)to)
        {
            case OnnxMl.TensorProto.DataType.FLOAT_VALUE:
            case OnnxMl.TensorProto.DataType.DOUBLE_VALUE:
            case OnnxMl.TensorProto.DataType.FLOAT16_VALUE:
            case OnnxMl.TensorProto.DataType.BFLOAT16_VALUE:
                return ConstTensor.ofFloats(dims, x.floats());
            case OnnxMl.TensorProto.DataType.INT64_VALUE:
            case OnnxMl.TensorProto.DataType.UINT64_VALUE:
            case OnnxMl.TensorProto.DataType.INT32_VALUE:
            case OnnxMl.TensorProto.DataType.UINT32_VALUE:
            case OnnxMl.TensorProto.DataType.INT16_VALUE:
            case OnnxMl.TensorProto.DataType.UINT16_VALUE:
            case OnnxMl.TensorProto.DataType.INT8_VALUE:
            case OnnxMl.TensorProto.DataType.UINT8_VALUE:
            case OnnxMl.TensorProto.DataType.BOOL_VALUE:
            {
                final long[] out = new long[x.size()];
                if (x.isFloat())
                {
                    final float[] v = x.floats();
                    for (int i = 0; i < out.length; i++)
                    {
                        out[i] = narrow(to == OnnxMl.TensorProto.DataType.BOOL_VALUE ? (v[i] != 0 ? 1 : 0) :
                            (long)v[i], (int)to);
                    }
                }
                else
                {
                    final long[] v = x.longs();
                    for (int i = 0; i < out.length; i++)
                    {
                        out[i] = narrow(v[i], (int)to);
                    }
                }
                return ConstTensor.ofLongs(dims, out);
            }
            default:
                throw node == null ? new ModelException("cannot cast to type " + OnnxImporter.typeName((int)to)) :
                    ModelException.at(node, "cannot cast to type " + OnnxImporter.typeName((int)to));
        }
    }

    /** Wraps like a C cast to the narrower type, as ONNX Runtime does (e.g. INT64_MAX cast to int32 is -1). */
    private static long narrow(final long v, final int to)
    {
        switch (to)
        {
            case OnnxMl.TensorProto.DataType.INT32_VALUE:
                return (int)v;
            case OnnxMl.TensorProto.DataType.UINT32_VALUE:
                return v & 0xFFFF_FFFFL;
            case OnnxMl.TensorProto.DataType.INT16_VALUE:
                return (short)v;
            case OnnxMl.TensorProto.DataType.UINT16_VALUE:
                return v & 0xFFFF;
            case OnnxMl.TensorProto.DataType.INT8_VALUE:
                return (byte)v;
            case OnnxMl.TensorProto.DataType.UINT8_VALUE:
                return v & 0xFF;
            case OnnxMl.TensorProto.DataType.BOOL_VALUE:
                return v != 0 ? 1 : 0;
            default:
                return v;
        }
    }

    static ConstTensor variadic(final Node node, final String op, final List<ConstTensor> in)
    {
        ConstTensor acc = null;
        for (final ConstTensor t : in)
        {
            if (t == null)
            {
                continue;
            }
            acc = acc == null ? t : minMaxSum(node, op, acc, t);
        }
        return acc;
    }

    private static ConstTensor minMaxSum(final Node node, final String op, final ConstTensor a, final ConstTensor b)
    {
        if ("Sum".equals(op))
        {
            return binary(node, "Add", a, b);
        }
        final ConstTensor less = binary(node, "Less", a, b);
        final ConstTensor pickA = "Min".equals(op) ? less : unary("Not", less);
        return ConstantFolder.where(node, pickA, a, b);
    }

    static ConstTensor clip(final Node node, final ConstTensor x, final List<ConstTensor> in, final int opset)
    {
        final ConstTensor lo;
        final ConstTensor hi;
        if (opset < 11)
        {
            lo = ConstTensor.ofFloats(new long[0], new float[]{node.attrFloat("min", Float.NEGATIVE_INFINITY)});
            hi = ConstTensor.ofFloats(new long[0], new float[]{node.attrFloat("max", Float.POSITIVE_INFINITY)});
        }
        else
        {
            lo = in.size() > 1 ? in.get(1) : null;
            hi = in.size() > 2 ? in.get(2) : null;
        }
        ConstTensor out = x;
        if (lo != null)
        {
            out = minMaxSum(node, "Max", out, lo);
        }
        if (hi != null)
        {
            out = minMaxSum(node, "Min", out, hi);
        }
        return out;
    }
}
