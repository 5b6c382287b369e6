package org.coedge.engine.cli;

import java.io.PrintWriter;
import java.util.SplittableRandom;

import org.coedge.kernels.Activation;
import org.coedge.kernels.Concat;
import org.coedge.kernels.Conv2d;
import org.coedge.kernels.ConvKernel;
import org.coedge.kernels.ConvParams;
import org.coedge.kernels.ConvReference;
import org.coedge.kernels.ConvTranspose2d;
import org.coedge.kernels.DepthwiseConv2d;
import org.coedge.kernels.Elementwise;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.FullyConnected;
import org.coedge.kernels.GlobalPooling;
import org.coedge.kernels.Lrn;
import org.coedge.kernels.MapView;
import org.coedge.kernels.OpsReference;
import org.coedge.kernels.Pad;
import org.coedge.kernels.Pointwise;
import org.coedge.kernels.PoolParams;
import org.coedge.kernels.Pooling;
import org.coedge.kernels.Resize;
import org.coedge.kernels.Softmax;

/**
 * The kernel part of {@code coedge selftest}: runs every kernel of {@code kernels/} once on a small random map and
 * compares it with the naive reference beside it ({@link ConvReference}, {@link OpsReference}), with max abs error /
 * max |reference| at most {@link #TOLERANCE}. Row kernels compute their output in two row ranges, as a split device
 * would. What this catches on a new board is a native library that loads but computes wrong (a mis-detected core, a
 * broken build for the architecture), not the kernels' own edge cases, which the test suite covers.
 * <p>
 * Owns its random stream and the heap arrays of one check at a time; runs on the calling thread, cold path.
 */
final class SelfTestKernels
{
    /** Relative tolerance, looser than the test suite's 1e-5: any BLAS kernel of any core must pass. */
    static final double TOLERANCE = 1e-4;

    private static final int LEAD = 7;

    private final SplittableRandom random;
    private final PrintWriter out;
    private int failed;

    SelfTestKernels(final long seed, final PrintWriter out)
    {
        this.random = new SplittableRandom(seed);
        this.out = out;
    }

    /** Runs every check, one line each. @return the number of checks that failed. */
    int run()
    {
        check("Conv2d 3x3 pad 1, bias, ReLU", () -> conv(ConvParams.conv(8, 12, 3, 3).pad(1).build(), 9, 11,
            Activation.RELU));
        check("WinogradConv2d F(4x4, 3x3), pad 1, ReLU", () -> winograd(ConvParams.conv(8, 12, 3, 3).pad(1).build(),
            13, 10));
        check("Conv2d 1x1 (no im2col)", () -> conv(ConvParams.conv(16, 8, 1, 1).build(), 6, 7, Activation.NONE));
        check("Conv2d 5x5 stride 2, dilation 2, 2 groups", () -> conv(ConvParams.conv(6, 10, 5, 5).groups(2)
            .stride(2, 2).dilation(2, 2).pads(2, 1, 3, 2).build(), 13, 12, Activation.leakyRelu(0.1f)));
        check("DepthwiseConv2d 3x3 stride 2, ReLU6", () -> conv(ConvParams.conv(16, 16, 3, 3).groups(16)
            .stride(2, 2).pad(1).build(), 11, 9, Activation.clip(0f, 6f)));
        check("ConvTranspose2d 3x3 stride 2", this::convTranspose);
        check("MaxPool 3x3 stride 2 pad 1", () -> pool(Pooling.Kind.MAX,
            new PoolParams(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false)));
        check("AveragePool 2x2 stride 2 ceil", () -> pool(Pooling.Kind.AVERAGE,
            new PoolParams(2, 2, 2, 2, 1, 1, 0, 0, 0, 0, true, false)));
        check("GlobalAveragePool", this::globalPool);
        check("LRN size 5", this::lrn);
        check("Sigmoid, HardSwish, PRelu", this::pointwise);
        check("Add broadcast, ReLU", this::elementwise);
        check("Concat", this::concat);
        check("Gemm transB, bias", this::gemm);
        check("Softmax", this::softmax);
        check("Resize linear x2, nearest x1.5", this::resize);
        check("Pad reflect", this::pad);
        return failed;
    }

    private interface Check
    {
        double error();
    }

    private void check(final String name, final Check check)
    {
        try
        {
            final double error = check.error();
            final boolean ok = error <= TOLERANCE;
            out.printf("kernel %-44s max rel err %.1e  %s%n", name, error, ok ? "ok" : "FAIL");
            failed += ok ? 0 : 1;
        }
        catch (final RuntimeException | LinkageError e)
        {
            out.printf("kernel %-44s FAIL: %s%n", name, CoEdgeCli.describe(e));
            failed++;
        }
        out.flush();
    }

    private double conv(final ConvParams p, final int inH, final int inW, final Activation activation)
    {
        final float[] x = values(inH * inW * p.inChannels());
        final float[] w = values(p.outChannels() * p.inChannelsPerGroup() * p.kernelH() * p.kernelW());
        final float[] b = values(p.outChannels());
        final ConvKernel kernel = p.isDepthwise() ? new DepthwiseConv2d(p, w, b, activation) :
            new Conv2d(p, w, b, activation);
        return convRun(kernel, x, inH, inW, ConvReference.conv(x, inH, inW, p, w, b, activation));
    }

