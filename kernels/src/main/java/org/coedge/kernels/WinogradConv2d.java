package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) over NHWC maps: each 4x4 output tile comes from
 * a 6x6 input tile as {@code Y = A^T [(G g G^T) . (B^T d B)] A}, 36 multiplications per tile and channel pair instead
 * of 144. The weights are transformed once at construction into 36 matrices {@code U_t [Cin, Cout]}; per chunk of
 * tiles the input transform writes 36 matrices {@code V_t [tiles, Cin]}, OpenBLAS computes the 36 products
 * {@code M_t = V_t x U_t}, and the output transform adds the bias and applies the activation while it writes the tile.
 * <p>
 * Tiles are anchored at absolute output row and column 0 of the whole map, so a row range computes every tile it
 * touches whole, from the same input rows the whole map would use, and writes only its own rows. Its input rows are
 * therefore those of the tiles ({@link #firstInputRow} / {@link #endInputRow}): up to 3 rows more on each side than
 * a direct convolution needs. Channel loops run over heap staging arrays (they vectorize there; loops over direct
 * buffers do not on JDK 17), one set per thread.
 * <p>
 * Immutable after construction; {@link #forward} may run on several threads at once given distinct scratch.
 */
public final class WinogradConv2d implements ConvKernel
{
    /** Output tile edge (m of F(m x m, 3 x 3)). */
    static final int TILE = 4;

    /** Input tile edge: m + 3 - 1. */
    private static final int IN_TILE = 6;

    private static final int POINTS = IN_TILE * IN_TILE;

    /** Scratch of one chunk of tiles (its V and M matrices): about 4 MiB, but never fewer than {@link #MIN_TILES}. */
    private static final int CHUNK_TARGET_FLOATS = 1024 * 1024;

    /** Fewest tiles a chunk's GEMMs get (their M dimension), for OpenBLAS to run near its peak. */
    private static final int MIN_TILES = 32;

    private static final ThreadLocal<Staging> STAGING = new ThreadLocal<>();

    private final ConvParams params;
    private final int cin;
    private final int cout;
    private final FloatRegion transformedWeights; // (36, Cin, Cout)
    private final float[] bias; // (Cout), zeros without bias
    private final Activation activation;

    /**
     * Transforms the weights.
     *
     * @param params     a 3x3, stride 1, dilation 1, single-group convolution ({@link #supports}).
     * @param weights    ONNX layout {@code [outChannels, inChannels, 3, 3]}; not kept.
     * @param biasOrNull {@code [outChannels]} or {@code null}; copied.
     * @param fused      activation applied after the bias.
     * @throws IllegalArgumentException if {@link #supports} is false or an array has the wrong length.
     */
    public WinogradConv2d(
        final ConvParams params, final float[] weights, final float[] biasOrNull, final Activation fused)
    {
        this(params, weights, biasOrNull, fused, RegionAllocator.COLLECTED);
    }

    /**
     * As {@link #WinogradConv2d(ConvParams, float[], float[], Activation)}, transforming into memory from
     * {@code memory} (the owner of a prepared model's weights).
     */
    public WinogradConv2d(final ConvParams params, final float[] weights, final float[] biasOrNull,
        final Activation fused, final RegionAllocator memory)
    {
        Conv2d.checkPrepare(params, false, weights, biasOrNull, fused);
        if (!supports(params))
        {
            throw new IllegalArgumentException("Winograd F(4x4, 3x3) needs a 3x3, stride 1, dilation 1, one-group " +
                "convolution: " + params);
        }
        this.params = params;
        this.cin = params.inChannels();
        this.cout = params.outChannels();
        this.activation = fused;
        this.bias = biasOrNull == null ? new float[cout] : biasOrNull.clone();
        this.transformedWeights = transformWeights(weights, cin, cout, memory);
    }

    /** @return true if {@code p} is a convolution this kernel computes: 3x3, stride 1, dilation 1, one group. */
    public static boolean supports(final ConvParams p)
    {
        return !p.transposed() && p.kernelH() == 3 && p.kernelW() == 3 && p.strideH() == 1 && p.strideW() == 1 &&
            p.dilationH() == 1 && p.dilationW() == 1 && p.groups() == 1;
    }

    /**
     * Where Winograd beats im2col + sgemm, measured layer by layer (single thread, ResNet-18 and VGG-16 shapes): on
     * maps of at least 36 output tiles (24x24 and up) it took 0.32-0.72 of the im2col time; on 14x14 maps (16 tiles)
     * 1.4x and on 7x7 maps 6x, because its 36 products then have only a few rows each. Few channels leave the
     * products too small as well.
     *
     * @return true if {@code p} is {@link #supports supported} and its output map and channels are large enough.
     */
    public static boolean preferred(final ConvParams p, final int outputHeight, final int outputWidth)
    {
        final long tiles = (long)((outputHeight + TILE - 1) / TILE) * ((outputWidth + TILE - 1) / TILE);
        return supports(p) && tiles >= 36 && p.inChannels() >= 16 && p.outChannels() >= 16;
    }

    /**
     * @return the first input row the tiles over output rows {@code [o0, o1)} read, clipped to the map:
     * {@code floor(o0 / 4) * 4 - padTop}.
     */
    public static int firstInputRow(final ConvParams p, final int o0, final int o1, final int inputHeight)
    {
        return clamp(Math.floorDiv(o0, TILE) * TILE - p.padTop(), 0, inputHeight);
    }

    /**
     * @return one past the last input row the tiles over output rows {@code [o0, o1)} read, clipped to the map and
     * never below {@link #firstInputRow}.
     */
    public static int endInputRow(final ConvParams p, final int o0, final int o1, final int inputHeight)
    {
        final int tileEnd = Math.floorDiv(o1 + TILE - 1, TILE) * TILE;
        return clamp(tileEnd - p.padTop() + 2, firstInputRow(p, o0, o1, inputHeight), inputHeight);
    }

    @Override
    public ConvParams params()
    {
        return params;
    }

    @Override
    public int firstInputRow(final int o0, final int o1, final int inputHeight)
    {
        return firstInputRow(params, o0, o1, inputHeight);
    }

    @Override
    public int endInputRow(final int o0, final int o1, final int inputHeight)
    {
        return endInputRow(params, o0, o1, inputHeight);
    }

    @Override
    public int scratchFloats(final int inputWidth, final int outputRows)
    {
        Conv2d.checkRowCount(outputRows);
        if (outputRows == 0)
        {
            return 0;
        }
        return POINTS * chunkTiles(inputWidth, outputRows) * (cin + cout);
    }

    /** @return tiles per chunk for a call over {@code outputRows} rows of a map {@code inputWidth} wide. */
    private int chunkTiles(final int inputWidth, final int outputRows)
    {
        final int tilesWide = (params.outputWidth(inputWidth) + TILE - 1) / TILE;
        final long tileRows = Math.min((long)outputRows + 2 * TILE, Integer.MAX_VALUE) / TILE + 1;
        final long inRange = tileRows * tilesWide;
        final int target = Math.max(MIN_TILES, CHUNK_TARGET_FLOATS / (POINTS * (cin + cout)));
        return (int)Math.max(1, Math.min(inRange, target));
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
        final int i0 = firstInputRow(params, h0, h1, in.height());
        final int i1 = endInputRow(params, h0, h1, in.height());
        if (i0 < i1 && (i0 < in.firstRow() || i1 > in.endRow()))
        {
            throw new IllegalArgumentException("Winograd tiles over output rows [" + h0 + ", " + h1 + ") need input " +
                "rows [" + i0 + ", " + i1 + ") but input view holds [" + in.firstRow() + ", " + in.endRow() + ")");
        }
        final int tiles = chunkTiles(in.width(), h1 - h0);
        Conv2d.checkScratch(POINTS * tiles * (cin + cout), scratch, scratchOffset);
        final int vOffset = scratchOffset;
        final int mOffset = scratchOffset + POINTS * tiles * cin;
        final Staging s = staging();
        final int tilesWide = (out.width() + TILE - 1) / TILE;
        final int firstTileRow = h0 / TILE;
        final int endTileRow = (h1 + TILE - 1) / TILE;
        final int total = (endTileRow - firstTileRow) * tilesWide;
        for (int start = 0; start < total; start += tiles)
        {
            final int count = Math.min(tiles, total - start);
            for (int i = 0; i < count; i++)
            {
                final int tile = start + i;
                inputTransform(in, (firstTileRow + tile / tilesWide) * TILE, (tile % tilesWide) * TILE, s);
                for (int t = 0; t < POINTS; t++)
                {
                    scratch.floats().put(vOffset + (t * tiles + i) * cin, s.v, t * cin, cin);
                }
            }
            for (int t = 0; t < POINTS; t++)
            {
                Blas.sgemm(false, false, count, cout, cin, 1f, scratch, vOffset + t * tiles * cin, cin,
                    transformedWeights, t * cin * cout, cout, 0f, scratch, mOffset + t * tiles * cout, cout);
            }
            for (int i = 0; i < count; i++)
            {
                final int tile = start + i;
                for (int t = 0; t < POINTS; t++)
                {
                    scratch.floats().get(mOffset + (t * tiles + i) * cout, s.m, t * cout, cout);
                }
                outputTransform(residual, out, (firstTileRow + tile / tilesWide) * TILE, (tile % tilesWide) * TILE,
                    h0, h1, s);
            }
        }
    }

    /** Reads the 6x6 input tile of the output tile at {@code (oy, ox)} (zeros outside the map) into {@code s.v}. */
    private void inputTransform(final MapView in, final int oy, final int ox, final Staging s)
    {
        final float[] d = s.patch; // (6, 6, Cin)
        final FloatBuffer src = in.region().floats();
        final int rowFloats = IN_TILE * cin;
        final int y0 = oy - params.padTop();
        final int x0 = ox - params.padLeft();
        final int xa = Math.max(0, x0);
        final int xb = Math.min(in.width(), x0 + IN_TILE);
        for (int r = 0; r < IN_TILE; r++)
        {
            final int ih = y0 + r;
            final int rowStart = r * rowFloats;
            if (ih < 0 || ih >= in.height() || xa >= xb)
            {
                java.util.Arrays.fill(d, rowStart, rowStart + rowFloats, 0f);
                continue;
            }
            java.util.Arrays.fill(d, rowStart, rowStart + (xa - x0) * cin, 0f);
            src.get(in.index(ih, xa, 0), d, rowStart + (xa - x0) * cin, (xb - xa) * cin);
            java.util.Arrays.fill(d, rowStart + (xb - x0) * cin, rowStart + rowFloats, 0f);
        }
        // along each row (x) into tmp (6, 6, Cin), then along each column (y): v = B^T d B, (6, 6, Cin)
        for (int r = 0; r < IN_TILE; r++)
        {
            inputRow(d, r * rowFloats, cin, s.tmp, r * rowFloats, cin, cin);
        }
        for (int x = 0; x < IN_TILE; x++)
        {
            inputRow(s.tmp, x * cin, rowFloats, s.v, x * cin, rowFloats, cin);
        }
    }

    /**
     * {@code B^T} of F(4, 3) over six vectors of {@code n} floats at {@code src[so + k * ss]}, written to
     * {@code dst[dOff + k * ds]}.
     */
    private static void inputRow(
        final float[] src, final int so, final int ss, final float[] dst, final int dOff, final int ds, final int n)
    {
        final int s1 = so + ss;
        final int s2 = so + 2 * ss;
        final int s3 = so + 3 * ss;
        final int s4 = so + 4 * ss;
        final int s5 = so + 5 * ss;
        for (int c = 0; c < n; c++)
        {
            final float d0 = src[so + c];
            final float d1 = src[s1 + c];
            final float d2 = src[s2 + c];
            final float d3 = src[s3 + c];
            final float d4 = src[s4 + c];
            final float d5 = src[s5 + c];
            dst[dOff + c] = 4 * d0 - 5 * d2 + d4;
            dst[dOff + ds + c] = -4 * (d1 + d2) + d3 + d4;
            dst[dOff + 2 * ds + c] = 4 * (d1 - d2) - d3 + d4;
            dst[dOff + 3 * ds + c] = 2 * (d3 - d1) - d2 + d4;
            dst[dOff + 4 * ds + c] = 2 * (d1 - d3) - d2 + d4;
            dst[dOff + 5 * ds + c] = 4 * d1 - 5 * d3 + d5;
        }
    }

    /**
     * Computes the 4x4 tile at {@code (oy, ox)} from {@code s.m}, adds the bias and the residual's pixels (if any),
     * applies the activation and writes its pixels in rows {@code [h0, h1)}.
     */
    private void outputTransform(
        final MapView residual, final MapView out, final int oy, final int ox, final int h0, final int h1,
        final Staging s)
    {
        final int rowFloats = IN_TILE * cout;
        final int outRowFloats = TILE * cout;
        // along each of the 6 rows (6 -> 4) into tmp (6, 4, Cout), then along each column (6 -> 4): y = A^T m A
        for (int r = 0; r < IN_TILE; r++)
        {
            outputRow(s.m, r * rowFloats, cout, s.tmp, r * outRowFloats, cout, cout);
        }
        final float[] y = s.y; // (4, 4, Cout)
        for (int j = 0; j < TILE; j++)
        {
            outputRow(s.tmp, j * cout, outRowFloats, y, j * cout, outRowFloats, cout);
        }
        final int cols = Math.min(TILE, out.width() - ox);
        if (residual == null)
        {
            epilogue(y, TILE * TILE);
        }
        else
        {
            // pixels of the tile outside the range or the map keep stale residual values: they are never stored
            final FloatBuffer r = residual.region().floats();
            for (int i = 0; i < TILE; i++)
            {
                final int oh = oy + i;
                if (oh >= h0 && oh < h1)
                {
                    r.get(residual.index(oh, ox, 0), s.r, i * TILE * cout, cols * cout);
                }
            }
            epilogue(y, s.r, TILE * TILE);
        }
        final FloatBuffer dst = out.region().floats();
        for (int i = 0; i < TILE; i++)
        {
            final int oh = oy + i;
            if (oh >= h0 && oh < h1)
            {
                dst.put(out.index(oh, ox, 0), y, i * TILE * cout, cols * cout);
            }
        }
    }

    /**
     * {@code A^T} of F(4, 3) over six vectors of {@code n} floats at {@code src[so + k * ss]}, written as four at
     * {@code dst[dOff + k * ds]}.
     */
    private static void outputRow(
        final float[] src, final int so, final int ss, final float[] dst, final int dOff, final int ds, final int n)
    {
        final int s1 = so + ss;
        final int s2 = so + 2 * ss;
        final int s3 = so + 3 * ss;
        final int s4 = so + 4 * ss;
        final int s5 = so + 5 * ss;
        for (int c = 0; c < n; c++)
        {
            final float m0 = src[so + c];
            final float a = src[s1 + c] + src[s2 + c];
            final float b = src[s1 + c] - src[s2 + c];
            final float p = src[s3 + c] + src[s4 + c];
            final float q = src[s3 + c] - src[s4 + c];
            dst[dOff + c] = m0 + a + p;
            dst[dOff + ds + c] = b + 2 * q;
            dst[dOff + 2 * ds + c] = a + 4 * p;
            dst[dOff + 3 * ds + c] = b + 8 * q + src[s5 + c];
        }
    }

    /** Adds the bias and applies the activation (and its affine tail) to {@code pixels} pixels of {@code y}. */
    private void epilogue(final float[] y, final int pixels)
    {
        final float[] b = bias;
        for (int px = 0; px < pixels; px++)
        {
            final int o = px * cout;
            switch (activation.kind())
            {
                case NONE:
                    for (int c = 0; c < cout; c++)
                    {
                        y[o + c] += b[c];
                    }
                    break;
                case RELU:
                    for (int c = 0; c < cout; c++)
                    {
                        y[o + c] = Math.max(y[o + c] + b[c], 0f);
                    }
                    break;
                default:
                    for (int c = 0; c < cout; c++)
                    {
                        y[o + c] = activation.applyCore(y[o + c] + b[c]);
                    }
            }
        }
        activation.affine(y, pixels * cout);
    }

    /** Adds the bias and the residual {@code r}, then applies the activation, to {@code pixels} pixels of {@code y}. */
    private void epilogue(final float[] y, final float[] r, final int pixels)
    {
        final float[] b = bias;
        for (int px = 0; px < pixels; px++)
        {
            final int o = px * cout;
            if (activation.kind() == Activation.Kind.RELU)
            {
                for (int c = 0; c < cout; c++)
                {
                    y[o + c] = Math.max((y[o + c] + b[c]) + r[o + c], 0f);
                }
            }
            else if (activation.isIdentity())
            {
                for (int c = 0; c < cout; c++)
                {
                    y[o + c] = (y[o + c] + b[c]) + r[o + c];
                }
            }
            else
            {
                for (int c = 0; c < cout; c++)
                {
                    y[o + c] = activation.applyCore((y[o + c] + b[c]) + r[o + c]);
                }
            }
        }
        activation.affine(y, pixels * cout);
    }

    /** {@code U_t = (G g G^T)_t} for every (input, output) channel pair, laid out (36, Cin, Cout). */
    private static FloatRegion transformWeights(final float[] weights, final int cin, final int cout,
        final RegionAllocator memory)
    {
        final FloatRegion u = memory.allocate(POINTS * cin * cout);
        final FloatBuffer f = u.floats();
        final double[] gt = new double[IN_TILE * 3];
        for (int co = 0; co < cout; co++)
        {
            for (int ci = 0; ci < cin; ci++)
            {
                final int w = (co * cin + ci) * 9;
                // G g: 6x3, then (G g) G^T: 6x6, in double so the transform adds no rounding of its own
                for (int k = 0; k < 3; k++)
                {
                    filterColumn(weights[w + k], weights[w + 3 + k], weights[w + 6 + k], gt, k, 3);
                }
                final double[] row = new double[IN_TILE];
                for (int r = 0; r < IN_TILE; r++)
                {
                    filterColumn(gt[r * 3], gt[r * 3 + 1], gt[r * 3 + 2], row, 0, 1);
                    for (int c = 0; c < IN_TILE; c++)
                    {
                        f.put(((r * IN_TILE + c) * cin + ci) * cout + co, (float)row[c]);
                    }
                }
            }
        }
        return u;
    }

    /** {@code G} of F(4, 3) applied to {@code (g0, g1, g2)}, written to {@code dst[off + k * stride]}. */
    private static void filterColumn(
        final double g0, final double g1, final double g2, final double[] dst, final int off, final int stride)
    {
        dst[off] = g0 / 4;
        dst[off + stride] = -(g0 + g1 + g2) / 6;
        dst[off + 2 * stride] = -(g0 - g1 + g2) / 6;
        dst[off + 3 * stride] = g0 / 24 + g1 / 12 + g2 / 6;
        dst[off + 4 * stride] = g0 / 24 - g1 / 12 + g2 / 6;
        dst[off + 5 * stride] = g2;
    }

    private Staging staging()
    {
        Staging s = STAGING.get();
        final int widest = Math.max(cin, cout);
        if (s == null || s.width < widest)
        {
            s = new Staging(widest);
            STAGING.set(s);
        }
        return s;
    }

    private static int clamp(final int v, final int lo, final int hi)
    {
        return Math.max(lo, Math.min(v, hi));
    }

    /** A thread's heap arrays for one tile, sized for the widest layer it has run. */
    private static final class Staging
    {
        final int width;
        final float[] patch;
        final float[] tmp;
        final float[] v;
        final float[] m;
        final float[] y;
        final float[] r;

        Staging(final int width)
        {
            this.width = width;
            this.patch = new float[POINTS * width];
            this.tmp = new float[POINTS * width];
            this.v = new float[POINTS * width];
            this.m = new float[POINTS * width];
            this.y = new float[TILE * TILE * width];
            this.r = new float[TILE * TILE * width];
        }
    }
}
