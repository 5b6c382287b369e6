package org.coedge.engine.cli;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.InvalidProtocolBufferException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.coedge.kernels.Activation;
import org.coedge.kernels.ConvParams;
import org.coedge.kernels.ConvReference;
import org.coedge.kernels.Elementwise;
import org.coedge.kernels.GlobalPooling;
import org.coedge.kernels.OpsReference;
import org.coedge.kernels.PoolParams;
import org.coedge.kernels.Pooling;

/**
 * The reference side of the model check of {@code coedge selftest}: evaluates an ONNX graph node by node, straight
 * from the ONNX definitions, with the naive references ({@link ConvReference}, {@link OpsReference}) on whole NHWC
 * maps, without the engine's import, folding, fusion, lowering or arena. Knows the operators of
 * {@link org.coedge.engine.zoo.SelfTestNet} (Conv, BatchNormalization, Relu, Clip, MaxPool, AveragePool, Add, Concat,
 * GlobalAveragePool, Flatten, Gemm) with batch 1; anything else is refused.
 * <p>
 * Holds every value of one evaluation; runs on the calling thread, cold path.
 */
final class SelfTestModel
{
    private final Map<String, Map3> values = new HashMap<>();
    private final Map<String, float[]> initializers = new HashMap<>();

    /** An NHWC map of batch 1. */
    private record Map3(int h, int w, int c, float[] data)
    {
    }

    /**
     * @param model     the serialised ONNX model.
     * @param inputDims dims of its first input, {@code [1, C, H, W]}.
     * @param inputNchw the first input's floats, NCHW.
     * @return the first output's floats (the self-test model's output is flat, so NCHW and NHWC agree).
     */
    static float[] evaluate(final byte[] model, final long[] inputDims, final float[] inputNchw)
    {
        try
        {
            return new SelfTestModel().run(ModelProto.parseFrom(model), inputDims, inputNchw);
        }
        catch (final InvalidProtocolBufferException e)
        {
            throw new IllegalArgumentException("self-test model does not parse: " + e.getMessage(), e);
        }
    }

    private float[] run(final ModelProto model, final long[] dims, final float[] nchw)
    {
        for (final TensorProto t : model.getGraph().getInitializerList())
        {
            final ByteBuffer raw = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            final float[] f = new float[raw.remaining() / Float.BYTES];
            raw.asFloatBuffer().get(f);
            initializers.put(t.getName(), f);
        }
        final int c = (int)dims[1];
        final int h = (int)dims[2];
        final int w = (int)dims[3];
        final float[] nhwc = new float[nchw.length];
        for (int ch = 0; ch < c; ch++)
        {
            for (int p = 0; p < h * w; p++)
            {
                nhwc[p * c + ch] = nchw[ch * h * w + p];
            }
        }
        values.put(model.getGraph().getInput(0).getName(), new Map3(h, w, c, nhwc));
        for (final NodeProto node : model.getGraph().getNodeList())
        {
            values.put(node.getOutput(0), evaluate(node));
        }
        return values.get(model.getGraph().getOutput(0).getName()).data();
    }

    private Map3 evaluate(final NodeProto node)
    {
        final Map3 x = values.get(node.getInput(0));
        switch (node.getOpType())
        {
            case "Conv":
                return conv(node, x);
            case "BatchNormalization":
                return batchNorm(node, x);
            case "Relu":
                return new Map3(x.h, x.w, x.c, OpsReference.activation(x.data, Activation.RELU));
            case "Clip":
                return new Map3(x.h, x.w, x.c, OpsReference.activation(x.data,
                    Activation.clip(weights(node, 1)[0], weights(node, 2)[0])));
            case "MaxPool":
            case "AveragePool":
                return pool(node, x);
            case "Add":
            {
                final Map3 y = values.get(node.getInput(1));
                return new Map3(x.h, x.w, x.c, OpsReference.elementwise(Elementwise.Op.ADD, x.data,
                    new int[]{ x.h, x.w, x.c }, y.data, new int[]{ y.h, y.w, y.c }, Activation.NONE));
            }
            case "Concat":
                return concat(node, x);
            case "GlobalAveragePool":
                return new Map3(1, 1, x.c, OpsReference.globalPool(GlobalPooling.Kind.AVERAGE, x.data, x.h, x.w, x.c));
            case "Flatten":
                if (x.h != 1 || x.w != 1)
                {
                    throw new IllegalArgumentException("self-test reference flattens only 1x1 maps");
                }
                return x;
            case "Gemm":
                return gemm(node, x);
            default:
                throw new IllegalArgumentException("self-test reference has no " + node.getOpType());
        }
    }

