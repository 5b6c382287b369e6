package org.coedge.engine.io;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes single float32 tensors in the two file formats users bring inputs and references in, chosen by
 * the file's extension: NumPy {@code .npy} (format 1.0, 2.0 or 3.0; {@code '<f4'}, or {@code '<f8'} converted to
 * float; C order) and ONNX {@code TensorProto} {@code .pb} (FLOAT in {@code raw_data} or {@code float_data}, or
 * DOUBLE converted). Writing produces {@code .npy} 1.0 (2.0 if the header needs it) and {@code .pb} with
 * little-endian {@code raw_data}. {@link #readIntegers} reads the integer tensors of int64 model inputs
 * ({@code '<i8'} / {@code '<i4'}, INT64 / INT32), which set shapes rather than carry data.
 * <p>
 * Errors are one line naming the file: an {@link IOException} for anything wrong with the file (missing, truncated,
 * bad header, not float, data not matching the shape), an {@link IllegalArgumentException} for an extension that is
 * neither {@code .npy} nor {@code .pb}. Stateless; any thread may call it; cold path (loading, checking).
 */
public final class TensorFiles
{
    private static final byte[] NPY_MAGIC = { (byte)0x93, 'N', 'U', 'M', 'P', 'Y' };
    private static final int NPY_ALIGNMENT = 64;
    private static final Pattern NPY_DESCR = Pattern.compile("['\"]descr['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");
    private static final Pattern NPY_FORTRAN = Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
    private static final Pattern NPY_SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");

    private enum Format
    {
        NPY, PB
    }

    private TensorFiles()
    {
    }

    /**
     * @param file a {@code .npy} or {@code .pb} file.
     * @return its tensor; named by the {@code TensorProto}'s name for {@code .pb}, by the file name without its
     * extension for {@code .npy}.
     * @throws IOException              if the file is missing, unreadable or not a float tensor of consistent shape.
     * @throws IllegalArgumentException if the extension is neither {@code .npy} nor {@code .pb}.
     */
    public static HostTensor read(final Path file) throws IOException
    {
        final Format format = formatOf(file);
        final byte[] bytes;
        try
        {
            bytes = Files.readAllBytes(file);
        }
        catch (final NoSuchFileException ex)
        {
            throw new NoSuchFileException(file.toString(), null, "no such tensor file");
        }
        return format == Format.NPY ? parseNpy(file, bytes) : parsePb(file, bytes);
    }

    /**
     * @param file a {@code .npy} ({@code '<i8'} or {@code '<i4'}) or {@code .pb} (INT64 or INT32, in {@code raw_data}
     *             or the typed field) file holding an integer tensor.
     * @return its tensor, widened to int64; named as {@link #read} names it.
     * @throws IOException              if the file is missing, unreadable or not an integer tensor of consistent shape.
     * @throws IllegalArgumentException if the extension is neither {@code .npy} nor {@code .pb}.
     */
    public static HostIntTensor readIntegers(final Path file) throws IOException
    {
        final Format format = formatOf(file);
        final byte[] bytes;
        try
        {
            bytes = Files.readAllBytes(file);
        }
        catch (final NoSuchFileException ex)
        {
            throw new NoSuchFileException(file.toString(), null, "no such tensor file");
        }
        return format == Format.NPY ? parseNpyIntegers(file, bytes) : parsePbIntegers(file, bytes);
    }

    /**
     * Writes a tensor, replacing the file if it exists; {@code .npy} files do not keep the tensor's name.
     *
     * @param file   a path ending in {@code .npy} or {@code .pb}.
     * @param tensor the tensor to write.
     * @throws IOException              if the file cannot be written.
     * @throws IllegalArgumentException if the extension is neither {@code .npy} nor {@code .pb}.
     */
    public static void write(final Path file, final HostTensor tensor) throws IOException
    {
        final byte[] bytes = formatOf(file) == Format.NPY ? npyBytes(tensor) : pbBytes(tensor);
        Files.write(file, bytes);
    }

    private static Format formatOf(final Path file)
    {
        final Path fileName = file.getFileName();
        final String name = fileName == null ? "" : fileName.toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npy"))
        {
            return Format.NPY;
        }
        if (name.endsWith(".pb"))
        {
            return Format.PB;
        }
        throw new IllegalArgumentException(file + ": unknown tensor file extension, expected .npy or .pb");
    }

    /** The parsed preamble of a {@code .npy} file: element type, shape (C order checked) and where the data starts. */
    private record NpyHeader(String descr, long[] dims, int dataStart)
    {
    }

    private static NpyHeader npyHeader(final Path file, final byte[] bytes) throws IOException
    {
        if (bytes.length < 10)
        {
            throw new IOException(file + ": truncated, " + bytes.length + " bytes is shorter than a .npy preamble");
        }
        if (!Arrays.equals(bytes, 0, NPY_MAGIC.length, NPY_MAGIC, 0, NPY_MAGIC.length))
        {
            throw new IOException(file + ": bad header, not a .npy file (magic \\x93NUMPY missing)");
        }
        final int major = bytes[6] & 0xFF;
        final ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        final long headerLength;
        final int headerStart;
        if (major == 1)
        {
            headerLength = buffer.getShort(8) & 0xFFFF;
            headerStart = 10;
        }
        else if (major == 2 || major == 3)
        {
            if (bytes.length < 12)
            {
                throw new IOException(file + ": truncated, " + bytes.length + " bytes is shorter than a .npy " +
                    major + ".0 preamble");
            }
            headerLength = buffer.getInt(8) & 0xFFFF_FFFFL;
            headerStart = 12;
        }
        else
        {
            throw new IOException(file + ": bad header, unsupported .npy format version " + major + "." + bytes[7]);
        }
        if (headerStart + headerLength > bytes.length)
        {
            throw new IOException(file + ": truncated, the .npy header of " + headerLength + " bytes runs past the " +
                "end of the file (" + bytes.length + " bytes)");
        }
        final int dataStart = headerStart + (int)headerLength;
        final String header = new String(bytes, headerStart, (int)headerLength,
            major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).trim();
        if (!header.startsWith("{") || !header.endsWith("}"))
        {
            throw new IOException(file + ": bad header, .npy header is not a dictionary: " + oneLine(header));
        }

        final String descr = group(file, NPY_DESCR, header, "descr");
        if ("True".equals(group(file, NPY_FORTRAN, header, "fortran_order")))
        {
            throw new IOException(file + ": fortran_order True is not supported, save a C-ordered array");
        }
        return new NpyHeader(descr, npyShape(file, group(file, NPY_SHAPE, header, "shape")), dataStart);
    }

    private static HostTensor parseNpy(final Path file, final byte[] bytes) throws IOException
    {
        final NpyHeader npy = npyHeader(file, bytes);
        final String descr = npy.descr();
        final int dataStart = npy.dataStart();
        final int itemBytes;
        if ("<f4".equals(descr))
        {
            itemBytes = Float.BYTES;
        }
        else if ("<f8".equals(descr))
        {
            itemBytes = Double.BYTES;
        }
        else
        {
            throw new IOException(file + ": dtype '" + descr + "' is not float, expected '<f4' (or '<f8')");
        }
        final long[] dims = npy.dims();

        final long count = elementCount(file, dims);
        final long needBytes = count * itemBytes;
        final long haveBytes = bytes.length - dataStart;
        if (haveBytes < needBytes)
        {
            throw new IOException(file + ": truncated, shape " + Arrays.toString(dims) + " needs " + needBytes +
                " data bytes, the file holds " + haveBytes);
        }
        if (haveBytes > needBytes)
        {
            throw new IOException(file + ": element count mismatch, shape " + Arrays.toString(dims) + " has " + count +
                " elements but the file holds " + haveBytes + " data bytes (" + haveBytes / itemBytes + " elements)");
        }
        final float[] data = decode(bytes, dataStart, (int)count, itemBytes == Double.BYTES);
        return new HostTensor(stem(file), dims, data);
    }

    private static HostIntTensor parseNpyIntegers(final Path file, final byte[] bytes) throws IOException
    {
        final NpyHeader npy = npyHeader(file, bytes);
        final int itemBytes;
        if ("<i8".equals(npy.descr()))
        {
            itemBytes = Long.BYTES;
        }
        else if ("<i4".equals(npy.descr()))
        {
            itemBytes = Integer.BYTES;
        }
        else
        {
            throw new IOException(file + ": dtype '" + npy.descr() + "' is not an integer, expected '<i8' (or '<i4')");
        }
        final long count = elementCount(file, npy.dims());
        final long haveBytes = bytes.length - npy.dataStart();
        if (haveBytes != count * itemBytes)
        {
            throw new IOException(file + ": element count mismatch, shape " + Arrays.toString(npy.dims()) + " needs " +
                count * itemBytes + " data bytes, the file holds " + haveBytes);
        }
        return new HostIntTensor(stem(file), npy.dims(),
            decodeIntegers(bytes, npy.dataStart(), (int)count, itemBytes == Long.BYTES));
    }

    private static HostIntTensor parsePbIntegers(final Path file, final byte[] bytes) throws IOException
    {
        final TensorProto proto = parseProto(file, bytes);
        final int dataType = proto.getDataType();
        final boolean isLong = dataType == TensorProto.DataType.INT64.getNumber();
        if (!isLong && dataType != TensorProto.DataType.INT32.getNumber())
        {
            final TensorProto.DataType known = TensorProto.DataType.forNumber(dataType);
            throw new IOException(file + ": data type " + (known == null ? "unknown" : known.name()) + " (" + dataType +
                ") is not an integer, expected INT64 (or INT32)");
        }
        final long[] dims = proto.getDimsList().stream().mapToLong(Long::longValue).toArray();
        if (Arrays.stream(dims).anyMatch(d -> d < 0))
        {
            throw new IOException(file + ": bad header, negative dimension in dims " + Arrays.toString(dims));
        }
        final long count = elementCount(file, dims);
        final int itemBytes = isLong ? Long.BYTES : Integer.BYTES;
        if (!proto.getRawData().isEmpty())
        {
            final ByteString raw = proto.getRawData();
            if (raw.size() != count * itemBytes)
            {
                throw new IOException(file + ": element count mismatch, dims " + Arrays.toString(dims) + " need " +
                    count * itemBytes + " bytes, raw_data holds " + raw.size() + " bytes");
            }
            return new HostIntTensor(proto.getName(), dims,
                decodeIntegers(raw.toByteArray(), 0, (int)count, isLong));
        }
        final int have = isLong ? proto.getInt64DataCount() : proto.getInt32DataCount();
        if (have != count)
        {
            throw new IOException(file + ": element count mismatch, dims " + Arrays.toString(dims) + " need " +
                count + " elements, " + (isLong ? "int64_data" : "int32_data") + " holds " + have);
        }
        final long[] data = new long[(int)count];
        for (int i = 0; i < data.length; i++)
        {
            data[i] = isLong ? proto.getInt64Data(i) : proto.getInt32Data(i);
        }
        return new HostIntTensor(proto.getName(), dims, data);
    }

    private static long[] decodeIntegers(final byte[] bytes, final int offset, final int count, final boolean isLong)
    {
        final ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, count * (isLong ? Long.BYTES : Integer.BYTES))
            .slice()
            .order(ByteOrder.LITTLE_ENDIAN);
        final long[] data = new long[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = isLong ? buffer.getLong(i * Long.BYTES) : buffer.getInt(i * Integer.BYTES);
        }
        return data;
    }

    private static String group(final Path file, final Pattern pattern, final String header, final String key)
        throws IOException
    {
        final Matcher matcher = pattern.matcher(header);
        if (!matcher.find())
        {
            throw new IOException(file + ": bad header, no valid '" + key + "' in .npy header " + oneLine(header));
        }
        return matcher.group(1);
    }

    private static long[] npyShape(final Path file, final String tuple) throws IOException
    {
        final List<String> parts = Arrays.stream(tuple.split(","))
            .map(String::trim)
            .filter(part -> !part.isEmpty())
            .toList();
        final long[] dims = new long[parts.size()];
        for (int i = 0; i < dims.length; i++)
        {
            try
            {
                dims[i] = Long.parseLong(parts.get(i));
            }
            catch (final NumberFormatException ex)
            {
                throw new IOException(file + ": bad header, shape (" + tuple + ") is not a tuple of integers");
            }
            if (dims[i] < 0)
            {
                throw new IOException(file + ": bad header, negative dimension in shape (" + tuple + ")");
            }
        }
        return dims;
    }

    /** @return the TensorProto in {@code bytes}, whose data must be inline. */
    private static TensorProto parseProto(final Path file, final byte[] bytes) throws IOException
    {
        final TensorProto proto;
        try
        {
            proto = TensorProto.parseFrom(bytes);
        }
        catch (final InvalidProtocolBufferException ex)
        {
            throw new IOException(file + ": truncated or not a TensorProto (" + oneLine(ex.getMessage()) + ")");
        }
        if (proto.getDataLocation() == TensorProto.DataLocation.EXTERNAL)
        {
            throw new IOException(file + ": tensor data stored externally is not supported");
        }
        return proto;
    }

    private static HostTensor parsePb(final Path file, final byte[] bytes) throws IOException
    {
        final TensorProto proto = parseProto(file, bytes);
        final int dataType = proto.getDataType();
        final boolean isDouble = dataType == TensorProto.DataType.DOUBLE.getNumber();
        if (dataType != TensorProto.DataType.FLOAT.getNumber() && !isDouble)
        {
            final TensorProto.DataType known = TensorProto.DataType.forNumber(dataType);
            throw new IOException(file + ": data type " + (known == null ? "unknown" : known.name()) + " (" + dataType +
                ") is not float, expected FLOAT (or DOUBLE)");
        }
        final long[] dims = proto.getDimsList().stream().mapToLong(Long::longValue).toArray();
        for (final long d : dims)
        {
            if (d < 0)
            {
                throw new IOException(file + ": bad header, negative dimension in dims " + Arrays.toString(dims));
            }
        }
        final long count = elementCount(file, dims);
        final int itemBytes = isDouble ? Double.BYTES : Float.BYTES;
        final float[] data;
        if (!proto.getRawData().isEmpty())
        {
            final ByteString raw = proto.getRawData();
            if (raw.size() != count * itemBytes)
            {
                throw new IOException(file + ": element count mismatch, dims " + Arrays.toString(dims) + " need " +
                    count + " elements (" + count * itemBytes + " bytes), raw_data holds " + raw.size() + " bytes");
            }
            data = decode(raw.toByteArray(), 0, (int)count, isDouble);
        }
        else
        {
            final int have = isDouble ? proto.getDoubleDataCount() : proto.getFloatDataCount();
            if (have != count)
            {
                throw new IOException(file + ": element count mismatch, dims " + Arrays.toString(dims) + " need " +
                    count + " elements, " + (isDouble ? "double_data" : "float_data") + " holds " + have);
            }
            data = new float[(int)count];
            for (int i = 0; i < data.length; i++)
            {
                data[i] = isDouble ? (float)proto.getDoubleData(i) : proto.getFloatData(i);
            }
        }
        return new HostTensor(proto.getName(), dims, data);
    }

    private static long elementCount(final Path file, final long[] dims) throws IOException
    {
        try
        {
            final long count = HostTensor.elementCount(dims);
            if (count > Integer.MAX_VALUE - 8)
            {
                throw new IOException(file + ": shape " + Arrays.toString(dims) + " is too large for one array");
            }
            return count;
        }
        catch (final ArithmeticException ex)
        {
            throw new IOException(file + ": bad header, shape " + Arrays.toString(dims) + " overflows");
        }
    }

    private static float[] decode(final byte[] bytes, final int offset, final int count, final boolean isDouble)
    {
        final ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, count * (isDouble ? Double.BYTES : Float.BYTES))
            .slice()
            .order(ByteOrder.LITTLE_ENDIAN);
        final float[] data = new float[count];
        if (isDouble)
        {
            for (int i = 0; i < count; i++)
            {
                data[i] = (float)buffer.getDouble(i * Double.BYTES);
            }
        }
        else
        {
            buffer.asFloatBuffer().get(data);
        }
        return data;
    }

    private static byte[] npyBytes(final HostTensor tensor)
    {
        final long[] dims = tensor.dims();
        final StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++)
        {
            shape.append(i > 0 ? ", " : "").append(dims[i]);
        }
        shape.append(dims.length == 1 ? ",)" : ")");
        final String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";

        // The header (with its trailing newline) is padded with spaces so the data starts 64-byte aligned, as NumPy
        // writes it; version 2.0 only when the header outgrows a 16-bit length.
        final boolean v2 = dict.length() + 1 + 10 + NPY_ALIGNMENT > 0xFFFF;
        final int preamble = v2 ? 12 : 10;
        final int unpadded = preamble + dict.length() + 1;
        final int headerLength = dict.length() + 1 + (NPY_ALIGNMENT - unpadded % NPY_ALIGNMENT) % NPY_ALIGNMENT;
        final byte[] header = (dict + " ".repeat(headerLength - dict.length() - 1) + "\n")
            .getBytes(StandardCharsets.ISO_8859_1);

        final ByteBuffer out = ByteBuffer.allocate(preamble + headerLength + tensor.size() * Float.BYTES)
            .order(ByteOrder.LITTLE_ENDIAN);
        out.put(NPY_MAGIC).put((byte)(v2 ? 2 : 1)).put((byte)0);
        if (v2)
        {
            out.putInt(headerLength);
        }
        else
        {
            out.putShort((short)headerLength);
        }
        out.put(header);
        final FloatBuffer floats = out.asFloatBuffer();
        floats.put(tensor.data());
        return out.array();
    }

    private static byte[] pbBytes(final HostTensor tensor)
    {
        final ByteBuffer raw = ByteBuffer.allocate(tensor.size() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(tensor.data());
        final TensorProto.Builder proto = TensorProto.newBuilder()
            .setName(tensor.name())
            .setDataType(TensorProto.DataType.FLOAT.getNumber())
            .setRawData(UnsafeByteOperations.unsafeWrap(raw.array()));
        for (final long d : tensor.dims())
        {
            proto.addDims(d);
        }
        return proto.build().toByteArray();
    }

    private static String stem(final Path file)
    {
        final String name = file.getFileName().toString();
        final int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static String oneLine(final String text)
    {
        final String flat = text == null ? "" : text.replaceAll("\\s+", " ").trim();
        return flat.length() > 120 ? flat.substring(0, 120) + "..." : flat;
    }
}
