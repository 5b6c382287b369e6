package org.coedge.jmh;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Writes a one-layer ONNX model, {@code y = Relu(Conv(x, w, b))} in NCHW, for one {@link ConvLayerShape}: the layer
 * on its own as ONNX Runtime would run it inside a model. Stateless; called from benchmark setup.
 */
final class SingleConvOnnx
{
    static final String INPUT = "x";
    static final String OUTPUT = "y";

    private SingleConvOnnx()
    {
    }

    /**
     * @param shape   the layer.
     * @param weights ONNX layout {@code [Cout, Cin / groups, k, k]}.
     * @param bias    {@code [Cout]}.
     * @return the serialised model (opset 13).
     */
    static byte[] build(final ConvLayerShape shape, final float[] weights, final float[] bias)
    {
        final int k = shape.kernel();
        final int pad = k / 2;
        final NodeProto conv = NodeProto.newBuilder()
            .setName("conv").setOpType("Conv")
            .addInput(INPUT).addInput("w").addInput("b").addOutput("c")
            .addAttribute(ints("kernel_shape", k, k))
            .addAttribute(ints("strides", shape.stride(), shape.stride()))
            .addAttribute(ints("pads", pad, pad, pad, pad))
            .addAttribute(AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT)
                .setI(shape.groups()))
            .build();
        final NodeProto relu = NodeProto.newBuilder()
            .setName("relu").setOpType("Relu").addInput("c").addOutput(OUTPUT).build();
        final GraphProto graph = GraphProto.newBuilder()
            .setName(shape.name())
            .addNode(conv)
            .addNode(relu)
            .addInitializer(tensor("w", weights, shape.outC(), shape.inC() / shape.groups(), k, k))
            .addInitializer(tensor("b", bias, shape.outC()))
            .addInput(valueInfo(INPUT, inputDims(shape)))
            .addOutput(valueInfo(OUTPUT, outputDims(shape)))
            .build();
        return ModelProto.newBuilder()
            .setIrVersion(8)
            .setProducerName("coedge-jmh")
            .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .setGraph(graph)
            .build()
            .toByteArray();
    }

    static long[] inputDims(final ConvLayerShape shape)
    {
        return new long[]{ 1, shape.inC(), shape.inH(), shape.inW() };
    }

    static long[] outputDims(final ConvLayerShape shape)
    {
        return new long[]{ 1, shape.outC(), shape.outH(), shape.outW() };
    }

    private static AttributeProto ints(final String name, final long... values)
    {
        final AttributeProto.Builder a = AttributeProto.newBuilder().setName(name)
            .setType(AttributeProto.AttributeType.INTS);
        for (final long v : values)
        {
            a.addInts(v);
        }
        return a.build();
    }

    private static TensorProto tensor(final String name, final float[] data, final long... dims)
    {
        final ByteBuffer raw = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(data);
        final TensorProto.Builder t = TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.FLOAT_VALUE)
            .setRawData(ByteString.copyFrom(raw.array()));
        for (final long d : dims)
        {
            t.addDims(d);
        }
        return t.build();
    }

    private static ValueInfoProto valueInfo(final String name, final long[] dims)
    {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final long d : dims)
        {
            shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder()
            .setName(name)
            .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
                .setElemType(TensorProto.DataType.FLOAT_VALUE)
                .setShape(shape)))
            .build();
    }
}
