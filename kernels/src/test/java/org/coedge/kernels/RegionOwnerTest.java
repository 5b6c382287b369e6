package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.TOLERANCE;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class RegionOwnerTest
{
    @Test
    void shouldReturnTheDirectMemoryAtOnceWhenClosed()
    {
        final int floats = 4 << 20; // 16 MiB
        final RegionOwner owner = new RegionOwner("test weights");
        final FloatRegion region = owner.allocate(floats);
        region.fill(0, floats, 1.5f);
        assertEquals(4L * floats, owner.allocatedBytes());
        // measured across close alone: a collection in between (of other buffers) could only add to the drop
        final long before = RegionOwner.directBytesInUse();
        owner.close();
        final long freed = before - RegionOwner.directBytesInUse();
        assertTrue(freed >= 4L * floats, "closing freed " + freed + " of " + 4L * floats + " bytes");
        assertEquals(0, owner.allocatedBytes());
    }

    @Test
    void shouldRefuseEveryAccessToAFreedRegionInsteadOfTouchingItsAddress()
    {
        final RegionOwner owner = new RegionOwner("test weights");
        final FloatRegion a = owner.allocate(64);
        final FloatRegion b = owner.allocate(64);
        final FloatRegion c = FloatRegion.allocate(64);
        owner.close();
        assertTrue(a.isFreed());
        assertEquals(0, a.length());
        assertEquals(0, a.floats().capacity());
        assertEquals(0, a.bytes().capacity());
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.checkRange(0, 1));
        assertTrue(e.getMessage().contains("freed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> a.toArray(0, 1));
        assertThrows(IllegalStateException.class, () -> a.put(0, new float[1]));
        assertThrows(IndexOutOfBoundsException.class, () -> a.floats().get(0));
        // OpenBLAS is never reached: the extents are checked against the (now empty) regions first
        assertThrows(IllegalStateException.class,
            () -> Blas.sgemm(false, false, 8, 8, 8, 1f, a, 0, 8, b, 0, 8, 0f, c, 0, 8));
        assertThrows(IllegalStateException.class, () -> Blas.sgemv(8, 8, 1f, a, 0, 8, c, 0, 0f, c, 8));
        a.checkRange(0, 0); // an empty range touches nothing
    }

    @Test
    void shouldCloseOnceAndAllocateNothingAfterwards()
    {
        final RegionOwner owner = new RegionOwner("weights of a test model");
        final FloatRegion a = owner.allocate(16);
        owner.close();
        owner.close();
        assertTrue(owner.isClosed());
        assertTrue(a.isFreed());
        final IllegalStateException e = assertThrows(IllegalStateException.class, () -> owner.allocate(16));
        assertTrue(e.getMessage().contains("weights of a test model"), e.getMessage());
    }

    @Test
    void shouldLeaveARegionToTheCollectorWhenAskedAndNeverFreeWrappedMemory()
    {
        final RegionOwner owner = new RegionOwner("test arena");
        final FloatRegion kept = owner.allocate(16);
        final FloatRegion freed = owner.allocate(16);
        owner.leaveToCollector(kept);
        assertThrows(IllegalArgumentException.class, () -> owner.leaveToCollector(kept));
        owner.close();
        assertFalse(kept.isFreed());
        kept.fill(0, 16, 2f);
        assertEquals(2f, kept.floats().get(15));
        assertTrue(freed.isFreed());

        final ByteBuffer direct = ByteBuffer.allocateDirect(64);
        final FloatRegion wrapped = FloatRegion.wrap(direct);
        assertThrows(IllegalStateException.class, wrapped::free);
        assertThrows(IllegalStateException.class, () -> FloatRegion.allocate(4).free());
        assertFalse(wrapped.isFreed());
        wrapped.fill(0, 16, 3f);
        assertEquals(3f, wrapped.floats().get(0));
    }

    @Test
    void shouldComputeFromOwnedWeightsAndRefuseToAfterTheOwnerClosed()
    {
        final SplittableRandom random = new SplittableRandom(5);
        final int k = 37;
        final int n = 23;
        final float[] b = random(random, k * n);
        final float[] c = random(random, n);
        final float[] x = random(random, k);
        final RegionOwner owner = new RegionOwner("fc weights");
        final FullyConnected fc = FullyConnected.gemm(b, k, n, false, 1f, c, 1f, Activation.RELU, 0, n, null, owner);
        assertEquals(fc.heldBytes(), owner.allocatedBytes());
        final FloatRegion in = FloatRegion.allocate(k);
        in.put(0, x);
        final FloatRegion out = FloatRegion.allocate(n);
        fc.forward(in, 0, out, 0, 1);
        final float[] expected = OpsReference.gemm(x, 1, k, b, n, false, 1f, c, 1f, Activation.RELU);
        for (int j = 0; j < n; j++)
        {
            assertEquals(expected[j], out.floats().get(j), TOLERANCE * Math.max(1, Math.abs(expected[j])));
        }
        owner.close();
        assertRefused(() -> fc.forward(in, 0, out, 0, 1));

        final RegionOwner convOwner = new RegionOwner("conv weights");
        final ConvParams p = ConvParams.conv(4, 8, 3, 3).pads(1, 1, 1, 1).build();
        final ConvKernel conv = ConvKernel.create(p, random(random, 8 * 4 * 9), null, Activation.NONE, convOwner);
        final FloatRegion map = FloatRegion.allocate(6 * 6 * 8);
        final FloatRegion scratch = FloatRegion.allocate(Math.max(1, conv.scratchFloats(6, 6)));
        final MapView view = MapView.of(map, 0, 6, 6, 4);
        final MapView result = MapView.of(FloatRegion.allocate(6 * 6 * 8), 0, 6, 6, 8);
        conv.forward(view, null, result, 0, 6, scratch, 0);
        convOwner.close();
        assertRefused(() -> conv.forward(view, null, result, 0, 6, scratch, 0));
    }

    /** A kernel reaching freed weights fails with a bounds check (through the region or its empty buffer). */
    private static void assertRefused(final Executable call)
    {
        final Throwable t = assertThrows(RuntimeException.class, call);
        assertTrue(t instanceof IllegalStateException || t instanceof IndexOutOfBoundsException, t.toString());
    }
}