    private Map3 conv(final NodeProto node, final Map3 x)
    {
        final float[] w = weights(node, 1);
        final long[] kernel = ints(node, "kernel_shape", null);
        final long[] strides = ints(node, "strides", new long[]{ 1, 1 });
        final long[] pads = ints(node, "pads", new long[]{ 0, 0, 0, 0 });
        final int group = (int)ints(node, "group", new long[]{ 1 })[0];
        final int cout = w.length / (x.c / group * (int)kernel[0] * (int)kernel[1]);
        final ConvParams p = ConvParams.conv(x.c, cout, (int)kernel[0], (int)kernel[1]).groups(group)
            .stride((int)strides[0], (int)strides[1]).pads((int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3])
            .build();
        final float[] bias = node.getInputCount() > 2 ? weights(node, 2) : null;
        return new Map3(p.outputHeight(x.h), p.outputWidth(x.w), cout,
            ConvReference.conv(x.data, x.h, x.w, p, w, bias, Activation.NONE));
    }

    private Map3 batchNorm(final NodeProto node, final Map3 x)
    {
        final float[] gamma = weights(node, 1);
        final float[] beta = weights(node, 2);
        final float[] mean = weights(node, 3);
        final float[] var = weights(node, 4);
        double epsilon = 1e-5;
        for (final AttributeProto a : node.getAttributeList())
        {
            if (a.getName().equals("epsilon"))
            {
                epsilon = a.getF();
            }
        }
        final float[] y = new float[x.data.length];
        for (int i = 0; i < y.length; i++)
        {
            final int ch = i % x.c;
            y[i] = (float)(gamma[ch] * (x.data[i] - mean[ch]) / Math.sqrt(var[ch] + epsilon) + beta[ch]);
        }
        return new Map3(x.h, x.w, x.c, y);
    }

    private Map3 pool(final NodeProto node, final Map3 x)
    {
        final long[] kernel = ints(node, "kernel_shape", null);
        final long[] strides = ints(node, "strides", new long[]{ 1, 1 });
        final long[] pads = ints(node, "pads", new long[]{ 0, 0, 0, 0 });
        final boolean ceil = ints(node, "ceil_mode", new long[]{ 0 })[0] != 0;
        final boolean includePad = ints(node, "count_include_pad", new long[]{ 0 })[0] != 0;
        final PoolParams p = new PoolParams((int)kernel[0], (int)kernel[1], (int)strides[0], (int)strides[1], 1, 1,
            (int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3], ceil, includePad);
        final Pooling.Kind kind = node.getOpType().equals("MaxPool") ? Pooling.Kind.MAX : Pooling.Kind.AVERAGE;
        return new Map3(p.outputHeight(x.h), p.outputWidth(x.w), x.c, OpsReference.pool(kind, x.data, x.h, x.w, x.c,
            p));
    }

    private Map3 concat(final NodeProto node, final Map3 x)
    {
        final List<String> names = node.getInputList();
        final float[][] parts = new float[names.size()][];
        final int[] channels = new int[names.size()];
        int total = 0;
        for (int i = 0; i < parts.length; i++)
        {
            final Map3 part = values.get(names.get(i));
            parts[i] = part.data;
            channels[i] = part.c;
            total += part.c;
        }
        return new Map3(x.h, x.w, total, OpsReference.concat(parts, x.h, x.w, channels));
    }

    private Map3 gemm(final NodeProto node, final Map3 x)
    {
        final float[] b = weights(node, 1);
        final float[] c = node.getInputCount() > 2 ? weights(node, 2) : null;
        float alpha = 1f;
        float beta = 1f;
        boolean transB = false;
        for (final AttributeProto a : node.getAttributeList())
        {
            switch (a.getName())
            {
                case "alpha":
                    alpha = a.getF();
                    break;
                case "beta":
                    beta = a.getF();
                    break;
                case "transB":
                    transB = a.getI() != 0;
                    break;
                default:
                    throw new IllegalArgumentException("self-test reference has no Gemm " + a.getName());
            }
        }
        final int k = x.c;
        final int n = b.length / k;
        return new Map3(1, 1, n, OpsReference.gemm(x.data, 1, k, b, n, transB, alpha, c, beta, Activation.NONE));
    }

    private float[] weights(final NodeProto node, final int input)
    {
        final float[] w = initializers.get(node.getInput(input));
        if (w == null)
        {
            throw new IllegalArgumentException(node.getName() + ": input " + node.getInput(input) +
                " is not an initializer");
        }
        return w;
    }

    private static long[] ints(final NodeProto node, final String name, final long[] orElse)
    {
        for (final AttributeProto a : node.getAttributeList())
        {
            if (a.getName().equals(name))
            {
                return a.getIntsCount() > 0 ? a.getIntsList().stream().mapToLong(Long::longValue).toArray() :
                    new long[]{ a.getI() };
            }
        }
        if (orElse == null)
        {
            throw new IllegalArgumentException(node.getName() + ": attribute " + name + " is required");
        }
        return orElse;
    }
}
