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

    private static final int IN_TILE = WinogradTransforms.IN_TILE;

    private static final int POINTS = WinogradTransforms.POINTS;

    /**
     * Scratch of one chunk of tiles (its V and M matrices): about 8 MiB, but within {@link #MIN_TILES} and
     * {@link #MAX_TILES} tiles. Measured (1 thread, VGG-16 and ResNet-18 shapes, 48..512 tiles): 64..128 tiles was
     * as fast as any other choice on every shape, and 10-25% faster than 32-tile chunks on 512 channels.
     */
    private static final int CHUNK_TARGET_FLOATS = 2 * 1024 * 1024;

    /** Fewest tiles a chunk's GEMMs get (their M dimension), for OpenBLAS to run near its peak. */
    private static final int MIN_TILES = 64;

    /** Most tiles a chunk gets: more leave V and M out of the cache between the transforms and the GEMMs. */
    private static final int MAX_TILES = 128;

    /** Most tiles of one row that one transform call stages together (one copy per point for them all). */
    private static final int BLOCK = 4;

    private static final ThreadLocal<Staging> STAGING = new ThreadLocal<>();

    private final ConvParams params;
    private final int cin;
    private final int cout;
    private final FloatRegion transformedWeights; // (36, Cin, Cout)
    private final float[] bias; // (Cout), zeros without bias
    private final Activation activation;
    private final boolean vector;

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
        this(params, weights, biasOrNull, fused, RegionAllocator.COLLECTED, DepthwiseConv2d.vectorByDefault());
    }

    /**
     * As {@link #WinogradConv2d(ConvParams, float[], float[], Activation)}, transforming into memory from
     * {@code memory} (the owner of a prepared model's weights).
     */
    public WinogradConv2d(final ConvParams params, final float[] weights, final float[] biasOrNull,
        final Activation fused, final RegionAllocator memory)
    {
        this(params, weights, biasOrNull, fused, memory, DepthwiseConv2d.vectorByDefault());
    }

    /**
     * As {@link #WinogradConv2d(ConvParams, float[], float[], Activation, RegionAllocator)}, choosing whether the
     * input and output transforms run on the Vector API ({@link WinogradVector}; same results, bit for bit).
     *
     * @param vector the Vector API loops, where the JVM has the module ({@link DepthwiseConv2d#vectorAvailable()}).
     */
    public WinogradConv2d(final ConvParams params, final float[] weights, final float[] biasOrNull,
        final Activation fused, final RegionAllocator memory, final boolean vector)
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
        this.vector = vector && DepthwiseConv2d.vectorAvailable();
        this.transformedWeights = WinogradTransforms.transformWeights(weights, cin, cout, memory);
    }

    /** @return whether the transforms run on the Vector API. */
    public boolean usesVector()
    {
        return vector;
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
        return POINTS * stride(chunkTiles(inputWidth, outputRows)) * (cin + cout);
    }

    /**
     * @return the rows {@code V_t} and {@code M_t} of a chunk of {@code tiles} are apart in scratch: odd, so that the
     * 36 points of one tile do not fall into the same cache sets when {@code tiles x channels} is a power of two.
     */
    private static int stride(final int tiles)
    {
        return tiles | 1;
    }

    /** @return tiles per chunk for a call over {@code outputRows} rows of a map {@code inputWidth} wide. */
    private int chunkTiles(final int inputWidth, final int outputRows)
    {
        final int tilesWide = (params.outputWidth(inputWidth) + TILE - 1) / TILE;
        final long tileRows = Math.min((long)outputRows + 2 * TILE, Integer.MAX_VALUE) / TILE + 1;
        final long inRange = tileRows * tilesWide;
        final int target = Math.max(MIN_TILES, Math.min(MAX_TILES, CHUNK_TARGET_FLOATS / (POINTS * (cin + cout))));
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
        forwardChannels(in, residual, out, h0, h1, 0, cout, scratch, scratchOffset);
    }

    /**
     * Splits by channels where the layer has fewer than half as many tiles as output channels: its transformed
     * weights (36 matrices) then outweigh the input's, and split by rows every thread reads them all (measured, two
     * threads on VGG-16's 28x28x512 layers: 1.51x one thread by channels against 1.27x by rows; on 56x56x256 rows
     * won, 1.94x against 1.65x).
     */
    @Override
    public boolean prefersChannelSplit(final int inputWidth, final int outputRows, final int parts)
    {
        final long tiles =
            (long)((outputRows + TILE - 1) / TILE) * ((params.outputWidth(inputWidth) + TILE - 1) / TILE);
        return parts > 1 && 2 * tiles < cout && cout / parts >= 32;
    }

    @Override
    public void forwardChannels(final MapView in, final MapView residual, final MapView out, final int h0,
        final int h1, final int c0, final int c1, final FloatRegion scratch, final int scratchOffset)
    {
        params.checkCall(in, out, h0, h1);
        ConvKernel.checkWindow(c0, c1, cout);
        if (residual != null)
        {
            ConvParams.checkResidual(residual, out, h0, h1);
        }
        if (h0 == h1 || c0 == c1)
        {
            return;
        }
        final int w = c1 - c0;
        final int i0 = firstInputRow(params, h0, h1, in.height());
        final int i1 = endInputRow(params, h0, h1, in.height());
        if (i0 < i1 && (i0 < in.firstRow() || i1 > in.endRow()))
        {
            throw new IllegalArgumentException("Winograd tiles over output rows [" + h0 + ", " + h1 + ") need input " +
                "rows [" + i0 + ", " + i1 + ") but input view holds [" + in.firstRow() + ", " + in.endRow() + ")");
        }
        final int tiles = chunkTiles(in.width(), h1 - h0);
        final int ld = stride(tiles);
        Conv2d.checkScratch(POINTS * ld * (cin + cout), scratch, scratchOffset);
        final int vOffset = scratchOffset;
        final int mOffset = scratchOffset + POINTS * ld * cin;
        final FloatBuffer sf = scratch.floats();
        final Staging s = staging();
        final int tilesWide = (out.width() + TILE - 1) / TILE;
        final int firstTileRow = h0 / TILE;
        final int endTileRow = (h1 + TILE - 1) / TILE;
        final int total = (endTileRow - firstTileRow) * tilesWide;
        for (int start = 0; start < total; start += tiles)
        {
            final int count = Math.min(tiles, total - start);
            for (int i = 0; i < count; )
            {
                final int tile = start + i;
                final int run = Math.min(Math.min(BLOCK, tilesWide - tile % tilesWide), count - i);
                inputTransform(in, (firstTileRow + tile / tilesWide) * TILE, (tile % tilesWide) * TILE, run, s);
                for (int t = 0; t < POINTS; t++)
                {
                    sf.put(vOffset + (t * ld + i) * cin, s.v, t * run * cin, run * cin);
                }
                i += run;
            }
            for (int t = 0; t < POINTS; t++)
            {
                Blas.sgemm(false, false, count, w, cin, 1f, scratch, vOffset + t * ld * cin, cin,
                    transformedWeights, t * cin * cout + c0, cout, 0f, scratch, mOffset + t * ld * cout + c0, cout);
            }
            for (int i = 0; i < count; )
            {
                final int tile = start + i;
                final int run = Math.min(Math.min(BLOCK, tilesWide - tile % tilesWide), count - i);
                // s.m: (36, run, w), the window's columns of each product row
                for (int t = 0; t < POINTS; t++)
                {
                    copyPixels(sf, mOffset + (t * ld + i) * cout + c0, s.m, t * run * w, run, w, false);
                }
                outputTransform(residual, out, (firstTileRow + tile / tilesWide) * TILE, (tile % tilesWide) * TILE,
                    run, h0, h1, c0, w, s);
                i += run;
            }
        }
    }

    /**
     * Reads the input of the {@code run} tiles of one tile row from the tile at output {@code (oy, ox)} (zeros
     * outside the map) and writes their transforms to {@code s.v}, laid out (36, run, Cin).
     */
    private void inputTransform(final MapView in, final int oy, final int ox, final int run, final Staging s)
    {
        final float[] d = s.patch; // (6, 4 run + 2, Cin)
        final FloatBuffer src = in.region().floats();
        final int cols = TILE * run + 2;
        final int rowFloats = cols * cin;
        final int y0 = oy - params.padTop();
        final int x0 = ox - params.padLeft();
        final int xa = Math.max(0, x0);
        final int xb = Math.min(in.width(), x0 + cols);
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
        // per tile: along each row (x) into tmp (6, 6, Cin), then along each column (y) into v: B^T d B
        final int tileFloats = IN_TILE * cin;
        for (int j = 0; j < run; j++)
        {
            for (int r = 0; r < IN_TILE; r++)
            {
                inputRow(d, r * rowFloats + TILE * j * cin, cin, s.tmp, r * tileFloats, cin);
            }
            for (int x = 0; x < IN_TILE; x++)
            {
                inputRow(s.tmp, x * cin, tileFloats, s.v, (x * run + j) * cin, IN_TILE * run * cin);
            }
        }
    }

    /** {@link WinogradTransforms#inputRow} over all {@link #cin} channels, vector loop first where it runs. */
    private void inputRow(final float[] src, final int so, final int ss, final float[] dst, final int dOff,
        final int ds)
    {
        final int done = vector ? WinogradVector.inputRow(src, so, ss, dst, dOff, ds, cin) : 0;
        WinogradTransforms.inputRow(src, so, ss, dst, dOff, ds, done, cin);
    }

    /**
     * Computes the {@code run} 4x4 tiles of one tile row from the tile at output {@code (oy, ox)} from {@code s.m}
     * (laid out (36, run, w): channels {@code [c0, c0 + w)}), adds the bias and the residual's pixels (if any),
     * applies the activation and writes those channels of their pixels in rows {@code [h0, h1)}.
     */
    private void outputTransform(final MapView residual, final MapView out, final int oy, final int ox,
        final int run, final int h0, final int h1, final int c0, final int w, final Staging s)
    {
        final int tmpRowFloats = TILE * w;
        final float[] y = s.y; // (4, 4 run, w)
        final int yRow = TILE * run * w;
        // per tile: along each of the 6 rows (6 -> 4) into tmp (6, 4, w), then along each column (6 -> 4) into y
        for (int j = 0; j < run; j++)
        {
            for (int r = 0; r < IN_TILE; r++)
            {
                outputRow(s.m, (r * IN_TILE * run + j) * w, run * w, s.tmp, r * tmpRowFloats, w, w);
            }
            for (int k = 0; k < TILE; k++)
            {
                outputRow(s.tmp, k * w, tmpRowFloats, y, (TILE * j + k) * w, yRow, w);
            }
        }
        final int cols = Math.min(TILE * run, out.width() - ox);
        final int pixels = TILE * TILE * run;
        if (w != cout)
        {
            System.arraycopy(bias, c0, s.bias, 0, w);
        }
        final float[] b = w == cout ? bias : s.bias;
        if (residual == null)
        {
            epilogue(y, b, w, pixels);
        }
        else
        {
            // pixels of the tiles outside the range or the map keep stale residual values: they are never stored
            final FloatBuffer r = residual.region().floats();
            for (int i = 0; i < TILE; i++)
            {
                final int oh = oy + i;
                if (oh >= h0 && oh < h1)
                {
                    copyPixels(r, residual.index(oh, ox, c0), s.r, i * yRow, cols, w, false);
                }
            }
            epilogue(y, s.r, b, w, pixels);
        }
        final FloatBuffer dst = out.region().floats();
        for (int i = 0; i < TILE; i++)
        {
            final int oh = oy + i;
            if (oh >= h0 && oh < h1)
            {
                copyPixels(dst, out.index(oh, ox, c0), y, i * yRow, cols, w, true);
            }
        }
    }

    /**
     * Moves {@code w} channels of {@code cols} consecutive pixels (or product rows) between a map or the products
     * (pixels {@link #cout} apart, from {@code at}) and packed heap floats ({@code w} apart, from {@code off}): one
     * copy when the window is the whole pixel.
     */
    private void copyPixels(final FloatBuffer map, final int at, final float[] packed, final int off, final int cols,
        final int w, final boolean store)
    {
        if (w == cout)
        {
            if (store)
            {
                map.put(at, packed, off, cols * w);
            }
            else
            {
                map.get(at, packed, off, cols * w);
            }
            return;
        }
        for (int x = 0; x < cols; x++)
        {
            if (store)
            {
                map.put(at + x * cout, packed, off + x * w, w);
            }
            else
            {
                map.get(at + x * cout, packed, off + x * w, w);
            }
        }
    }

    /** {@link WinogradTransforms#outputRow} over {@code n} channels, vector loop first where it runs. */
    private void outputRow(final float[] src, final int so, final int ss, final float[] dst, final int dOff,
        final int ds, final int n)
    {
        final int done = vector ? WinogradVector.outputRow(src, so, ss, dst, dOff, ds, n) : 0;
        WinogradTransforms.outputRow(src, so, ss, dst, dOff, ds, done, n);
    }

    /** Adds the bias {@code b} ({@code n} channels), applies the activation and its tail, to {@code pixels} pixels. */
    private void epilogue(final float[] y, final float[] b, final int n, final int pixels)
    {
        for (int px = 0; px < pixels; px++)
        {
            final int o = px * n;
            switch (activation.kind())
            {
                case NONE:
                    for (int c = 0; c < n; c++)
                    {
                        y[o + c] += b[c];
                    }
                    break;
                case RELU:
                    for (int c = 0; c < n; c++)
                    {
                        y[o + c] = Math.max(y[o + c] + b[c], 0f);
                    }
                    break;
                default:
                    for (int c = 0; c < n; c++)
                    {
                        y[o + c] = activation.applyCore(y[o + c] + b[c]);
                    }
            }
        }
        activation.affine(y, pixels * n);
    }

    /** Adds the bias {@code b} and the residual {@code r}, then applies the activation, to {@code pixels} pixels. */
    private void epilogue(final float[] y, final float[] r, final float[] b, final int n, final int pixels)
    {
        for (int px = 0; px < pixels; px++)
        {
            final int o = px * n;
            if (activation.kind() == Activation.Kind.RELU)
            {
                for (int c = 0; c < n; c++)
                {
                    y[o + c] = Math.max((y[o + c] + b[c]) + r[o + c], 0f);
                }
            }
            else if (activation.isIdentity())
            {
                for (int c = 0; c < n; c++)
                {
                    y[o + c] = (y[o + c] + b[c]) + r[o + c];
                }
            }
            else
            {
                for (int c = 0; c < n; c++)
                {
                    y[o + c] = activation.applyCore((y[o + c] + b[c]) + r[o + c]);
                }
            }
        }
        activation.affine(y, pixels * n);
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

    /** A thread's heap arrays for one block of tiles, sized for the widest layer it has run. */
    private static final class Staging
    {
        final int width;
        final float[] patch;
        final float[] tmp;
        final float[] v;
        final float[] m;
        final float[] y;
        final float[] r;
        final float[] bias;

        Staging(final int width)
        {
            this.width = width;
            this.patch = new float[IN_TILE * (TILE * BLOCK + 2) * width];
            this.tmp = new float[POINTS * width];
            this.v = new float[POINTS * BLOCK * width];
            this.m = new float[POINTS * BLOCK * width];
            this.y = new float[TILE * TILE * BLOCK * width];
            this.r = new float[TILE * TILE * BLOCK * width];
            this.bias = new float[width];
        }
    }
}