    private double winograd(final ConvParams p, final int inH, final int inW)
    {
        final float[] w = values(p.outChannels() * p.inChannels() * 9);
        final float[] b = values(p.outChannels());
        final float[] x = values(inH * inW * p.inChannels());
        return convRun(new org.coedge.kernels.WinogradConv2d(p, w, b, Activation.RELU), x, inH, inW,
            ConvReference.conv(x, inH, inW, p, w, b, Activation.RELU));
    }

    private double convTranspose()
    {
        final ConvParams p = ConvParams.transpose(6, 4, 3, 3).stride(2, 2).pad(1).outputPadding(1, 1).build();
        final int inH = 5;
        final int inW = 6;
        final float[] x = values(inH * inW * p.inChannels());
        final float[] w = values(p.inChannels() * p.outChannelsPerGroup() * p.kernelH() * p.kernelW());
        final float[] b = values(p.outChannels());
        final ConvKernel kernel = new ConvTranspose2d(p, w, b, Activation.NONE);
        return convRun(kernel, x, inH, inW, ConvReference.convTranspose(x, inH, inW, p, w, b, Activation.NONE));
    }

    private double convRun(
        final ConvKernel kernel, final float[] x, final int inH, final int inW, final float[] expected)
    {
        final ConvParams p = kernel.params();
        final int outH = p.outputHeight(inH);
        final int outW = p.outputWidth(inW);
        final MapView in = map(x, inH, inW, p.inChannels());
        final MapView y = empty(outH, outW, p.outChannels());
        final int mid = outH / 2;
        final FloatRegion scratch = FloatRegion.allocate(Math.max(1, kernel.scratchFloats(inW, outH - mid)));
        scratch.fill(0, scratch.length(), Float.NaN);
        kernel.forward(in, y, 0, mid, scratch, 0);
        kernel.forward(in, y, mid, outH, scratch, 0);
        return error(expected, y);
    }

    private double pool(final Pooling.Kind kind, final PoolParams p)
    {
        final int h = 9;
        final int w = 10;
        final int c = 5;
        final float[] x = values(h * w * c);
        final MapView y = empty(p.outputHeight(h), p.outputWidth(w), c);
        final Pooling pooling = new Pooling(kind, p);
        final int mid = y.height() / 2;
        final MapView in = map(x, h, w, c);
        pooling.forward(in, y, 0, mid);
        pooling.forward(in, y, mid, y.height());
        return error(OpsReference.pool(kind, x, h, w, c, p), y);
    }

    private double globalPool()
    {
        final float[] x = values(6 * 7 * 9);
        final MapView y = empty(1, 1, 9);
        new GlobalPooling(GlobalPooling.Kind.AVERAGE).forward(map(x, 6, 7, 9), y);
        return error(OpsReference.globalPool(GlobalPooling.Kind.AVERAGE, x, 6, 7, 9), y);
    }

    private double lrn()
    {
        final float[] x = values(5 * 6 * 11);
        final MapView y = empty(5, 6, 11);
        final Lrn lrn = new Lrn(5, 1e-2f, 0.75f, 2f);
        final MapView in = map(x, 5, 6, 11);
        lrn.forward(in, y, 0, 2);
        lrn.forward(in, y, 2, 5);
        return error(OpsReference.lrn(x, 5, 6, 11, 5, 1e-2f, 0.75f, 2f), y);
    }

    private double pointwise()
    {
        final float[] x = values(4 * 5 * 6);
        final float[] slope = values(6);
        double error = 0;
        final Activation[] activations = { Activation.of(Activation.Kind.SIGMOID, 0f, 0f),
            Activation.of(Activation.Kind.HARD_SWISH, 0f, 0f) };
        for (final Activation activation : activations)
        {
            final MapView y = empty(4, 5, 6);
            Pointwise.of(activation).forward(map(x, 4, 5, 6), y, 0, 4);
            error = Math.max(error, error(OpsReference.activation(x, activation), y));
        }
        final MapView y = empty(4, 5, 6);
        Pointwise.prelu(slope).forward(map(x, 4, 5, 6), y, 0, 4);
        return Math.max(error, error(OpsReference.prelu(x, 6, slope), y));
    }

    private double elementwise()
    {
        final float[] a = values(5 * 4 * 6);
        final float[] b = values(6);
        final MapView y = empty(5, 4, 6);
        final Elementwise add = new Elementwise(Elementwise.Op.ADD, Activation.RELU);
        final MapView left = map(a, 5, 4, 6);
        final MapView right = map(b, 1, 1, 6);
        add.forward(left, right, y, 0, 3);
        add.forward(left, right, y, 3, 5);
        return error(OpsReference.elementwise(Elementwise.Op.ADD, a, new int[]{ 5, 4, 6 }, b, new int[]{ 1, 1, 6 },
            Activation.RELU), y);
    }

