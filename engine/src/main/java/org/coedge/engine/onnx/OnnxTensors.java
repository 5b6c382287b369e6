package org.coedge.engine.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;

/**
 * Decodes the tensors of an ONNX file (initializers and tensor attributes) into {@link ConstTensor}s: raw data or the
 * typed fields, little-endian, every count checked against the dims before anything is copied. Called by
 * {@link OnnxImporter} on the loading thread; stateless.
 */
final class OnnxTensors
{
    private OnnxTensors()
    {
    }

    /**
     * @param source the model's name, for errors.
     * @param what   what the tensor is (an initializer, an attribute), for errors.
     * @return the tensor {@code t} holds, decoded: floating types as floats, integer types as longs.
     * @throws ModelException naming the tensor if it is external, segmented, of a type the engine cannot read, or
     *                        holds a different number of elements than its dims say.
     */
    static ConstTensor decode(final OnnxMl.TensorProto t, final String source, final String what)
    {
        if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0)
        {
            throw new ModelException(source + ": " + what + " is stored as external data, which is not " +
                "supported; save the model with its weights inside the .onnx file");
        }
        if (t.hasSegment())
        {
            throw new ModelException(source + ": " + what + " is segmented, which is not supported");
        }
        final long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        for (final long d : dims)
        {
            if (d < 0)
            {
                throw new ModelException(source + ": " + what + " has negative dims " + Dims.str(dims));
            }
        }
        final long count = Dims.count(dims);
        if (count > Integer.MAX_VALUE)
        {
            throw new ModelException(source + ": " + what + " is too large (" + count + " elements)");
        }
        final int type = t.getDataType();
        final int n = (int)count;
        final ByteBuffer raw = t.hasRawData() ? t.getRawData().asReadOnlyByteBuffer()
            .order(ByteOrder.LITTLE_ENDIAN) : null;
        final int have;
        final ConstTensor result;
        switch (type)
        {
            case OnnxMl.TensorProto.DataType.FLOAT_VALUE:
            {
                have = raw != null ? raw.remaining() / Float.BYTES : t.getFloatDataCount();
                checkCount(source, what, dims, n, have, raw, Float.BYTES);
                final float[] data = new float[n];
                if (raw != null)
                {
                    raw.asFloatBuffer().get(data);
                }
                else
                {
                    for (int i = 0; i < n; i++)
                    {
                        data[i] = t.getFloatData(i);
                    }
                }
                result = ConstTensor.ofFloats(dims, data);
                break;
            }
            case OnnxMl.TensorProto.DataType.DOUBLE_VALUE:
            {
                have = raw != null ? raw.remaining() / Double.BYTES : t.getDoubleDataCount();
                checkCount(source, what, dims, n, have, raw, Double.BYTES);
                final float[] data = new float[n];
                for (int i = 0; i < n; i++)
                {
                    data[i] = (float)(raw != null ? raw.getDouble() : t.getDoubleData(i));
                }
                result = ConstTensor.ofFloats(dims, data);
                break;
            }
            case OnnxMl.TensorProto.DataType.FLOAT16_VALUE:
            case OnnxMl.TensorProto.DataType.BFLOAT16_VALUE:
            {
                have = raw != null ? raw.remaining() / Short.BYTES : t.getInt32DataCount();
                checkCount(source, what, dims, n, have, raw, Short.BYTES);
                final boolean half = type == OnnxMl.TensorProto.DataType.FLOAT16_VALUE;
                final float[] data = new float[n];
                for (int i = 0; i < n; i++)
                {
                    final int bits = (raw != null ? raw.getShort() : t.getInt32Data(i)) & 0xFFFF;
                    data[i] = half ? halfToFloat(bits) : Float.intBitsToFloat(bits << 16);
                }
                result = ConstTensor.ofFloats(dims, data);
                break;
            }
            case OnnxMl.TensorProto.DataType.INT64_VALUE:
            case OnnxMl.TensorProto.DataType.UINT64_VALUE:
            {
                final boolean signed = type == OnnxMl.TensorProto.DataType.INT64_VALUE;
                have = raw != null ? raw.remaining() / Long.BYTES :
                    signed ? t.getInt64DataCount() : t.getUint64DataCount();
                checkCount(source, what, dims, n, have, raw, Long.BYTES);
                final long[] data = new long[n];
                for (int i = 0; i < n; i++)
                {
                    data[i] = raw != null ? raw.getLong() : signed ? t.getInt64Data(i) : t.getUint64Data(i);
                }
                result = ConstTensor.ofLongs(dims, data);
                break;
            }
            case OnnxMl.TensorProto.DataType.UINT32_VALUE:
            {
                have = raw != null ? raw.remaining() / Integer.BYTES : t.getUint64DataCount();
                checkCount(source, what, dims, n, have, raw, Integer.BYTES);
                final long[] data = new long[n];
                for (int i = 0; i < n; i++)
                {
                    data[i] = raw != null ? raw.getInt() & 0xFFFF_FFFFL : t.getUint64Data(i);
                }
                result = ConstTensor.ofLongs(dims, data);
                break;
            }
            case OnnxMl.TensorProto.DataType.INT32_VALUE:
            case OnnxMl.TensorProto.DataType.INT16_VALUE:
            case OnnxMl.TensorProto.DataType.UINT16_VALUE:
            case OnnxMl.TensorProto.DataType.INT8_VALUE:
            case OnnxMl.TensorProto.DataType.UINT8_VALUE:
            case OnnxMl.TensorProto.DataType.BOOL_VALUE:
            {
                final int width = elementBytes(type);
                have = raw != null ? raw.remaining() / width : t.getInt32DataCount();
                checkCount(source, what, dims, n, have, raw, width);
                final long[] data = new long[n];
                for (int i = 0; i < n; i++)
                {
                    data[i] = raw != null ? readInt(raw, type) : t.getInt32Data(i);
                }
                result = ConstTensor.ofLongs(dims, data);
                break;
            }
            default:
                throw new ModelException(source + ": " + what + " has data type " + OnnxImporter.typeName(type) +
                    ", which is not supported");
        }
        return result;
    }

    private static void checkCount(
        final String source, final String what, final long[] dims, final int n, final int have, final ByteBuffer raw, final int width)
    {
        if (have != n || (raw != null && raw.remaining() != (long)n * width))
        {
            throw new ModelException(source + ": " + what + " declares dims " + Dims.str(dims) + " (" + n +
                " elements) but holds " + (raw != null ? raw.remaining() + " bytes of raw data" :
                have + " elements"));
        }
    }

    private static int elementBytes(final int type)
    {
        switch (type)
        {
            case OnnxMl.TensorProto.DataType.INT32_VALUE:
                return 4;
            case OnnxMl.TensorProto.DataType.INT16_VALUE:
            case OnnxMl.TensorProto.DataType.UINT16_VALUE:
                return 2;
            default:
                return 1;
        }
    }

    private static long readInt(final ByteBuffer raw, final int type)
    {
        switch (type)
        {
            case OnnxMl.TensorProto.DataType.INT32_VALUE:
                return raw.getInt();
            case OnnxMl.TensorProto.DataType.INT16_VALUE:
                return raw.getShort();
            case OnnxMl.TensorProto.DataType.UINT16_VALUE:
                return raw.getShort() & 0xFFFF;
            case OnnxMl.TensorProto.DataType.INT8_VALUE:
                return raw.get();
            default:
                return raw.get() & 0xFF;
        }
    }

    /** IEEE 754 binary16 to binary32; exact for every half value, subnormals included. */
    static float halfToFloat(final int bits)
    {
        final int sign = (bits & 0x8000) << 16;
        final int exponent = (bits >>> 10) & 0x1F;
        final int mantissa = bits & 0x3FF;
        if (exponent == 0x1F)
        {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent == 0)
        {
            final float magnitude = mantissa * 0x1p-24f;
            return sign != 0 ? -magnitude : magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }
}
