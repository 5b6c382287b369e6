package org.coedge.engine.io;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorFilesTest
{
    /** The values of {@code (np.arange(24).reshape(2, 3, 4) - 11.5) / 4}, which the numpy_*.npy fixtures hold. */
    private static final float[] FIXTURE = fixtureValues();

    @TempDir
    Path dir;

    @Test
    void shouldRoundTripNpy() throws IOException
    {
        final HostTensor tensor = randomTensor("ignored", 1, 3, 7, 5);
        final Path file = dir.resolve("activation.npy");

        TensorFiles.write(file, tensor);
        final HostTensor read = TensorFiles.read(file);

        assertEquals("activation", read.name());
        assertArrayEquals(tensor.dims(), read.dims());
        assertArrayEquals(tensor.data(), read.data());
    }

    @Test
    void shouldRoundTripPbKeepingTheName() throws IOException
    {
        final HostTensor tensor = randomTensor("conv1.out", 1, 64, 3, 2);
        final Path file = dir.resolve("output_0.pb");

        TensorFiles.write(file, tensor);

        assertEquals(tensor, TensorFiles.read(file));
    }

    @Test
    void shouldRoundTripScalarsVectorsAndEmptyTensors() throws IOException
    {
        for (final HostTensor tensor : new HostTensor[]{
            new HostTensor("t", new long[0], new float[]{ -3.25f }),
            new HostTensor("t", new long[]{ 5 }, new float[]{ 1, 2, 3, 4, Float.MIN_VALUE }),
            new HostTensor("t", new long[]{ 2, 0, 3 }, new float[0]) })
        {
            for (final String extension : new String[]{ ".npy", ".pb" })
            {
                final Path file = dir.resolve("t" + extension);
                TensorFiles.write(file, tensor);
                assertEquals(tensor, TensorFiles.read(file), extension + " " + tensor);
            }
        }
    }

    @Test
    void shouldWriteNpyAsNumpyDoes() throws IOException
    {
        final Path file = dir.resolve("numpy_f4.npy");
        TensorFiles.write(file, new HostTensor("numpy_f4", new long[]{ 2, 3, 4 }, FIXTURE));

        assertArrayEquals(fixtureBytes("numpy_f4.npy"), Files.readAllBytes(file));
    }

    @Test
    void shouldReadFilesWrittenByNumpy() throws IOException
    {
        for (final String fixture : new String[]{ "numpy_f4.npy", "numpy_v2.npy", "numpy_f8.npy" })
        {
            final HostTensor read = TensorFiles.read(fixture(fixture));

            assertArrayEquals(new long[]{ 2, 3, 4 }, read.dims(), fixture);
            assertArrayEquals(FIXTURE, read.data(), fixture);
        }
        final HostTensor scalar = TensorFiles.read(fixture("numpy_scalar.npy"));
        assertEquals(0, scalar.rank());
        assertEquals(2.5f, scalar.get(0));
    }

    @Test
    void shouldReadPbWithFloatDataOrDoubles() throws IOException
    {
        final Path floats = dir.resolve("floats.pb");
        Files.write(floats, TensorProto.newBuilder().setName("x").addDims(2).addDims(2)
            .setDataType(TensorProto.DataType.FLOAT.getNumber())
            .addFloatData(1.5f).addFloatData(-2f).addFloatData(0f).addFloatData(7f)
            .build().toByteArray());
        final Path doubles = dir.resolve("doubles.pb");
        Files.write(doubles, TensorProto.newBuilder().setName("y").addDims(3)
            .setDataType(TensorProto.DataType.DOUBLE.getNumber())
            .addDoubleData(0.1).addDoubleData(1e30).addDoubleData(-4)
            .build().toByteArray());

        assertEquals(new HostTensor("x", new long[]{ 2, 2 }, new float[]{ 1.5f, -2f, 0f, 7f }),
            TensorFiles.read(floats));
        assertEquals(new HostTensor("y", new long[]{ 3 }, new float[]{ 0.1f, 1e30f, -4f }),
            TensorFiles.read(doubles));
    }

    @Test
    void shouldReportMissingFile()
    {
        final Path file = dir.resolve("absent.npy");

        final IOException ex = assertThrows(IOException.class, () -> TensorFiles.read(file));

        assertInstanceOf(NoSuchFileException.class, ex);
        assertOneLineNaming(file, "no such tensor file", ex);
    }

    @Test
    void shouldRejectUnknownExtensionOnReadAndWrite() throws IOException
    {
        final Path file = dir.resolve("tensor.bin");
        Files.write(file, new byte[16]);
        final HostTensor tensor = randomTensor("t", 2);

        assertOneLineNaming(file, "unknown tensor file extension",
            assertThrows(IllegalArgumentException.class, () -> TensorFiles.read(file)));
        assertOneLineNaming(file, "unknown tensor file extension",
            assertThrows(IllegalArgumentException.class, () -> TensorFiles.write(file, tensor)));
    }

    @Test
    void shouldReportTruncatedNpy() throws IOException
    {
        final byte[] whole = fixtureBytes("numpy_f4.npy");
        final Path shortData = write("short_data.npy", Arrays.copyOf(whole, whole.length - 3));
        final Path shortHeader = write("short_header.npy", Arrays.copyOf(whole, 60));
        final Path shortPreamble = write("short_preamble.npy", Arrays.copyOf(whole, 7));

        assertReadFails(shortData, "truncated, shape [2, 3, 4] needs 96 data bytes, the file holds 93");
        assertReadFails(shortHeader, "truncated, the .npy header");
        assertReadFails(shortPreamble, "truncated");
    }

    @Test
    void shouldReportBadNpyHeader() throws IOException
    {
        final byte[] whole = fixtureBytes("numpy_f4.npy");
        final byte[] badMagic = whole.clone();
        badMagic[1] = 'X';
        final byte[] badVersion = whole.clone();
        badVersion[6] = 9;

        assertReadFails(write("magic.npy", badMagic), "bad header, not a .npy file");
        assertReadFails(write("version.npy", badVersion), "bad header, unsupported .npy format version 9.0");
        assertReadFails(write("noshape.npy", npy("{'descr': '<f4', 'fortran_order': False, }", 0)),
            "bad header, no valid 'shape'");
        assertReadFails(write("nodict.npy", npy("'descr': '<f4'", 0)), "bad header, .npy header is not a dictionary");
        assertReadFails(write("shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 0)),
            "bad header, shape (2, x) is not a tuple of integers");
    }

    @Test
    void shouldRejectNonFloatDtypes() throws IOException
    {
        assertReadFails(fixture("numpy_i8.npy"), "dtype '<i8' is not float");
        assertReadFails(write("big.npy", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4)),
            "dtype '>f4' is not float");
    }

    @Test
    void shouldRejectFortranOrder() throws IOException
    {
        assertReadFails(fixture("numpy_fortran.npy"), "fortran_order True is not supported");
    }

    @Test
    void shouldReportNpyElementCountMismatch() throws IOException
    {
        final Path file = write("long.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 20));

        assertReadFails(file, "element count mismatch, shape [2, 2] has 4 elements but the file holds 20 data bytes");
    }

    @Test
    void shouldReportTruncatedOrBadPb() throws IOException
    {
        final Path good = dir.resolve("good.pb");
        TensorFiles.write(good, randomTensor("t", 4, 4));
        final byte[] whole = Files.readAllBytes(good);

        assertReadFails(write("cut.pb", Arrays.copyOf(whole, whole.length - 5)), "truncated or not a TensorProto");
        assertReadFails(write("junk.pb", "not a tensor at all".getBytes(StandardCharsets.US_ASCII)),
            "truncated or not a TensorProto");
    }

    @Test
    void shouldRejectNonFloatPb() throws IOException
    {
        final Path file = write("int.pb", TensorProto.newBuilder().addDims(2)
            .setDataType(TensorProto.DataType.INT64.getNumber()).addInt64Data(1).addInt64Data(2)
            .build().toByteArray());

        assertReadFails(file, "data type INT64 (7) is not float");
    }

    @Test
    void shouldReadInt64AndInt32PbAsIntegers() throws IOException
    {
        final Path listed = write("sr.pb", TensorProto.newBuilder().setName("sr")
            .setDataType(TensorProto.DataType.INT64.getNumber()).addInt64Data(16000).build().toByteArray());
        final ByteBuffer raw = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(4).putInt(-1).putInt(7);
        final Path packed = write("shape.pb", TensorProto.newBuilder().addDims(3)
            .setDataType(TensorProto.DataType.INT32.getNumber()).setRawData(ByteString.copyFrom(raw.array()))
            .build().toByteArray());

        final HostIntTensor sr = TensorFiles.readIntegers(listed);
        final HostIntTensor shape = TensorFiles.readIntegers(packed);

        assertEquals("sr", sr.name());
        assertArrayEquals(new long[0], sr.dims());
        assertArrayEquals(new long[]{16000}, sr.data());
        assertArrayEquals(new long[]{3}, shape.dims());
        assertArrayEquals(new long[]{4, -1, 7}, shape.data());
    }

    @Test
    void shouldRejectFloatsAndShortDataWhereIntegersAreExpected() throws IOException
    {
        final Path floats = dir.resolve("f.npy");
        TensorFiles.write(floats, randomTensor("f", 2));
        final Path shortRaw = write("short.pb", TensorProto.newBuilder().addDims(2)
            .setDataType(TensorProto.DataType.INT64.getNumber()).setRawData(ByteString.copyFrom(new byte[12]))
            .build().toByteArray());

        assertOneLineNaming(floats, "dtype '<f4' is not an integer",
            assertThrows(IOException.class, () -> TensorFiles.readIntegers(floats)));
        assertOneLineNaming(shortRaw, "raw_data holds 12 bytes",
            assertThrows(IOException.class, () -> TensorFiles.readIntegers(shortRaw)));
    }

    @Test
    void shouldReportPbElementCountMismatch() throws IOException
    {
        final Path raw = write("raw.pb", TensorProto.newBuilder().addDims(2).addDims(3)
            .setDataType(TensorProto.DataType.FLOAT.getNumber()).setRawData(ByteString.copyFrom(new byte[20]))
            .build().toByteArray());
        final Path listed = write("listed.pb", TensorProto.newBuilder().addDims(3)
            .setDataType(TensorProto.DataType.FLOAT.getNumber()).addFloatData(1).addFloatData(2)
            .build().toByteArray());

        assertReadFails(raw, "element count mismatch, dims [2, 3] need 6 elements (24 bytes), raw_data holds 20");
        assertReadFails(listed, "element count mismatch, dims [3] need 3 elements, float_data holds 2");
    }

    private static void assertReadFails(final Path file, final String expected)
    {
        assertOneLineNaming(file, expected, assertThrows(IOException.class, () -> TensorFiles.read(file)));
    }

    private static void assertOneLineNaming(final Path file, final String expected, final Exception ex)
    {
        final String message = ex.getMessage();
        assertTrue(message.startsWith(file.toString()), message);
        assertTrue(message.contains(expected), message);
        assertFalse(message.contains("\n"), message);
    }

    private Path write(final String name, final byte[] bytes) throws IOException
    {
        return Files.write(dir.resolve(name), bytes);
    }

    private Path fixture(final String name) throws IOException
    {
        return write(name, fixtureBytes(name));
    }

    private static byte[] fixtureBytes(final String name) throws IOException
    {
        try (InputStream in = TensorFilesTest.class.getResourceAsStream(name))
        {
            assertTrue(in != null, "missing test resource " + name);
            return in.readAllBytes();
        }
    }

    /** A version 1.0 .npy file with the given header dictionary and {@code dataBytes} zero bytes of data. */
    private static byte[] npy(final String dict, final int dataBytes)
    {
        final byte[] header = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        final ByteBuffer out = ByteBuffer.allocate(10 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        out.put(new byte[]{ (byte)0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0 }).putShort((short)header.length).put(header);
        return out.array();
    }

    private static HostTensor randomTensor(final String name, final long... dims)
    {
        final SplittableRandom random = new SplittableRandom(dims.length * 31L + dims[0]);
        final float[] data = new float[(int)HostTensor.elementCount(dims)];
        for (int i = 0; i < data.length; i++)
        {
            data[i] = (float)random.nextGaussian() * 10;
        }
        return new HostTensor(name, dims, data);
    }

    private static float[] fixtureValues()
    {
        final float[] values = new float[24];
        for (int i = 0; i < values.length; i++)
        {
            values[i] = (i - 11.5f) / 4;
        }
        return values;
    }
}
