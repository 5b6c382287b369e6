package org.coedge.kernels;

import java.util.ArrayList;
import java.util.List;

/**
 * Owns the off-heap regions allocated through it and frees them all at once when closed, instead of leaving them
 * to the garbage collector (direct buffers do not pressure the heap, so superseded copies of a model's weights could
 * otherwise pile up). Whoever holds the owner decides when nothing reads its regions any more: a prepared model for
 * its weights, an executor for its activation arena and scratch. Closing is idempotent; a region that memory outside
 * the owner's users may still view (a zero-copy output handed to a caller) is {@link #leaveToCollector left to the
 * collector} instead.
 * <p>
 * Cold path only; thread-safe (the methods are synchronized), though one preparing thread is the usual caller.
 */
public final class RegionOwner implements RegionAllocator, AutoCloseable
{
    private final String name;
    private final List<FloatRegion> regions = new ArrayList<>();
    private long allocatedBytes;
    private boolean closed;

    /**
     * @return the bytes of direct buffers this JVM holds now (its "direct" buffer pool), every region's and every
     *     other direct buffer's: what a close should give back, for diagnostics and tests.
     */
    public static long directBytesInUse()
    {
        for (final java.lang.management.BufferPoolMXBean pool :
            java.lang.management.ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class))
        {
            if ("direct".equals(pool.getName()))
            {
                return pool.getMemoryUsed();
            }
        }
        throw new IllegalStateException("this JVM reports no direct buffer pool");
    }

    /** @param name what owns the memory, for messages ("weights of vgg16"). */
    public RegionOwner(final String name)
    {
        this.name = name;
    }

    /**
     * @throws IllegalStateException if the owner is closed.
     */
    @Override
    public synchronized FloatRegion allocate(final int length)
    {
        if (closed)
        {
            throw new IllegalStateException(name + " is closed: no region can be allocated from it");
        }
        final FloatRegion region = FloatRegion.allocate(length, true);
        regions.add(region);
        allocatedBytes += (long)length * Float.BYTES;
        return region;
    }

    /**
     * Stops owning {@code region}: {@link #close()} will not free it, the garbage collector will once nothing views it.
     *
     * @throws IllegalArgumentException if this owner did not allocate it (or already let it go).
     */
    public synchronized void leaveToCollector(final FloatRegion region)
    {
        for (int i = regions.size() - 1; i >= 0; i--)
        {
            if (regions.get(i) == region)
            {
                regions.remove(i);
                allocatedBytes -= (long)region.length() * Float.BYTES;
                return;
            }
        }
        throw new IllegalArgumentException(name + " does not own that region");
    }

    /** @return bytes of the regions this owner holds now (0 once closed). */
    public synchronized long allocatedBytes()
    {
        return allocatedBytes;
    }

    public synchronized boolean isClosed()
    {
        return closed;
    }

    public String name()
    {
        return name;
    }

    /** Frees every region it owns; they become empty ({@link FloatRegion#isFreed()}). Idempotent. */
    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        for (final FloatRegion r : regions)
        {
            r.free();
        }
        regions.clear();
        allocatedBytes = 0;
    }

    @Override
    public String toString()
    {
        return name;
    }
}
