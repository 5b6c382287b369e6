package org.coedge.engine.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import org.coedge.engine.graph.Graph;

/** Builds small ONNX models in tests with the protobuf builders; {@code -1} in a value's dims is a symbolic dim. */
final class ModelBuilder
{
    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder().setName("test");
    private final int opset;

    ModelBuilder(final int opset)
    {
        this.opset = opset;
    }

    ModelBuilder input(final String name, final long... dims)
    {
        graph.addInput(valueInfo(name, dims));
        return this;
    }

    /** Adds a runtime input of element type INT64. */
    ModelBuilder intInput(final String name, final long... dims)
    {
        graph.addInput(valueInfo(name, dims).toBuilder().setType(OnnxMl.TypeProto.newBuilder().setTensorType(
            valueInfo(name, dims).getType().getTensorType().toBuilder()
                .setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE))).build());
        return this;
    }

    ModelBuilder output(final String name, final long... dims)
    {
        graph.addOutput(valueInfo(name, dims));
        return this;
    }

    /** Adds a float initializer stored as little-endian raw_data. */
    ModelBuilder weights(final String name, final long[] dims, final float[] data)
    {
        graph.addInitializer(rawFloats(name, dims, data));
        return this;
    }

    /** Adds a float initializer stored in float_data. */
    ModelBuilder weightsAsFloatData(final String name, final long[] dims, final float[] data)
    {
        final OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        for (final long d : dims)
        {
            t.addDims(d);
        }
        for (final float f : data)
        {
            t.addFloatData(f);
        }
        graph.addInitializer(t);
        return this;
    }

    ModelBuilder ints(final String name, final long... data)
    {
        graph.addInitializer(int64s(name, new long[]{data.length}, data));
        return this;
    }

    ModelBuilder initializer(final OnnxMl.TensorProto tensor)
    {
        graph.addInitializer(tensor);
        return this;
    }

    ModelBuilder node(
        final String opType, final String name, final List<String> inputs, final List<String> outputs,
        final OnnxMl.AttributeProto... attributes)
    {
        final OnnxMl.NodeProto.Builder n = OnnxMl.NodeProto.newBuilder().setOpType(opType).setName(name)
            .addAllInput(inputs).addAllOutput(outputs);
        for (final OnnxMl.AttributeProto a : attributes)
        {
            n.addAttribute(a);
        }
        graph.addNode(n);
        return this;
    }

    /** Adds a {@code Constant} node whose value is {@code tensor}. */
    ModelBuilder constant(final String output, final OnnxMl.TensorProto tensor)
    {
        return node("Constant", "", List.of(), List.of(output), tensorAttr("value", tensor));
    }

    byte[] bytes()
    {
        return OnnxMl.ModelProto.newBuilder().setIrVersion(7).setProducerName("coedge-test")
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
            .setGraph(graph).build().toByteArray();
    }

    Graph load()
    {
        return OnnxImporter.load(bytes(), "test.onnx");
    }

    Graph fold(final String input, final long... dims)
    {
        return ShapeInference.fold(load(), Map.of(input, dims));
    }

    static OnnxMl.ValueInfoProto valueInfo(final String name, final long... dims)
    {
        final OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (final long d : dims)
        {
            final OnnxMl.TensorShapeProto.Dimension.Builder dim = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d < 0)
            {
                dim.setDimParam("?");
            }
            else
            {
                dim.setDimValue(d);
            }
            shape.addDim(dim);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    static OnnxMl.TensorProto rawFloats(final String name, final long[] dims, final float[] data)
    {
        final ByteBuffer buf = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (final float f : data)
        {
            buf.putFloat(f);
        }
        buf.flip();
        final OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
            .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(buf));
        for (final long d : dims)
        {
            t.addDims(d);
        }
        return t.build();
    }

    static OnnxMl.TensorProto int64s(final String name, final long[] dims, final long[] data)
    {
        final OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
            .setDataType(OnnxMl.TensorProto.DataType.INT64_VALUE);
        for (final long d : dims)
        {
            t.addDims(d);
        }
        for (final long v : data)
        {
            t.addInt64Data(v);
        }
        return t.build();
    }

    static OnnxMl.TensorProto scalarFloat(final float v)
    {
        return rawFloats("", new long[0], new float[]{v});
    }

    static OnnxMl.AttributeProto intAttr(final String name, final long v)
    {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.INT)
            .setI(v).build();
    }

    static OnnxMl.AttributeProto floatAttr(final String name, final float v)
    {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.FLOAT)
            .setF(v).build();
    }

    static OnnxMl.AttributeProto intsAttr(final String name, final long... v)
    {
        final OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
            .setType(OnnxMl.AttributeProto.AttributeType.INTS);
        for (final long x : v)
        {
            a.addInts(x);
        }
        return a.build();
    }

    static OnnxMl.AttributeProto floatsAttr(final String name, final float... v)
    {
        final OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name)
            .setType(OnnxMl.AttributeProto.AttributeType.FLOATS);
        for (final float x : v)
        {
            a.addFloats(x);
        }
        return a.build();
    }

    static OnnxMl.AttributeProto stringAttr(final String name, final String v)
    {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.STRING)
            .setS(ByteString.copyFromUtf8(v)).build();
    }

    static OnnxMl.AttributeProto tensorAttr(final String name, final OnnxMl.TensorProto v)
    {
        return OnnxMl.AttributeProto.newBuilder().setName(name).setType(OnnxMl.AttributeProto.AttributeType.TENSOR)
            .setT(v).build();
    }

    static float[] random(final Random random, final int n)
    {
        final float[] out = new float[n];
        for (int i = 0; i < n; i++)
        {
            out[i] = (float)random.nextGaussian();
        }
        return out;
    }
}
