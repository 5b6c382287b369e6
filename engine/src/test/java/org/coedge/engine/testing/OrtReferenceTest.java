package org.coedge.engine.testing;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OrtReferenceTest
{
    private static final long[] DIMS = { 2, 3 };
    private static final float[] X = { 1f, -2f, 3f, -4f, 5f, -6f };
    private static final float[] Z = { 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f };
    /** Relu(x + z + bias) with bias = [1, -10, 0] broadcast over rows. */
    private static final float[] Y = { 2.5f, 0f, 3.5f, 0f, 0f, 0f };
    private static final float[] SUM = { 1.5f, -1.5f, 3.5f, -3.5f, 5.5f, -5.5f };

    @TempDir
    Path dir;

    @Test
    void shouldRunAModelWithTwoInputsAndTwoOutputs()
    {
        final OrtReference.Result result = OrtReference.run(tinyModel(), List.of(X, Z), List.of(DIMS, DIMS), 1);

        assertEquals(List.of("y", "sum"), result.names());
        assertEquals(2, result.count());
        assertArrayEquals(Y, result.data("y"));
        assertArrayEquals(SUM, result.data(1));
        assertArrayEquals(DIMS, result.dims("y"));
        assertArrayEquals(DIMS, result.dims(1));
    }

    @Test
    void shouldRunAModelFile() throws IOException
    {
        final Path file = Files.write(dir.resolve("tiny.onnx"), tinyModel());

        final OrtReference.Result result = OrtReference.run(file, List.of(X, Z), List.of(DIMS, DIMS), 2);

        assertArrayEquals(Y, result.data("y"));
    }

    @Test
    void shouldSurviveManySessionsAndRunsInOneJvm()
    {
        final byte[] model = tinyModel();
        for (int i = 0; i < 200; i++)
        {
            final float[] x = X.clone();
            x[0] = i;
            assertEquals(i + 0.5f + 1f, OrtReference.run(model, List.of(x, Z), List.of(DIMS, DIMS), 1).data(0)[0]);
        }
        try (OrtReference.Loaded loaded = OrtReference.open(model, 1))
        {
            assertEquals(List.of("x", "z"), loaded.inputNames());
            final long nativeBytesBefore = settledNativeBytes();
            for (int i = 0; i < 2000; i++)
            {
                final float[] z = Z.clone();
                z[2] = -i;
                assertEquals(Math.max(0f, 3f - i), loaded.run(List.of(X, z), List.of(DIMS, DIMS)).data(0)[2]);
            }
            // Every native buffer a run allocates through JavaCPP is released when the run returns: 2000 runs leave
            // the count no higher (a leak of one byte a run would show as 2000). The count is process-wide, and
            // in the full suite some earlier test's 56 bytes are freed during the loop, so it may end lower.
            final long nativeBytesAfter = settledNativeBytes();
            assertTrue(nativeBytesAfter <= nativeBytesBefore,
                "native bytes before " + nativeBytesBefore + ", after 2000 runs " + nativeBytesAfter);
        }
    }

    /**
     * @return JavaCPP's count of native bytes once the garbage of earlier tests has been freed: the count is
     * process-wide, and its deallocator thread frees unreachable pointers whenever a collection finds them, so
     * without this a free of some earlier test's buffer during the runs would look like a change.
     */
    private static long settledNativeBytes()
    {
        long previous = -1;
        for (int i = 0; i < 20; i++)
        {
            System.gc();
            Pointer.deallocateReferences();
            final long bytes = Pointer.totalBytes();
            if (bytes == previous)
            {
                return bytes;
            }
            previous = bytes;
        }
        return previous;
    }

    @Test
    void shouldRejectInputsNotMatchingTheModel()
    {
        try (OrtReference.Loaded loaded = OrtReference.open(tinyModel(), 1))
        {
            final IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                () -> loaded.run(List.of(X), List.of(DIMS)));
            final IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> loaded.run(List.of(X, new float[5]), List.of(DIMS, DIMS)));

            assertTrue(count.getMessage().contains("model takes 2 inputs [x, z]"), count.getMessage());
            assertTrue(size.getMessage().contains("input z of shape [2, 3] needs 6 floats, given 5"),
                size.getMessage());
            loaded.close();
            assertThrows(IllegalStateException.class, () -> loaded.run(List.of(X, Z), List.of(DIMS, DIMS)));
        }
    }

    @Test
    void shouldReportModelsOnnxRuntimeCannotLoad()
    {
        final IllegalArgumentException garbage = assertThrows(IllegalArgumentException.class,
            () -> OrtReference.open(new byte[]{ 1, 2, 3, 4 }, 1));
        final Path absent = dir.resolve("absent.onnx");
        final IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
            () -> OrtReference.open(absent, 1));

        assertTrue(garbage.getMessage().startsWith("ONNX Runtime cannot load the model"), garbage.getMessage());
        assertTrue(missing.getMessage().contains(absent.toString()), missing.getMessage());
    }

    private static byte[] tinyModel()
    {
        final TensorProto bias = TensorProto.newBuilder()
            .setName("bias")
            .addDims(3)
            .setDataType(TensorProto.DataType.FLOAT.getNumber())
            .addFloatData(1f).addFloatData(-10f).addFloatData(0f)
            .build();
        final GraphProto graph = GraphProto.newBuilder()
            .setName("tiny")
            .addInput(value("x"))
            .addInput(value("z"))
            .addInitializer(bias)
            .addNode(NodeProto.newBuilder().setName("add_inputs").setOpType("Add")
                .addInput("x").addInput("z").addOutput("sum"))
            .addNode(NodeProto.newBuilder().setName("add_bias").setOpType("Add")
                .addInput("sum").addInput("bias").addOutput("biased"))
            .addNode(NodeProto.newBuilder().setName("relu").setOpType("Relu")
                .addInput("biased").addOutput("y"))
            .addOutput(value("y"))
            .addOutput(value("sum"))
            .build();
        return ModelProto.newBuilder()
            .setIrVersion(8)
            .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
            .setGraph(graph)
            .build()
            .toByteArray();
    }

    private static ValueInfoProto value(final String name)
    {
        final TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (final long d : DIMS)
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
}
