package org.coedge.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A region of off-heap float memory: a direct, native-order {@link FloatBuffer} for Java loops (every access is
 * bounds-checked by the buffer) and its base address for OpenBLAS. The region owns the memory only when created by
 * {@link #allocate(int)}; it is then released when the region becomes unreachable (direct buffer cleaner).
 * <p>
 * Not thread-safe for relative buffer operations; kernels use only absolute get/put, so several threads may read and
 * write disjoint parts of one region.
 */
public final class FloatRegion
{
    /** Cache-line (and AVX-512) alignment of every region's first float. */
    public static final int ALIGNMENT_BYTES = 64;

    private final ByteBuffer bytes;
    private final FloatBuffer floats;
    private final long address;
    private final int length;

    private FloatRegion(final ByteBuffer bytes)
    {
        if (!bytes.isDirect())
        {
            throw new IllegalArgumentException("FloatRegion needs a direct buffer");
        }
        this.bytes = bytes.order(ByteOrder.nativeOrder());
        this.floats = this.bytes.asFloatBuffer();
        this.length = floats.capacity();
        this.address = Blas.addressOf(this.bytes);
    }

    /**
     * Allocates a zeroed region of {@code length} floats whose first float is {@link #ALIGNMENT_BYTES}-aligned.
     *
     * @param length number of floats, at least 1.
     * @return the new region.
     */
    public static FloatRegion allocate(final int length)
    {
        if (length < 1 || length > (Integer.MAX_VALUE - ALIGNMENT_BYTES) / Float.BYTES)
        {
            throw new IllegalArgumentException("region length out of range: " + length + " floats");
        }
        final int roundedBytes = (length * Float.BYTES + ALIGNMENT_BYTES - 1) / ALIGNMENT_BYTES * ALIGNMENT_BYTES;
        final ByteBuffer raw = ByteBuffer.allocateDirect(roundedBytes + ALIGNMENT_BYTES);
        return new FloatRegion(raw.alignedSlice(ALIGNMENT_BYTES).limit(length * Float.BYTES).slice());
    }

    /**
     * Wraps existing direct memory (for instance a transport buffer); the caller keeps ownership.
     *
     * @param direct a direct buffer; its position..limit become the region.
     * @return a region over the same memory.
     */
    public static FloatRegion wrap(final ByteBuffer direct)
    {
        return new FloatRegion(direct.slice());
    }

    /** @return the region as floats, for absolute get/put. */
    public FloatBuffer floats()
    {
        return floats;
    }

    /** @return the region as bytes (same memory), for transports. */
    public ByteBuffer bytes()
    {
        return bytes;
    }

    /** @return the address of float 0. */
    public long address()
    {
        return address;
    }

    /** @return the number of floats. */
    public int length()
    {
        return length;
    }

    /**
     * Checks that floats {@code [offset, offset + count)} lie inside this region.
     *
     * @throws IndexOutOfBoundsException naming the range when they do not.
     */
    public void checkRange(final long offset, final long count)
    {
        if (offset < 0 || count < 0 || offset + count > length)
        {
            throw new IndexOutOfBoundsException(
                "floats [" + offset + ", " + (offset + count) + ") outside region of " + length);
        }
    }

    /** Sets floats {@code [offset, offset + count)} to {@code value}. */
    public void fill(final int offset, final int count, final float value)
    {
        checkRange(offset, count);
        for (int i = offset, end = offset + count; i < end; i++)
        {
            floats.put(i, value);
        }
    }

    /** Copies {@code src} into this region at {@code offset}. */
    public void put(final int offset, final float[] src)
    {
        checkRange(offset, src.length);
        floats.put(offset, src, 0, src.length);
    }

    /** Copies {@code count} floats from {@code offset} into a new array (cold path). */
    public float[] toArray(final int offset, final int count)
    {
        checkRange(offset, count);
        final float[] out = new float[count];
        floats.get(offset, out, 0, count);
        return out;
    }
}
