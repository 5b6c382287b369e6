package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.UnsafeByteOperations;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Builds one ONNX model of the zoo, layer by layer, tracking each activation's shape so that weights get the right
 * dimensions and fan-in. Owns the graph under construction and the random stream its weights are drawn from; the
 * weights are therefore a pure function of the seed and the order of calls. Used by {@link ModelZoo} on the calling
 * thread, once per model.
 * <p>
 * Weights are written straight into little-endian {@code raw_data} byte arrays that protobuf wraps without copying,
 * so a model costs its weight bytes once while it is defined, and once more when it is serialised.
 */
final class ZooGraphBuilder
{
    static final int OPSET_VERSION = 13;
    static final long IR_VERSION = 8;
    static final String INPUT_NAME = "input";
    static final String OUTPUT_NAME = "output";

    /** Standard-deviation gain for a layer whose output goes through a ReLU (He et al. 2015). */
    static final double RELU_GAIN = Math.sqrt(2.0);
    /** Standard-deviation gain for a linear layer: keeps the second moment of its input. */
    static final double LINEAR_GAIN = 1.0;

    private static final VarHandle FLOAT_LE = MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final String RELU6_MIN = "relu6.min";
    private static final String RELU6_MAX = "relu6.max";
    private static final double BIAS_BOUND = 0.05;

    private final String graphName;
    private final SplittableRandom random;
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final List<NodeProto.Builder> nodes = new ArrayList<>();
    private final Set<String> nodeNames = new HashSet<>();
    private boolean hasRelu6Bounds;

    ZooGraphBuilder(final String graphName, final long seed)
    {
        this.graphName = graphName;
        this.random = new SplittableRandom(seed);
    }

    Act input(final int channels, final int height, final int width)
    {
        graph.addInput(valueInfo(INPUT_NAME, 1, channels, height, width));
        return new Act(INPUT_NAME, channels, height, width);
    }

    /**
     * Square-kernel convolution with symmetric padding. Weights are uniform with standard deviation
     * {@code gain / sqrt(fanIn)}; the bias, when present, is small and uniform.
     */
    Act conv(
        final String name,
        final Act x,
        final int outChannels,
        final int kernel,
        final int stride,
        final int pad,
        final int group,
        final boolean bias,
        final double gain)
    {
        if (x.channels() % group != 0 || outChannels % group != 0)
        {
            throw new IllegalArgumentException(name + ": channels " + x.channels() + "->" + outChannels +
                " not divisible by group " + group);
        }
        final int fanIn = x.channels() / group * kernel * kernel;
        final String weight = name + ".weight";
        uniform(weight, new long[]{ outChannels, x.channels() / group, kernel, kernel }, heBound(fanIn, gain));
        final NodeProto.Builder node = node("Conv", name, x.name(), weight);
        if (bias)
        {
            final String biasName = name + ".bias";
            uniform(biasName, new long[]{ outChannels }, BIAS_BOUND);
            node.addInput(biasName);
        }
        node.addAttribute(ints("kernel_shape", kernel, kernel))
            .addAttribute(ints("strides", stride, stride))
            .addAttribute(ints("pads", pad, pad, pad, pad))
            .addAttribute(intAttr("group", group));
        return new Act(name, outChannels, windowOut(x.height(), kernel, stride, pad, false),
            windowOut(x.width(), kernel, stride, pad, false));
    }

    /**
     * Inference-mode batch normalisation with statistics near the identity, so that folding it into the preceding
     * convolution is exercised without changing the scale of the activations much; {@code gammaScale} shrinks the
     * learned scale where a residual branch should add only a fraction of its input's magnitude.
     */
    Act batchNorm(final String name, final Act x, final double gammaScale)
    {
        final long[] dims = { x.channels() };
        uniformRange(name + ".gamma", dims, 0.75 * gammaScale, 1.25 * gammaScale);
        uniformRange(name + ".beta", dims, -0.1, 0.1);
        uniformRange(name + ".mean", dims, -0.1, 0.1);
        uniformRange(name + ".var", dims, 0.75, 1.25);
        node("BatchNormalization", name, x.name(), name + ".gamma", name + ".beta", name + ".mean", name + ".var")
            .addAttribute(floatAttr("epsilon", 1e-5f));
        return rename(x, name);
    }

    Act relu(final String name, final Act x)
    {
        node("Relu", name, x.name());
        return rename(x, name);
    }

    /** ReLU6 as {@code Clip} with its bounds as constant inputs, the only form opset 13 allows. */
    Act relu6(final String name, final Act x)
    {
        if (!hasRelu6Bounds)
        {
            graph.addInitializer(scalar(RELU6_MIN, 0.0f));
            graph.addInitializer(scalar(RELU6_MAX, 6.0f));
            hasRelu6Bounds = true;
        }
        node("Clip", name, x.name(), RELU6_MIN, RELU6_MAX);
        return rename(x, name);
    }

