package org.coedge.engine.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.coedge.engine.onnx.ModelBuilder.floatAttr;
import static org.coedge.engine.onnx.ModelBuilder.floatsAttr;
import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.coedge.engine.onnx.ModelBuilder.rawFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxImporterTest
{
    private static final float EXACT = 0f;

    @TempDir
    Path dir;

    /** A small valid model: x -> Conv(w, b) -> Relu -> y, with 16x3x3x3 weights so that its bytes are mostly data. */
    private static ModelBuilder convModel()
    {
        final float[] w = ModelBuilder.random(new Random(1), 16 * 3 * 3 * 3);
        return new ModelBuilder(13)
            .input("x", -1, 3, -1, -1)
            .output("y", -1, 16, -1, -1)
            .weights("w", new long[]{16, 3, 3, 3}, w)
            .weightsAsFloatData("b", new long[]{16}, ModelBuilder.random(new Random(2), 16))
            .node("Conv", "conv", List.of("x", "w", "b"), List.of("c"), intsAttr("pads", 1, 1, 1, 1))
            .node("Relu", "", List.of("c"), List.of("y"));
    }

    @Test
    void shouldReadGraphAsDeclared()
    {
        final Graph g = convModel().load();

        assertEquals(13, g.opsetVersion());
        assertEquals(List.of("x"), g.inputs());
        assertEquals(List.of("y"), g.outputs());
        assertArrayEquals(new long[]{-1, 3, -1, -1}, g.shapes().get("x"));
        assertArrayEquals(new long[]{-1, 16, -1, -1}, g.shapes().get("y"));
        assertEquals(2, g.nodes().size());
        assertEquals("conv", g.nodes().get(0).name());
        assertArrayEquals(new long[]{1, 1, 1, 1}, g.nodes().get(0).attrInts("pads", null));
    }

    @Test
    void shouldNameUnnamedNodesUniquely()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 4)
            .output("z", 1, 4)
            .node("Relu", "Relu_1", List.of("x"), List.of("a"))
            .node("Relu", "", List.of("a"), List.of("z"))
            .load();

        assertEquals("Relu_1", g.nodes().get(0).name());
        assertEquals("Relu_1_1", g.nodes().get(1).name());
    }

    @Test
    void shouldDecodeFloatsFromRawDataAndFloatData()
    {
        final float[] b = ModelBuilder.random(new Random(2), 16);
        final Graph g = convModel().load();

        final ConstTensor w = g.constants().get("w");
        assertArrayEquals(new long[]{16, 3, 3, 3}, w.dims());
        assertArrayEquals(ModelBuilder.random(new Random(1), 16 * 3 * 3 * 3), w.floats(), EXACT);
        assertTrue(w.isFloat());
        assertArrayEquals(b, g.constants().get("b").floats(), EXACT);
    }

    @Test
    void shouldExcludeInitializersFromRuntimeInputs()
    {
        final OnnxMl.TensorProto w = rawFloats("w", new long[]{2}, new float[]{1, 2});
        final Graph g = new ModelBuilder(9)
            .input("x", 1, 2)
            .input("w", 2)
            .output("y", 1, 2)
            .initializer(w)
            .node("Add", "add", List.of("x", "w"), List.of("y"))
            .load();

        assertEquals(List.of("x"), g.inputs());
        assertTrue(g.isConstant("w"));
    }

    @Test
    void shouldTurnConstantNodesIntoConstants()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 3)
            .output("y", 1, 3)
            .constant("t", rawFloats("", new long[]{3}, new float[]{1, 2, 3}))
            .node("Constant", "cf", List.of(), List.of("f"), floatAttr("value_float", 2.5f))
            .node("Constant", "cfs", List.of(), List.of("fs"), floatsAttr("value_floats", 1.5f, -1f))
            .node("Constant", "ci", List.of(), List.of("i"), intAttr("value_int", 7))
            .node("Constant", "cis", List.of(), List.of("is"), intsAttr("value_ints", 4, 5, 6))
            .node("Sum", "sum", List.of("x", "t", "f", "fs", "i", "is"), List.of("y"))
            .load();

        assertEquals(1, g.nodes().size());
        assertArrayEquals(new float[]{1, 2, 3}, g.constants().get("t").floats(), EXACT);
        assertEquals(0, g.constants().get("f").rank());
        assertArrayEquals(new float[]{2.5f}, g.constants().get("f").floats(), EXACT);
        assertArrayEquals(new float[]{1.5f, -1f}, g.constants().get("fs").floats(), EXACT);
        assertFalse(g.constants().get("i").isFloat());
        assertArrayEquals(new long[]{7}, g.constants().get("i").longs());
        assertArrayEquals(new long[]{4, 5, 6}, g.constants().get("is").longs());
    }

    @Test
    void shouldDecodeIntegerBoolDoubleAndHalfTensors()
    {
        final ByteBuffer int32 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(-3).putInt(9).flip();
        final ByteBuffer half = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
            .putShort((short)0x3C00).putShort((short)0xC100).flip();
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 2)
            .output("y", 1, 2)
            .initializer(tensor("i32", OnnxMl.TensorProto.DataType.INT32_VALUE, 2)
                .setRawData(ByteString.copyFrom(int32)).build())
            .initializer(tensor("b", OnnxMl.TensorProto.DataType.BOOL_VALUE, 2).addInt32Data(1).addInt32Data(0).build())
            .initializer(tensor("d", OnnxMl.TensorProto.DataType.DOUBLE_VALUE, 2).addDoubleData(0.25).addDoubleData(-8)
                .build())
            .initializer(tensor("h", OnnxMl.TensorProto.DataType.FLOAT16_VALUE, 2).setRawData(ByteString.copyFrom(half))
                .build())
            .node("Sum", "sum", List.of("x", "i32", "b", "d", "h"), List.of("y"))
            .load();

        assertArrayEquals(new long[]{-3, 9}, g.constants().get("i32").longs());
        assertArrayEquals(new long[]{1, 0}, g.constants().get("b").longs());
        assertArrayEquals(new float[]{0.25f, -8f}, g.constants().get("d").floats(), EXACT);
        assertArrayEquals(new float[]{1f, -2.5f}, g.constants().get("h").floats(), EXACT);
    }

    @Test
    void shouldRejectTruncatedModel()
    {
        final byte[] bytes = convModel().bytes();
        final byte[] half = Arrays.copyOf(bytes, bytes.length / 2);

        final ModelException ex = assertThrows(ModelException.class, () -> OnnxImporter.load(half, "cut.onnx"));

        assertTrue(ex.getMessage().startsWith("cut.onnx: not a valid ONNX model ("), ex.getMessage());
    }

    @Test
    void shouldRejectRandomBytes()
    {
        final byte[] bytes = new byte[4096];
        new Random(42).nextBytes(bytes);

        final ModelException ex = assertThrows(ModelException.class, () -> OnnxImporter.load(bytes, "noise.bin"));

        assertTrue(ex.getMessage().startsWith("noise.bin: not a valid ONNX model ("), ex.getMessage());
    }

    @Test
    void shouldRejectEmptyFile() throws Exception
    {
        final Path empty = Files.createFile(dir.resolve("empty.onnx"));

        final ModelException ex = assertThrows(ModelException.class, () -> OnnxImporter.load(empty));

        assertEquals(empty + ": not a valid ONNX model (empty file)", ex.getMessage());
    }

    @Test
    void shouldRejectMissingFile()
    {
        final Path missing = dir.resolve("missing.onnx");

        final ModelException ex = assertThrows(ModelException.class, () -> OnnxImporter.load(missing));

        assertEquals(missing + ": no such file", ex.getMessage());
    }

    @Test
    void shouldLoadFromFile() throws Exception
    {
        final Path file = Files.write(dir.resolve("m.onnx"), convModel().bytes());

        assertEquals(2, OnnxImporter.load(file).nodes().size());
    }

    @Test
    void shouldDecodeTheSameWeightsFromAMappedFileAsFromBytes() throws Exception
    {
        // the file path maps the file and aliases raw_data; the byte path copies: every weight must read the same
        final byte[] bytes = convModel().bytes();
        final Path file = Files.write(dir.resolve("same.onnx"), bytes);

        final Graph mapped = OnnxImporter.load(file);
        final Graph copied = OnnxImporter.load(bytes, "same.onnx");

        assertEquals(copied.constants().keySet(), mapped.constants().keySet());
        for (final String name : copied.constants().keySet())
        {
            assertArrayEquals(copied.constants().get(name).floats(), mapped.constants().get(name).floats(), name);
        }
    }

    @Test
    void shouldRejectTruncatedFile() throws Exception
    {
        final byte[] bytes = convModel().bytes();
        final Path cut = Files.write(dir.resolve("cut.onnx"), Arrays.copyOf(bytes, bytes.length / 2));

        final ModelException ex = assertThrows(ModelException.class, () -> OnnxImporter.load(cut));

        assertTrue(ex.getMessage().startsWith(cut + ": not a valid ONNX model ("), ex.getMessage());
    }

    @Test
    void shouldRejectModelWithoutGraphOrNodes()
    {
        final byte[] noGraph = OnnxMl.ModelProto.newBuilder().setIrVersion(7).build().toByteArray();
        final byte[] noNodes = new ModelBuilder(13).input("x", 1).output("x", 1).bytes();

        final ModelException a = assertThrows(ModelException.class, () -> OnnxImporter.load(noGraph, "a.onnx"));
        final ModelException b = assertThrows(ModelException.class, () -> OnnxImporter.load(noNodes, "b.onnx"));

        assertEquals("a.onnx: not a valid ONNX model (no graph)", a.getMessage());
        assertEquals("b.onnx: the graph has no nodes", b.getMessage());
    }

    @Test
    void shouldRejectExternalData()
    {
        final OnnxMl.TensorProto w = tensor("w", OnnxMl.TensorProto.DataType.FLOAT_VALUE, 2)
            .setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL)
            .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin"))
            .build();
        final ModelBuilder m = new ModelBuilder(13).input("x", 1, 2).output("y", 1, 2).initializer(w)
            .node("Add", "add", List.of("x", "w"), List.of("y"));

        final ModelException ex = assertThrows(ModelException.class, m::load);

        assertTrue(ex.getMessage().contains("initializer 'w' is stored as external data, which is not supported"),
            ex.getMessage());
    }

    @Test
    void shouldRejectUnsupportedDataTypeOnlyWhereUsed()
    {
        final OnnxMl.TensorProto names = tensor("s", OnnxMl.TensorProto.DataType.STRING_VALUE, 1)
            .addStringData(ByteString.copyFromUtf8("a")).build();
        final ModelBuilder unused = new ModelBuilder(13).input("x", 1, 2).output("y", 1, 2).initializer(names)
            .node("Relu", "relu", List.of("x"), List.of("y"));
        final ModelBuilder used = new ModelBuilder(13).input("x", 1, 2).output("y", 1, 2).initializer(names)
            .node("Add", "add", List.of("x", "s"), List.of("y"));

        assertEquals(1, unused.load().nodes().size());
        final ModelException ex = assertThrows(ModelException.class, used::load);
        assertEquals("test.onnx: initializer 's' has data type STRING, which is not supported", ex.getMessage());
    }

    @Test
    void shouldRejectTensorWithWrongElementCount()
    {
        final OnnxMl.TensorProto w = rawFloats("w", new long[]{3}, new float[]{1, 2});
        final ModelBuilder m = new ModelBuilder(13).input("x", 1, 3).output("y", 1, 3).initializer(w)
            .node("Add", "add", List.of("x", "w"), List.of("y"));

        final ModelException ex = assertThrows(ModelException.class, m::load);

        assertEquals("test.onnx: initializer 'w' declares dims [3] (3 elements) but holds 8 bytes of raw data",
            ex.getMessage());
    }

    @Test
    void shouldRejectOpsetOutsideRange()
    {
        final ModelBuilder old = new ModelBuilder(0).input("x", 1).output("y", 1)
            .node("Relu", "r", List.of("x"), List.of("y"));
        final ModelBuilder oldest = new ModelBuilder(1).input("x", 1).output("y", 1)
            .node("Relu", "r", List.of("x"), List.of("y"));
        final ModelBuilder future = new ModelBuilder(22).input("x", 1).output("y", 1)
            .node("Relu", "r", List.of("x"), List.of("y"));

        assertTrue(assertThrows(ModelException.class, old::load).getMessage().startsWith(
            "test.onnx: opset 0 is not supported (the engine reads opsets 1..21"));
        assertEquals(1, oldest.load().opsetVersion());
        assertTrue(assertThrows(ModelException.class, future::load).getMessage().startsWith(
            "test.onnx: opset 22 is not supported"));
    }

    @Test
    void shouldRejectNodeFromOtherDomain()
    {
        final OnnxMl.ModelProto model = OnnxMl.ModelProto.newBuilder().setIrVersion(7)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
            .setGraph(OnnxMl.GraphProto.newBuilder()
                .addInput(ModelBuilder.valueInfo("x", 1, 8))
                .addOutput(ModelBuilder.valueInfo("y", 1, 8))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("FusedGemm").setDomain("com.microsoft")
                    .setName("fused").addInput("x").addOutput("y")))
            .build();

        final ModelException ex = assertThrows(ModelException.class,
            () -> OnnxImporter.load(model.toByteArray(), "ms.onnx"));

        assertEquals("ms.onnx: node FusedGemm 'fused' is in domain 'com.microsoft'; only the default ONNX domain " +
            "is supported", ex.getMessage());
    }

    @Test
    void shouldRejectNonFloatInput()
    {
        final OnnxMl.ValueInfoProto ids = OnnxMl.ValueInfoProto.newBuilder().setName("ids").setType(
            OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder()
                .setElemType(OnnxMl.TensorProto.DataType.DOUBLE_VALUE))).build();
        final byte[] bytes = OnnxMl.ModelProto.newBuilder().setIrVersion(7)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setVersion(13))
            .setGraph(OnnxMl.GraphProto.newBuilder().addInput(ids).addOutput(ModelBuilder.valueInfo("y", 1))
                .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Relu").addInput("ids").addOutput("y")))
            .build().toByteArray();

        final ModelException ex = assertThrows(ModelException.class, () -> OnnxImporter.load(bytes, "i.onnx"));

        assertEquals("i.onnx: input 'ids' has element type DOUBLE; the engine computes in float32 only",
            ex.getMessage());
    }

    @Test
    void shouldConvertHalfFloatsExactly()
    {
        assertEquals(65504f, OnnxTensors.halfToFloat(0x7BFF), EXACT);
        assertEquals(0x1p-24f, OnnxTensors.halfToFloat(0x0001), EXACT);
        assertEquals(Float.NEGATIVE_INFINITY, OnnxTensors.halfToFloat(0xFC00), EXACT);
        assertEquals(-0.5f, OnnxTensors.halfToFloat(0xB800), EXACT);
    }

    private static OnnxMl.TensorProto.Builder tensor(final String name, final int type, final long... dims)
    {
        final OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(type);
        for (final long d : dims)
        {
            t.addDims(d);
        }
        return t;
    }

    static Node node(final Graph g, final String name)
    {
        return g.nodes().stream().filter(n -> n.name().equals(name)).findFirst()
            .orElseThrow(() -> new AssertionError("no node " + name + " in " + g));
    }
}