    private double concat()
    {
        final float[] a = values(4 * 3 * 5);
        final float[] b = values(4 * 3 * 2);
        final MapView y = empty(4, 3, 7);
        new Concat(5, 2).forward(new MapView[]{ map(a, 4, 3, 5), map(b, 4, 3, 2) }, y, 0, 4);
        return error(OpsReference.concat(new float[][]{ a, b }, 4, 3, new int[]{ 5, 2 }), y);
    }

    private double gemm()
    {
        final int m = 3;
        final int k = 37;
        final int n = 19;
        final float[] x = values(m * k);
        final float[] b = values(n * k);
        final float[] c = values(n);
        final FullyConnected fc = FullyConnected.gemm(b, k, n, true, 0.5f, c, 2f, Activation.NONE);
        final MapView in = map(x, 1, 1, m * k);
        final MapView y = empty(1, 1, m * n);
        fc.forward(in.region(), in.offset(), y.region(), y.offset(), m, 0, 7);
        fc.forward(in.region(), in.offset(), y.region(), y.offset(), m, 7, n);
        return error(OpsReference.gemm(x, m, k, b, n, true, 0.5f, c, 2f, Activation.NONE), y);
    }

    private double softmax()
    {
        final float[] x = values(3 * 2 * 10);
        final MapView y = empty(3, 2, 10);
        new Softmax().forward(map(x, 3, 2, 10), y, 0, 3);
        return error(OpsReference.softmax(x, 3, 2, 10), y);
    }

    private double resize()
    {
        final int h = 5;
        final int w = 6;
        final int c = 3;
        final float[] x = values(h * w * c);
        final Resize linear = Resize.byScale(Resize.Mode.LINEAR, Resize.CoordinateMode.HALF_PIXEL,
            Resize.NearestMode.ROUND_PREFER_FLOOR, h, w, 2f, 2f);
        final MapView y = empty(2 * h, 2 * w, c);
        linear.forward(map(x, h, w, c), y, 0, 2 * h);
        final double error = error(OpsReference.resize(x, h, w, c, 2 * h, 2 * w, 2f, 2f, Resize.Mode.LINEAR,
            Resize.CoordinateMode.HALF_PIXEL, Resize.NearestMode.ROUND_PREFER_FLOOR), y);
        final Resize nearest = Resize.byScale(Resize.Mode.NEAREST, Resize.CoordinateMode.ASYMMETRIC,
            Resize.NearestMode.FLOOR, h, w, 1.5f, 1.5f);
        final int outH = (int)(1.5f * h);
        final int outW = (int)(1.5f * w);
        final MapView z = empty(outH, outW, c);
        nearest.forward(map(x, h, w, c), z, 0, outH);
        return Math.max(error, error(OpsReference.resize(x, h, w, c, outH, outW, 1.5f, 1.5f, Resize.Mode.NEAREST,
            Resize.CoordinateMode.ASYMMETRIC, Resize.NearestMode.FLOOR), z));
    }

    private double pad()
    {
        final float[] x = values(5 * 6 * 4);
        final Pad pad = Pad.spatial(Pad.Mode.REFLECT, 0f, 5, 6, 4, 2, 1, 1, 3);
        final MapView y = empty(pad.outputHeight(), pad.outputWidth(), pad.outputChannels());
        pad.forward(map(x, 5, 6, 4), y, 0, 3);
        pad.forward(map(x, 5, 6, 4), y, 3, pad.outputHeight());
        return error(OpsReference.pad(x, 5, 6, 4, Pad.Mode.REFLECT, 0f, 2, 1, 1, 3, 0, 0), y);
    }

    private float[] values(final int n)
    {
        final float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(random.nextDouble() * 2 - 1);
        }
        return v;
    }

    /** A whole map holding {@code nhwc}, at an offset into a region with NaN around it. */
    private static MapView map(final float[] nhwc, final int h, final int w, final int c)
    {
        final MapView view = empty(h, w, c);
        view.region().put(view.offset(), nhwc);
        return view;
    }

    /** A whole map full of NaN, at an offset into a region with NaN around it. */
    private static MapView empty(final int h, final int w, final int c)
    {
        final FloatRegion region = FloatRegion.allocate(LEAD + h * w * c + LEAD);
        region.fill(0, region.length(), Float.NaN);
        return MapView.of(region, LEAD, h, w, c);
    }

    /** @return max |actual - expected| / max |expected| (taken at least 1e-3); infinite where a NaN is left. */
    private static double error(final float[] expected, final MapView actual)
    {
        final int count = actual.height() * actual.width() * actual.channels();
        if (count != expected.length)
        {
            throw new IllegalStateException("output of " + count + " floats, reference of " + expected.length);
        }
        double maxError = 0;
        double maxReference = 1e-3;
        for (int i = 0; i < count; i++)
        {
            final double a = actual.region().floats().get(actual.offset() + i);
            maxReference = Math.max(maxReference, Math.abs(expected[i]));
            maxError = Double.isNaN(a) ? Double.POSITIVE_INFINITY : Math.max(maxError, Math.abs(a - expected[i]));
        }
        return maxError / maxReference;
    }
}
