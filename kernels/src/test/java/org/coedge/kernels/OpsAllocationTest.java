package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.random;
import static org.coedge.kernels.OpsTestSupport.window;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class OpsAllocationTest
{
    @Test
    void shouldAllocateNothingOnTheForwardPaths()
    {
        final java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)bean;
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());

        final SplittableRandom random = new SplittableRandom(111);
        final int h = 9;
        final int w = 7;
        final int c = 6;
        final MapView in = window(random, random(random, h * w * c), h, w, c, 0, h);
        final MapView other = window(random, random(random, h * w * c), h, w, c, 0, h);
        final MapView vector = window(random, random(random, c), 1, 1, c, 0, 1);
        final MapView same = MapView.of(FloatRegion.allocate(h * w * c), 0, h, w, c);
        final MapView twice = MapView.of(FloatRegion.allocate(h * w * 2 * c), 0, h, w, 2 * c);
        final PoolParams params = new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, true);
        final Pooling pooling = Pooling.average(params);
        final MapView pooled = MapView.of(FloatRegion.allocate(5 * 4 * c), 0, 5, 4, c);
        final GlobalPooling global = new GlobalPooling(GlobalPooling.Kind.MAX);
        final MapView globalOut = MapView.of(FloatRegion.allocate(c), 0, 1, 1, c);
        final Lrn lrn = new Lrn(5, 1e-4f, 0.75f, 1f);
        final Pointwise prelu = Pointwise.prelu(random(random, c));
        final Pointwise swish = Pointwise.of(Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f));
        final Elementwise mul = new Elementwise(Elementwise.Op.MUL, Activation.RELU);
        final Concat concat = new Concat(c, c);
        final MapView[] pair = {in, other};
        final FullyConnected fc = FullyConnected.matMul(random(random, 20 * 30), 20, 30, random(random, 30),
            Activation.RELU);
        final FloatRegion x = FloatRegion.allocate(20);
        final FloatRegion y = FloatRegion.allocate(30);
        final Softmax softmax = new Softmax();
        final Resize resize = Resize.toSize(Resize.Mode.LINEAR, Resize.CoordinateMode.HALF_PIXEL,
            Resize.NearestMode.ROUND_PREFER_FLOOR, h, w, 2 * h, 2 * w);
        final MapView resized = MapView.of(FloatRegion.allocate(4 * h * w * c), 0, 2 * h, 2 * w, c);
        final Pad pad = Pad.spatial(Pad.Mode.REFLECT, 0f, h, w, c, 2, 1, 1, 2);
        final MapView padded = MapView.of(FloatRegion.allocate((h + 3) * (w + 3) * c), 0, h + 3, w + 3, c);

        final Runnable all = () ->
        {
            pooling.forward(in, pooled, 1, 4);
            global.forward(in, globalOut);
            lrn.forward(in, same, 2, 7);
            prelu.forward(in, same, 0, h);
            swish.forward(same, same, 0, h);
            mul.forward(in, vector, same, 3, 8);
            mul.forward(same, other, same, 0, h);
            concat.forward(pair, twice, 1, 9);
            fc.forward(x, 0, y, 0, 1, 5, 25);
            softmax.forward(in, same, 0, h);
            resize.forward(in, resized, 3, 15);
            pad.forward(in, padded, 0, h + 3);
        };
        for (int i = 0; i < 3; i++)
        {
            all.run();
        }
        final long threadId = Thread.currentThread().getId();
        final long before = threads.getThreadAllocatedBytes(threadId);
        for (int i = 0; i < 5; i++)
        {
            all.run();
        }
        final long after = threads.getThreadAllocatedBytes(threadId);
        assertEquals(0, after - before, "bytes allocated by 5 rounds of forward calls");
    }
}