    /** Local response normalisation across channels, parameters as in the ONNX operator. */
    Act lrn(final String name, final Act x, final int size, final float alpha, final float beta, final float bias)
    {
        node("LRN", name, x.name())
            .addAttribute(intAttr("size", size))
            .addAttribute(floatAttr("alpha", alpha))
            .addAttribute(floatAttr("beta", beta))
            .addAttribute(floatAttr("bias", bias));
        return rename(x, name);
    }

    Act maxPool(final String name, final Act x, final int kernel, final int stride, final int pad, final boolean ceil)
    {
        node("MaxPool", name, x.name())
            .addAttribute(ints("kernel_shape", kernel, kernel))
            .addAttribute(ints("strides", stride, stride))
            .addAttribute(ints("pads", pad, pad, pad, pad))
            .addAttribute(intAttr("ceil_mode", ceil ? 1 : 0));
        return new Act(name, x.channels(), windowOut(x.height(), kernel, stride, pad, ceil),
            windowOut(x.width(), kernel, stride, pad, ceil));
    }

    Act averagePool(final String name, final Act x, final int kernel, final int stride)
    {
        node("AveragePool", name, x.name())
            .addAttribute(ints("kernel_shape", kernel, kernel))
            .addAttribute(ints("strides", stride, stride));
        return new Act(name, x.channels(), windowOut(x.height(), kernel, stride, 0, false),
            windowOut(x.width(), kernel, stride, 0, false));
    }

    Act globalAveragePool(final String name, final Act x)
    {
        node("GlobalAveragePool", name, x.name());
        return new Act(name, x.channels(), 1, 1);
    }

    /** Channel concatenation; every part must have the same height and width. */
    Act concat(final String name, final List<Act> parts)
    {
        final NodeProto.Builder node = node("Concat", name).addAttribute(intAttr("axis", 1));
        final Act first = parts.get(0);
        int channels = 0;
        for (final Act part : parts)
        {
            if (part.height() != first.height() || part.width() != first.width())
            {
                throw new IllegalArgumentException(name + ": " + part + " does not match " + first);
            }
            node.addInput(part.name());
            channels += part.channels();
        }
        return new Act(name, channels, first.height(), first.width());
    }

    /** Elementwise sum of two activations of identical shape (a residual connection). */
    Act add(final String name, final Act a, final Act b)
    {
        if (a.channels() != b.channels() || a.height() != b.height() || a.width() != b.width())
        {
            throw new IllegalArgumentException(name + ": " + a + " and " + b + " differ in shape");
        }
        node("Add", name, a.name(), b.name());
        return rename(a, name);
    }

    Act flatten(final String name, final Act x)
    {
        node("Flatten", name, x.name()).addAttribute(intAttr("axis", 1));
        return new Act(name, x.features(), 1, 1);
    }

    /** Fully-connected layer {@code y = x * W^T + b} with {@code W} stored as [out, in] ({@code transB = 1}). */
    Act gemm(final String name, final Act x, final int outFeatures, final double gain)
    {
        final int fanIn = x.features();
        uniform(name + ".weight", new long[]{ outFeatures, fanIn }, heBound(fanIn, gain));
        uniform(name + ".bias", new long[]{ outFeatures }, BIAS_BOUND);
        node("Gemm", name, x.name(), name + ".weight", name + ".bias")
            .addAttribute(floatAttr("alpha", 1.0f))
            .addAttribute(floatAttr("beta", 1.0f))
            .addAttribute(intAttr("transB", 1));
        return new Act(name, outFeatures, 1, 1);
    }

    /**
     * Ends the model: the value produced last becomes the graph output {@code "output"} of shape [1, features].
     *
     * @param last the activation produced by the last node added.
     * @return the model, referring to (not copying) the weight arrays.
     */
    ModelProto finish(final Act last)
    {
        final NodeProto.Builder producer = nodes.get(nodes.size() - 1);
        if (!producer.getOutput(0).equals(last.name()) || last.height() != 1 || last.width() != 1)
        {
            throw new IllegalStateException(graphName + ": " + last + " is not the last node's flat output");
        }
        producer.setOutput(0, OUTPUT_NAME);
        graph.addOutput(valueInfo(OUTPUT_NAME, 1, last.channels()));
        return build();
    }

