package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ConvKernelTest
{
    private static final int IN_H = 14;
    private static final int IN_W = 11;

    @Test
    void shouldRefuseBadPreparation()
    {
        final ConvParams conv = ConvParams.conv(4, 6, 3, 3).build();
        final ConvParams transpose = ConvParams.transpose(4, 6, 3, 3).build();
        final float[] weights = new float[6 * 4 * 9];
        assertThrows(IllegalArgumentException.class, () -> ConvKernel.create(transpose, weights, null,
            Activation.NONE));
        assertThrows(IllegalArgumentException.class, () -> ConvKernel.createTranspose(conv, weights, null,
            Activation.NONE));
        assertThrows(IllegalArgumentException.class, () -> ConvKernel.create(conv, new float[6 * 4 * 9 - 1], null,
            Activation.NONE));
        assertThrows(IllegalArgumentException.class, () -> ConvKernel.create(conv, weights, new float[5],
            Activation.NONE));
        assertThrows(NullPointerException.class, () -> ConvKernel.create(conv, weights, null, null));
        assertThrows(IllegalArgumentException.class, () -> ConvKernel.create(conv, weights, null,
            Activation.NONE).scratchFloats(1));
    }

    @Test
    void shouldRefuseBadCallsOfEveryKernelBeforeWriting()
    {
        final SplittableRandom random = new SplittableRandom(51);
        final ConvParams general = ConvParams.conv(4, 6, 3, 3).stride(2, 1).pad(1).build();
        final ConvParams pointwise = ConvParams.conv(4, 6, 1, 1).build();
        final ConvParams depthwise = ConvParams.conv(4, 4, 3, 3).groups(4).pad(1).build();
        final ConvParams transpose = ConvParams.transpose(4, 6, 3, 3).stride(2, 2).pad(1).build();
        for (final ConvParams p : new ConvParams[]{ general, pointwise, depthwise, transpose })
        {
            final float[] weights = ConvHarness.randomArray(random, p.outChannels() * p.inChannelsPerGroup() *
                p.kernelH() * p.kernelW());
            final ConvKernel kernel = p.transposed() ?
                ConvKernel.createTranspose(p, weights, null, Activation.RELU) :
                ConvKernel.create(p, weights, null, Activation.RELU);
            assertBadCallsRefused(kernel);
        }
    }

    @Test
    void shouldComputeDisjointRangesFromSeveralThreadsWithOneInstance() throws InterruptedException
    {
        final SplittableRandom random = new SplittableRandom(52);
        final ConvParams general = ConvParams.conv(8, 12, 3, 3).pad(1).build();
        final ConvParams depthwise = ConvParams.conv(8, 8, 3, 3).groups(8).pad(1).build();
        final ConvParams transpose = ConvParams.transpose(8, 6, 4, 4).stride(2, 2).pad(1).build();
        for (final ConvParams p : new ConvParams[]{ general, depthwise, transpose })
        {
            final float[] weights = ConvHarness.randomArray(random, p.outChannels() * p.inChannelsPerGroup() *
                p.kernelH() * p.kernelW());
            final float[] bias = ConvHarness.randomArray(random, p.outChannels());
            final ConvKernel kernel = p.transposed() ?
                ConvKernel.createTranspose(p, weights, bias, Activation.RELU) :
                ConvKernel.create(p, weights, bias, Activation.RELU);
            final ConvHarness.Case c = p.transposed() ?
                ConvHarness.convTranspose(kernel, weights, bias, Activation.RELU, 24, 20, random) :
                ConvHarness.conv(kernel, weights, bias, Activation.RELU, 48, 20, random);
            assertThreadsAgree(c);
        }
    }

    private static void assertThreadsAgree(final ConvHarness.Case c) throws InterruptedException
    {
        final ConvParams p = c.kernel.params();
        final FloatRegion inRegion = FloatRegion.allocate(c.input.length);
        inRegion.put(0, c.input);
        final MapView in = MapView.of(inRegion, 0, c.inH, c.inW, p.inChannels());
        final FloatRegion outRegion = FloatRegion.allocate(c.expected.length);
        final MapView out = MapView.of(outRegion, 0, c.outH(), c.outW(), p.outChannels());
        final int threads = 4;
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            final int h0 = c.outH() * t / threads;
            final int h1 = c.outH() * (t + 1) / threads;
            final FloatRegion scratch = FloatRegion.allocate(c.kernel.scratchFloats(c.inW, h1 - h0) + 1);
            workers[t] = new Thread(() ->
            {
                try
                {
                    for (int repeat = 0; repeat < 50; repeat++)
                    {
                        c.kernel.forward(in, out, h0, h1, scratch, 0);
                    }
                }
                catch (final Throwable ex)
                {
                    failure.compareAndSet(null, ex);
                }
            });
            workers[t].start();
        }
        for (final Thread worker : workers)
        {
            worker.join();
        }
        assertNull(failure.get());
        final double error = ConvHarness.relativeError(c.expected, 0, outRegion, 0, c.expected.length);
        assertTrue(error <= ConvHarness.TOLERANCE, "relative error " + error + " for " + p);
    }

    private static void assertBadCallsRefused(final ConvKernel kernel)
    {
        final ConvParams p = kernel.params();
        final int outH = p.outputHeight(IN_H);
        final int outW = p.outputWidth(IN_W);
        final int cout = p.outChannels();
        final int h0 = 2;
        final int h1 = outH - 2;
        final int i0 = p.firstInputRowClipped(h0, h1, IN_H);
        final int i1 = p.endInputRowClipped(h0, h1, IN_H);
        final int rowFloats = IN_W * p.inChannels();

        final FloatRegion inRegion = FloatRegion.allocate(2 * IN_H * rowFloats);
        final MapView in = new MapView().wrap(inRegion, 0, IN_H, IN_W, p.inChannels(), i0, i1 - i0);
        final MapView inMissingFirst = new MapView().wrap(inRegion, 0, IN_H, IN_W, p.inChannels(), i0 + 1,
            i1 - i0 - 1);
        final MapView inMissingLast = new MapView().wrap(inRegion, 0, IN_H, IN_W, p.inChannels(), i0, i1 - i0 - 1);
        final MapView inWrongChannels = MapView.of(inRegion, 0, IN_H, IN_W, p.inChannels() + 1);

        final FloatRegion outRegion = FloatRegion.allocate(outH * outW * cout + 8 * outW * cout);
        outRegion.fill(0, outRegion.length(), ConvHarness.SENTINEL);
        final MapView out = MapView.of(outRegion, 0, outH, outW, cout);
        final MapView outShort = new MapView().wrap(outRegion, 0, outH, outW, cout, h0 + 1, h1 - h0 - 1);
        final MapView outWrongWidth = MapView.of(outRegion, 0, outH, outW + 1, cout);
        final MapView outOverlapping = new MapView().wrap(inRegion, in.rowOffset(i0), outH, outW, cout, h0, 1);

        final int scratchFloats = kernel.scratchFloats(IN_W, h1 - h0);
        final FloatRegion scratch = FloatRegion.allocate(scratchFloats + 4);

        assertRefused(() -> kernel.forward(inMissingFirst, out, h0, h1, scratch, 0));
        assertRefused(() -> kernel.forward(inMissingLast, out, h0, h1, scratch, 0));
        assertRefused(() -> kernel.forward(inWrongChannels, out, h0, h1, scratch, 0));
        assertRefused(() -> kernel.forward(in, outShort, h0, h1, scratch, 0));
        assertRefused(() -> kernel.forward(in, outWrongWidth, h0, h1, scratch, 0));
        assertRefused(() -> kernel.forward(in, out, h1, h0, scratch, 0));
        assertRefused(() -> kernel.forward(in, out, -1, h1, scratch, 0));
        assertRefused(() -> kernel.forward(in, out, h0, outH + 1, scratch, 0));
        assertRefused(() -> kernel.forward(in, outOverlapping, h0, h0 + 1, scratch, 0));
        if (scratchFloats > 0)
        {
            assertRefused(() -> kernel.forward(in, out, h0, h1, scratch, 5));
            assertRefused(() -> kernel.forward(in, out, h0, h1, null, 0));
            assertRefused(() -> kernel.forward(in, out, h0, h1, scratch, -1));
        }
        for (int i = 0; i < outRegion.length(); i++)
        {
            assertEquals(ConvHarness.SENTINEL, outRegion.floats().get(i), "refused call wrote float " + i);
        }
        kernel.forward(in, out, h0, h1, scratch, 0);
        kernel.forward(in, out, h0, h0, null, 0);
    }

    private static void assertRefused(final Executable call)
    {
        assertThrows(IllegalArgumentException.class, call);
    }
}
