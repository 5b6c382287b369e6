package org.coedge.engine.onnx;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.cli.CoEdgeCli;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.io.HostIntTensor;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Int64 graph inputs that only feed shape arithmetic (a Reshape shape, an Expand shape, a sample rate turned into a
 * frame count) run with the value the caller gives, through the API ({@link Model#bindIntegerInputs}) and through
 * {@code coedge run --input} files, compared with ONNX Runtime on the same file and inputs (max abs error <= 1e-5
 * max |reference|); one that reaches tensor data is refused in one line.
 */
class IntegerShapeInputsTest
{
    private static final double TOLERANCE = 1e-5;

    @TempDir
    Path dir;

    private final Random random = new Random(13);

    /** y = Relu(Reshape(x, shape)): the shape is a runtime int64 input. */
    private static ModelBuilder reshapeModel()
    {
        return new ModelBuilder(13)
            .input("x", 2, 3, 4)
            .intInput("shape", 2)
            .output("y", -1, -1)
            .node("Reshape", "reshape", List.of("x", "shape"), List.of("r"))
            .node("Relu", "relu", List.of("r"), List.of("y"));
    }

    /** y = Expand(x, shape) * 2: the target shape is a runtime int64 input. */
    private static ModelBuilder expandModel()
    {
        return new ModelBuilder(13)
            .input("x", 1, 3, 1, 1)
            .intInput("shape", 4)
            .output("y", -1, -1, -1, -1)
            .weights("two", new long[]{1}, new float[]{2f})
            .node("Expand", "expand", List.of("x", "shape"), List.of("e"))
            .node("Mul", "mul", List.of("e", "two"), List.of("y"));
    }

    /** A sample-rate input {@code sr} sets the frame length of a Reshape: frames = Reshape(x, [-1, sr / 100]). */
    private static ModelBuilder sampleRateModel()
    {
        return new ModelBuilder(13)
            .input("x", 1, 640)
            .intInput("sr")
            .output("y", -1)
            .ints("hundred", 100)
            .ints("minusOne", -1)
            .node("Div", "div", List.of("sr", "hundred"), List.of("hop"))
            .node("Concat", "concat", List.of("minusOne", "hop"), List.of("frameShape"), intAttr("axis", 0))
            .node("Reshape", "frames", List.of("x", "frameShape"), List.of("f"))
            .node("ReduceMean", "mean", List.of("f"), List.of("y"), intsAttr("axes", 1), intAttr("keepdims", 0));
    }

    @Test
    void shouldReshapeToAnInt64InputsShape()
    {
        final float[] x = randoms(24);
        checkApi("reshape", reshapeModel(), List.of(x, new long[]{4, 6}), List.of(new long[]{2, 3, 4},
            new long[]{2}), new long[]{4, 6});
        checkApi("reshape -1", reshapeModel(), List.of(x, new long[]{-1, 8}), List.of(new long[]{2, 3, 4},
            new long[]{2}), new long[]{3, 8});
    }

    @Test
    void shouldExpandToAnInt64InputsShape()
    {
        checkApi("expand", expandModel(), List.of(randoms(3), new long[]{2, 3, 4, 5}), List.of(new long[]{1, 3, 1, 1},
            new long[]{4}), new long[]{2, 3, 4, 5});
    }

    @Test
    void shouldFoldASampleRateIntoAFrameCount()
    {
        checkApi("sr 16000", sampleRateModel(), List.of(randoms(640), new long[]{16000}),
            List.of(new long[]{1, 640}, new long[0]), new long[]{4});
        checkApi("sr 8000", sampleRateModel(), List.of(randoms(640), new long[]{8000}),
            List.of(new long[]{1, 640}, new long[0]), new long[]{8});
    }

    @Test
    void shouldRunInt64ShapeInputsFromFilesThroughTheCli() throws Exception
    {
        for (final boolean npy : new boolean[]{false, true})
        {
            final String ext = npy ? ".npy" : ".pb";
            final Path model = dir.resolve("reshape.onnx");
            final byte[] bytes = reshapeModel().bytes();
            Files.write(model, bytes);
            final float[] x = randoms(24);
            final Path xFile = dir.resolve("x" + ext);
            TensorFiles.write(xFile, new HostTensor("x", new long[]{2, 3, 4}, x));
            final Path shapeFile = dir.resolve("shape" + ext);
            writeInt64(shapeFile, new long[]{2}, new long[]{6, 4});
            final Path yFile = dir.resolve("y" + ext);

            final StringWriter err = new StringWriter();
            final int code = CoEdgeCli.execute(new String[]{"run", "--model", model.toString(), "--input",
                xFile.toString(), "--input", shapeFile.toString(), "--output", yFile.toString()},
                new PrintWriter(new StringWriter()), new PrintWriter(err));
            assertEquals(0, code, err.toString());

            final HostTensor y = TensorFiles.read(yFile);
            final OrtReference.Result ort = OrtReference.run(bytes, List.of(x, new long[]{6, 4}),
                List.of(new long[]{2, 3, 4}, new long[]{2}), 1);
            assertArrayEquals(ort.dims(0), y.dims(), ext);
            assertClose(ext, ort.data(0), y.data());
        }
    }

    @Test
    void shouldRefuseAnInt64InputThatReachesTensorData()
    {
        final ModelBuilder model = new ModelBuilder(13)
            .input("x", 1, 4)
            .intInput("gain", 1)
            .output("y", 1, 4)
            .node("Cast", "cast", List.of("gain"), List.of("g"), intAttr("to", 1))
            .node("Mul", "scale", List.of("x", "g"), List.of("y"));

        final ModelException ex = assertThrows(ModelException.class, () -> Model.load(model.bytes(), "gain.onnx"));

        assertEquals("gain.onnx: input 'gain' has an integer type and reaches Mul 'scale' as operand 1 beside " +
            "tensor data; the engine computes in float32 and takes integer inputs only where they set shapes " +
            "(Reshape / Expand / Tile shapes, Slice bounds, Resize sizes, ConstantOfShape, Range, axes)",
            ex.getMessage());
    }

    @Test
    void shouldAskForTheValueOfAnUnboundInt64Input()
    {
        final Model m = Model.load(reshapeModel().bytes(), "reshape.onnx");

        final ModelException ex = assertThrows(ModelException.class,
            () -> m.prepare(Map.of("x", new long[]{2, 3, 4})));

        assertTrue(ex.getMessage().contains("[shape]"), ex.getMessage());
    }

    private void checkApi(
        final String what, final ModelBuilder model, final List<Object> inputs, final List<long[]> dims,
        final long[] expectedDims)
    {
        final byte[] bytes = model.bytes();
        final Model loaded = Model.load(bytes, what);
        final Model bound = loaded.bindIntegerInputs(Map.of(loaded.inputNames().get(1),
            new HostIntTensor("", dims.get(1), (long[])inputs.get(1))));
        assertEquals(List.of(loaded.inputNames().get(0)), bound.inputNames(), what);
        final OrtReference.Result ort = OrtReference.run(bytes, inputs, dims, 1);
        assertArrayEquals(expectedDims, ort.dims(0), what + ": ONNX Runtime's dims");
        try (Session s = bound.newSession(SessionOptions.threads(1).withInputDims("x", dims.get(0))))
        {
            s.setInput(0, (float[])inputs.get(0));
            s.run();
            assertArrayEquals(ort.dims(0), s.outputDims(0), what);
            assertClose(what, ort.data(0), s.output(0));
        }
    }

    private static void assertClose(final String what, final float[] expected, final float[] actual)
    {
        assertEquals(expected.length, actual.length, what);
        double max = 0;
        double err = 0;
        for (int i = 0; i < expected.length; i++)
        {
            max = Math.max(max, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(err <= TOLERANCE * max, what + ": max abs error " + err + ", max |reference| " + max);
    }

    private float[] randoms(final int n)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(random.nextGaussian());
        }
        return v;
    }

    private static void writeInt64(final Path file, final long[] dims, final long[] values) throws Exception
    {
        if (file.toString().endsWith(".pb"))
        {
            Files.write(file, ModelBuilder.int64s("shape", dims, values).toByteArray());
            return;
        }
        final StringBuilder shape = new StringBuilder("(");
        for (final long d : dims)
        {
            shape.append(d).append(',');
        }
        final String dict = "{'descr': '<i8', 'fortran_order': False, 'shape': " + shape + "), }";
        final String header = dict + " ".repeat(63 - (10 + dict.length()) % 64) + "\n";
        final java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(10 + header.length() + values.length * 8)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        out.put(new byte[]{(byte)0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short)header.length());
        out.put(header.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        for (final long v : values)
        {
            out.putLong(v);
        }
        Files.write(file, out.array());
    }
}
