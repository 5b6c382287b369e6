package org.coedge.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * A region of off-heap float memory: a direct, native-order {@link FloatBuffer} for Java loops (every access is
 * bounds-checked by the buffer) and its base address for OpenBLAS. A region made by {@link #allocate(int)} owns its
 * memory, which the garbage collector releases once the region is unreachable (direct buffer cleaner); one made by a
 * {@link RegionOwner} is released by that owner when it closes, at once. A freed region is empty: its length is 0,
 * its buffers hold nothing and {@link #checkRange} refuses every non-empty range, so nothing reaches the freed
 * address through it. A {@link #wrap wrapped} region never frees the memory it views.
 * <p>
 * Not thread-safe for relative buffer operations; kernels use only absolute get/put, so several threads may read and
 * write disjoint parts of one region.
 */
public final class FloatRegion
{
    /** Cache-line (and AVX-512) alignment of every region's first float. */
    public static final int ALIGNMENT_BYTES = 64;

    private static final ByteBuffer EMPTY = ByteBuffer.allocateDirect(0).order(ByteOrder.nativeOrder());

    private final ByteBuffer allocated; // the unsliced buffer allocateDirect returned, when an owner may free it
    private ByteBuffer bytes;
    private FloatBuffer floats;
    private long address;
    private int length;
    private boolean freed;

    private FloatRegion(final ByteBuffer bytes)
    {
        this(bytes, null);
    }

    private FloatRegion(final ByteBuffer bytes, final ByteBuffer allocated)
    {
        if (!bytes.isDirect())
        {
            throw new IllegalArgumentException("FloatRegion needs a direct buffer");
        }
        this.bytes = bytes.order(ByteOrder.nativeOrder());
        this.floats = this.bytes.asFloatBuffer();
        this.length = floats.capacity();
        this.address = Blas.addressOf(this.bytes);
        this.allocated = allocated;
    }

    /**
     * Allocates a zeroed region of {@code length} floats whose first float is {@link #ALIGNMENT_BYTES}-aligned.
     *
     * @param length number of floats, at least 1.
     * @return the new region.
     */
    public static FloatRegion allocate(final int length)
    {
        return allocate(length, false);
    }

    /** As {@link #allocate(int)}; a region that is {@code freeable} keeps its buffer for {@link #free()}. */
    static FloatRegion allocate(final int length, final boolean freeable)
    {
        if (length < 1 || length > (Integer.MAX_VALUE - ALIGNMENT_BYTES) / Float.BYTES)
        {
            throw new IllegalArgumentException("region length out of range: " + length + " floats");
        }
        final int roundedBytes = (length * Float.BYTES + ALIGNMENT_BYTES - 1) / ALIGNMENT_BYTES * ALIGNMENT_BYTES;
        final ByteBuffer raw = ByteBuffer.allocateDirect(roundedBytes + ALIGNMENT_BYTES);
        return new FloatRegion(raw.alignedSlice(ALIGNMENT_BYTES).limit(length * Float.BYTES).slice(),
            freeable ? raw : null);
    }

    /**
     * Releases the memory now, for {@link RegionOwner} only: the region becomes empty first, so that nothing reached
     * through it touches the freed address. Idempotent.
     *
     * @throws IllegalStateException if the region was not made freeable ({@link #allocate(int, boolean)}).
     */
    void free()
    {
        if (allocated == null)
        {
            throw new IllegalStateException("region of " + length + " floats does not own freeable memory");
        }
        if (freed)
        {
            return;
        }
        freed = true;
        bytes = EMPTY;
        floats = EMPTY.asFloatBuffer();
        address = 0;
        length = 0;
        DirectMemory.free(allocated);
    }

    /** @return true once the owner of this region released its memory: the region is then empty. */
    public boolean isFreed()
    {
        return freed;
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
     * @throws IllegalStateException     when the region was freed and the range is not empty.
     */
    public void checkRange(final long offset, final long count)
    {
        if (offset < 0 || count < 0 || offset + count > length)
        {
            if (freed)
            {
                throw new IllegalStateException("floats [" + offset + ", " + (offset + count) + ") of a freed region");
            }
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
