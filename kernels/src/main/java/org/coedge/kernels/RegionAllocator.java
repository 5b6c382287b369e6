package org.coedge.kernels;

/**
 * Where a kernel takes the off-heap memory of its prepared weights from: a {@link RegionOwner}, which frees all it
 * handed out when it closes, or {@link #COLLECTED}, whose regions the garbage collector releases. Cold path.
 */
@FunctionalInterface
public interface RegionAllocator
{
    /** Plain {@link FloatRegion#allocate(int)}: released when unreachable, for tests, benchmarks and one-off tools. */
    RegionAllocator COLLECTED = FloatRegion::allocate;

    /**
     * @param length number of floats, at least 1.
     * @return a zeroed, aligned region ({@link FloatRegion#allocate(int)}).
     */
    FloatRegion allocate(int length);
}