    /**
     * Ends a multi-exit model: each of {@code exits}, a flat activation no node reads, becomes a graph output of shape
     * [1, features] named by {@code names}, in that order.
     *
     * @return the model, referring to (not copying) the weight arrays.
     */
    ModelProto finishExits(final List<Act> exits, final List<String> names)
    {
        if (exits.size() != names.size())
        {
            throw new IllegalArgumentException(graphName + ": " + exits.size() + " exits, " + names.size() + " names");
        }
        for (int i = 0; i < exits.size(); i++)
        {
            final Act exit = exits.get(i);
            NodeProto.Builder producer = null;
            for (final NodeProto.Builder node : nodes)
            {
                if (node.getInputList().contains(exit.name()))
                {
                    throw new IllegalStateException(graphName + ": exit " + exit + " is read by " + node.getName());
                }
                if (node.getOutput(0).equals(exit.name()))
                {
                    producer = node;
                }
            }
            if (producer == null || exit.height() != 1 || exit.width() != 1)
            {
                throw new IllegalStateException(graphName + ": " + exit + " is not a node's flat output");
            }
            producer.setOutput(0, names.get(i));
            graph.addOutput(valueInfo(names.get(i), 1, exit.channels()));
        }
        return build();
    }

    private ModelProto build()
    {
        for (final NodeProto.Builder node : nodes)
        {
            graph.addNode(node);
        }
        graph.setName(graphName);
        return ModelProto.newBuilder()
            .setIrVersion(IR_VERSION)
            .setProducerName("coedge-zoo")
            .setModelVersion(1)
            .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET_VERSION))
            .setGraph(graph)
            .build();
    }

    /**
     * Output size of a sliding window along one axis, as ONNX defines it: with {@code ceil} the last window may hang
     * over the end, but must still start inside the input or its leading padding.
     */
    static int windowOut(final int in, final int kernel, final int stride, final int pad, final boolean ceil)
    {
        final int span = in + 2 * pad - kernel;
        if (span < 0)
        {
            throw new IllegalArgumentException("window " + kernel + " larger than padded input " + (in + 2 * pad));
        }
        int out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (out - 1) * stride >= in + pad)
        {
            out--;
        }
        return out;
    }

    private static double heBound(final int fanIn, final double gain)
    {
        // A uniform on [-b, b] has standard deviation b / sqrt(3).
        return Math.sqrt(3.0) * gain / Math.sqrt(fanIn);
    }

    private Act rename(final Act x, final String name)
    {
        return new Act(name, x.channels(), x.height(), x.width());
    }

    private NodeProto.Builder node(final String opType, final String name, final String... inputs)
    {
        if (!nodeNames.add(name))
        {
            throw new IllegalArgumentException(graphName + ": duplicate node name " + name);
        }
        final NodeProto.Builder node = NodeProto.newBuilder().setName(name).setOpType(opType).addOutput(name);
        for (final String input : inputs)
        {
            node.addInput(input);
        }
        nodes.add(node);
        return node;
    }

    private void uniform(final String name, final long[] dims, final double bound)
    {
        uniformRange(name, dims, -bound, bound);
    }

    private void uniformRange(final String name, final long[] dims, final double low, final double high)
    {
        long count = 1;
        for (final long d : dims)
        {
            count *= d;
        }
        if (count > Integer.MAX_VALUE / Float.BYTES)
        {
            throw new IllegalArgumentException(name + ": " + count + " elements do not fit one raw_data array");
        }
        final byte[] raw = new byte[(int)count * Float.BYTES];
        for (int offset = 0; offset < raw.length; offset += Float.BYTES)
        {
            FLOAT_LE.set(raw, offset, (float)random.nextDouble(low, high));
        }
        final TensorProto.Builder tensor = TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.FLOAT.getNumber());
        for (final long d : dims)
        {
            tensor.addDims(d);
        }
        graph.addInitializer(tensor.setRawData(UnsafeByteOperations.unsafeWrap(raw)));
    }

    private static TensorProto scalar(final String name, final float value)
    {
        final byte[] raw = new byte[Float.BYTES];
        FLOAT_LE.set(raw, 0, value);
        return TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.FLOAT.getNumber())
            .setRawData(UnsafeByteOperations.unsafeWrap(raw))
            .build();
    }

    private static ValueInfoProto valueInfo(final String name, final long... dims)
    {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final long d : dims)
        {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
            .setName(name)
            .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(TensorProto.DataType.FLOAT.getNumber())
                .setShape(shape)))
            .build();
    }

    private static AttributeProto ints(final String name, final long... values)
    {
        final AttributeProto.Builder attribute = AttributeProto.newBuilder()
            .setName(name)
            .setType(AttributeProto.AttributeType.INTS);
        for (final long v : values)
        {
            attribute.addInts(v);
        }
        return attribute.build();
    }

    private static AttributeProto intAttr(final String name, final long value)
    {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    private static AttributeProto floatAttr(final String name, final float value)
    {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(value).build();
    }
}
