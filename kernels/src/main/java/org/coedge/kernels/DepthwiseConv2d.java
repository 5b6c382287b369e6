package org.coedge.kernels;

import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * Depthwise 2-D convolution (groups == input channels == output channels) over NHWC maps by a direct loop: a GEMM per
 * channel would have one column, so im2col buys nothing. Owns its weights repacked per tap and repeated over a tile of
 * {@code tilePixels} output pixels, so that each tap of a tile is one long multiply-add over contiguous floats.
 * <p>
 * Why the staging: JDK 17's C2 vectorizes a loop only when every array it touches is indexed by the loop variable plus
 * the same constant offset; loops over direct buffers, or over heap arrays at run-time offsets, stay scalar (measured
 * about 2 GFLOP/s). So the input rows a pixel tile needs are copied into heap arrays (with zero columns for the
 * padding) once per call, into a ring that holds the window's span of rows (consecutive output rows share all but
 * {@code strideH} of them), each tap's input run is copied to offset 0 of a tile array, and the
 * {@code acc[i] += x[i] * w[i]} loop then vectorizes (measured 6-12 GFLOP/s on AVX-512). The bias seeds the
 * accumulator and the activation runs on the tile before it is stored.
 * <p>
 * Where the JVM runs with the Vector API ({@code --add-modules jdk.incubator.vector}, which the {@code coedge} launcher
 * passes) the tap loop of 3x3 windows is {@link DepthwiseVector}'s instead: after the same row staging it sums every
 * tap of four output pixels in vector registers, measured 1.7-2.1x the plain path's GFLOP/s on MobileNetV2's depthwise
 * layers. Without the module, or with {@code -Dcoedge.vector=false}, the plain path runs. Both compute the same
 * products in another order (the vector path with fused multiply-adds), so they agree within float rounding.
 * <p>
 * Thread-safe: the staging arrays are per thread (grown on first use, then reused); {@link #forward} may run on several
 * threads at once on disjoint row ranges. It needs no caller scratch.
 */
public final class DepthwiseConv2d implements ConvKernel
{
    /** Target floats of one pixel tile: small enough for L1 with the tap weights of the tile. */
    private static final int TILE_FLOATS = 1536;

    private static final ThreadLocal<Staging> STAGING = ThreadLocal.withInitial(Staging::new);

    /** Name of the system property that keeps the plain path where the Vector API is available ({@code false}). */
    public static final String VECTOR_PROPERTY = "coedge.vector";

    private static final boolean VECTOR_AVAILABLE =
        ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    private final ConvParams params;
    private final int channels;
    private final int tilePixels;
    private final float[][] tapWeights; // (kernelH * kernelW)(tilePixels, C): each tap's weights, repeated per pixel
    private final float[] tileBias; // (tilePixels, C): the bias repeated per pixel, zeros when the layer has none
    private final Activation activation;
    private final boolean vector;

    /**
     * Repacks the weights; uses the Vector API where {@link #vectorByDefault()} says so.
     *
     * @param params     depthwise convolution parameters ({@link ConvParams#isDepthwise()}).
     * @param weights    ONNX layout {@code [C, 1, kernelH, kernelW]}; copied.
     * @param biasOrNull {@code [C]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     */
    public DepthwiseConv2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        this(params, weights, biasOrNull, fused, vectorByDefault());
    }

    /**
     * As {@link #DepthwiseConv2d(ConvParams, float[], float[], Activation)}, choosing the tap loop (benchmarks and
     * tests run both side by side).
     *
     * @param vector the Vector API loop where the window is 3x3 (others keep the plain loop); needs
     *               {@link #vectorAvailable()}.
     * @throws IllegalArgumentException if {@code vector} is asked for and the JVM lacks the module.
     */
    public DepthwiseConv2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused,
        final boolean vector)
    {
        if (vector && !VECTOR_AVAILABLE)
        {
            throw new IllegalArgumentException("the Vector API loop needs --add-modules jdk.incubator.vector");
        }
        Objects.requireNonNull(params, "params");
        this.vector = vector && DepthwiseVector.supports(params);
        Conv2d.checkPrepare(params, false, weights, biasOrNull, fused);
        if (!params.isDepthwise())
        {
            throw new IllegalArgumentException(params + " is not depthwise (groups == in == out channels)");
        }
        final int taps = params.kernelH() * params.kernelW();
        this.params = params;
        this.channels = params.inChannels();
        this.tilePixels = Math.max(1, TILE_FLOATS / channels);
        this.tapWeights = new float[taps][tilePixels * channels];
        this.tileBias = new float[tilePixels * channels];
        for (int t = 0; t < taps; t++)
        {
            for (int p = 0; p < tilePixels; p++)
            {
                for (int c = 0; c < channels; c++)
                {
                    tapWeights[t][p * channels + c] = weights[c * taps + t];
                    tileBias[p * channels + c] = biasOrNull == null ? 0f : biasOrNull[c];
                }
            }
        }
        this.activation = fused;
    }

    /** @return whether this JVM has the Vector API module ({@code --add-modules jdk.incubator.vector}). */
    public static boolean vectorAvailable()
    {
        return VECTOR_AVAILABLE;
    }

    /**
     * @return whether kernels use the Vector API loop by default: the module is there and {@link #VECTOR_PROPERTY} is
     * not {@code false}.
     */
    public static boolean vectorByDefault()
    {
        return VECTOR_AVAILABLE && !"false".equalsIgnoreCase(System.getProperty(VECTOR_PROPERTY, "true").trim());
    }

    /** @return whether this kernel runs the Vector API loop (asked for, and a 3x3 window). */
    public boolean usesVector()
    {
        return vector;
    }

    @Override
    public ConvParams params()
    {
        return params;
    }

    @Override
    public int scratchFloats(final int inputWidth, final int outputRows)
    {
        Conv2d.checkRowCount(outputRows);
        params.outputWidth(inputWidth);
        return 0;
    }

    @Override
    public boolean addsResidual()
    {
        return true;
    }

    @Override
    public void forward(
        final MapView in, final MapView residual, final MapView out, final int h0, final int h1,
        final FloatRegion scratch, final int scratchOffset)
    {
        params.checkCall(in, out, h0, h1);
        if (residual != null)
        {
            ConvParams.checkResidual(residual, out, h0, h1);
        }
        if (h0 == h1)
        {
            return;
        }
        final int kernelH = params.kernelH();
        final int kernelW = params.kernelW();
        final int strideW = params.strideW();
        final int dilationW = params.dilationW();
        final int outW = out.width();
        // Staged columns: every input column an output row reads, padding included, from column -padLeft.
        final int stagedColumns = (outW - 1) * strideW + (kernelW - 1) * dilationW + 1;
        // The staged rows form a ring over the window's span of input rows: consecutive output rows share input
        // rows (all but one at stride 1), and each input row is staged once per call instead of once per output row
        // that reads it. Slot floorMod(ih, span) is distinct for the rows of one window.
        final int span = (kernelH - 1) * params.dilationH() + 1;
        final Staging staging = STAGING.get().ensure(kernelH, span, stagedColumns * channels, tilePixels * channels,
            vector ? outW * channels : 0);
        staging.forgetRows(span);
        final FloatBuffer src = in.region().floats();
        final FloatBuffer dst = out.region().floats();
        final float[] acc = staging.acc;
        final float[] x = staging.x;
        for (int oh = h0; oh < h1; oh++)
        {
            final int ihBase = oh * params.strideH() - params.padTop();
            int rowsUsed = 0;
            for (int kh = 0; kh < kernelH; kh++)
            {
                final int ih = ihBase + kh * params.dilationH();
                final boolean inside = ih >= 0 && ih < in.height();
                staging.rowUsed[kh] = inside;
                if (inside)
                {
                    final int slot = Math.floorMod(ih, span);
                    if (staging.ringRow[slot] != ih)
                    {
                        Staged.stageRow(src, in.rowOffset(ih), in.width(), channels, params.padLeft(),
                            stagedColumns, staging.ring[slot], 0f);
                        staging.ringRow[slot] = ih;
                    }
                    staging.rows[kh] = staging.ring[slot];
                    rowsUsed++;
                }
            }
            final int outRow = out.rowOffset(oh);
            if (vector)
            {
                vectorRow(staging, residual, oh, outW, dst, outRow);
                continue;
            }
            for (int x0 = 0; x0 < outW; x0 += tilePixels)
            {
                final int pixels = Math.min(tilePixels, outW - x0);
                final int length = pixels * channels;
                System.arraycopy(tileBias, 0, acc, 0, length);
                for (int kh = 0; rowsUsed > 0 && kh < kernelH; kh++)
                {
                    if (!staging.rowUsed[kh])
                    {
                        continue;
                    }
                    final float[] row = staging.rows[kh];
                    for (int kw = 0; kw < kernelW; kw++)
                    {
                        Staged.gatherTap(row, x0 * strideW + kw * dilationW, strideW, pixels, channels, x);
                        multiplyAdd(acc, x, tapWeights[kh * kernelW + kw], length);
                    }
                }
                if (residual != null)
                {
                    residual.region().floats().get(residual.index(oh, x0, 0), x, 0, length);
                    add(acc, x, length);
                }
                Staged.activate(activation, acc, length);
                dst.put(outRow + x0 * channels, acc, 0, length);
            }
        }
    }

    /** One output row by {@link DepthwiseVector}, then residual and activation over the row on heap, then stored. */
    private void vectorRow(
        final Staging staging, final MapView residual, final int oh, final int outW, final FloatBuffer dst,
        final int outRow)
    {
        final int length = outW * channels;
        final float[] o = staging.outRow;
        final float[] zero = staging.zeroRow;
        DepthwiseVector.row(staging.rowUsed[0] ? staging.rows[0] : zero, staging.rowUsed[1] ? staging.rows[1] : zero,
            staging.rowUsed[2] ? staging.rows[2] : zero, params.strideW(), params.dilationW(), channels, tapWeights,
            tileBias, outW, o);
        if (residual != null)
        {
            final float[] r = staging.residualRow;
            residual.region().floats().get(residual.rowOffset(oh), r, 0, length);
            add(o, r, length);
        }
        Staged.activate(activation, o, length);
        dst.put(outRow, o, 0, length);
    }

    private static void multiplyAdd(final float[] acc, final float[] x, final float[] w, final int length)
    {
        for (int i = 0; i < length; i++)
        {
            acc[i] += x[i] * w[i];
        }
    }

    private static void add(final float[] acc, final float[] r, final int length)
    {
        for (int i = 0; i < length; i++)
        {
            acc[i] += r[i];
        }
    }

    /** One thread's staging arrays; grown when a layer needs more, never shrunk. */
    private static final class Staging
    {
        /** Per kernel row of the current output row: its staged input row, one of {@link #ring}. */
        float[][] rows = new float[0][];
        boolean[] rowUsed = new boolean[0];
        /** Staged input rows, slot {@code floorMod(ih, span)} for input row ih. */
        float[][] ring = new float[0][];
        /** The input row each ring slot holds in the current call, {@link Integer#MIN_VALUE} for none. */
        int[] ringRow = new int[0];
        float[] acc = new float[0];
        float[] x = new float[0];
        float[] outRow = new float[0];
        float[] residualRow = new float[0];
        float[] zeroRow = new float[0]; // never written: the staged row of kernel rows outside the map

        /** Marks the first {@code span} ring slots empty: a call's rows are not the previous call's. */
        void forgetRows(final int span)
        {
            java.util.Arrays.fill(ringRow, 0, span, Integer.MIN_VALUE);
        }

        Staging ensure(
            final int rowCount, final int span, final int rowFloats, final int tileFloats, final int outRowFloats)
        {
            if (ring.length < span)
            {
                ring = java.util.Arrays.copyOf(ring, span);
                ringRow = new int[span];
            }
            for (int i = 0; i < span; i++)
            {
                if (ring[i] == null || ring[i].length < rowFloats)
                {
                    ring[i] = new float[rowFloats];
                }
            }
            if (outRowFloats > 0 && zeroRow.length < rowFloats)
            {
                zeroRow = new float[rowFloats];
            }
            if (outRow.length < outRowFloats)
            {
                outRow = new float[outRowFloats];
                residualRow = new float[outRowFloats];
            }
            if (rows.length < rowCount)
            {
                rows = java.util.Arrays.copyOf(rows, rowCount);
                rowUsed = new boolean[rowCount];
            }
            if (acc.length < tileFloats)
            {
                acc = new float[tileFloats];
                x = new float[tileFloats];
            }
            return this;
        }
    }
}
