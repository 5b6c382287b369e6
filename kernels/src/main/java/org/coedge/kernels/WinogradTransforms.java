package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * The three transforms of Winograd F(4x4, 3x3) as plain loops: the filter transform {@code G g G^T} (once, at
 * prepare time), and the one-dimensional input transform {@code B^T} and output transform {@code A^T}, which
 * {@link WinogradConv2d} applies along a tile's rows and then its columns. The 1-D transforms work on channel
 * vectors: six vectors of {@code n} floats at a stride in, six (or four) out, so that a tile's channels are the inner
 * loop. {@link WinogradVector} computes the same expressions, in the same order, on the Vector API; the loops here
 * take over from its last whole vector ({@code from}), so both paths give the same bits.
 * <p>
 * Stateless.
 */
final class WinogradTransforms
{
    /** Input tile edge of F(4x4, 3x3). */
    static final int IN_TILE = 6;

    /** Points per tile: products per (input, output) channel pair. */
    static final int POINTS = IN_TILE * IN_TILE;

    private WinogradTransforms()
    {
    }

    /**
     * {@code B^T} of F(4, 3) over channels {@code [from, n)} of six vectors at {@code src[so + k * ss]}, written to
     * six at {@code dst[dOff + k * ds]}.
     */
    static void inputRow(final float[] src, final int so, final int ss, final float[] dst, final int dOff,
        final int ds, final int from, final int n)
    {
        final int s1 = so + ss;
        final int s2 = so + 2 * ss;
        final int s3 = so + 3 * ss;
        final int s4 = so + 4 * ss;
        final int s5 = so + 5 * ss;
        for (int c = from; c < n; c++)
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
     * {@code A^T} of F(4, 3) over channels {@code [from, n)} of six vectors at {@code src[so + k * ss]}, written to
     * four at {@code dst[dOff + k * ds]}.
     */
    static void outputRow(final float[] src, final int so, final int ss, final float[] dst, final int dOff,
        final int ds, final int from, final int n)
    {
        final int s1 = so + ss;
        final int s2 = so + 2 * ss;
        final int s3 = so + 3 * ss;
        final int s4 = so + 4 * ss;
        final int s5 = so + 5 * ss;
        for (int c = from; c < n; c++)
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

    /**
     * {@code U_t = (G g G^T)_t} for every (input, output) channel pair of ONNX weights {@code [Cout, Cin, 3, 3]},
     * laid out (36, Cin, Cout) in memory from {@code memory}.
     */
    static FloatRegion transformWeights(final float[] weights, final int cin, final int cout,
        final RegionAllocator memory)
    {
        final FloatRegion u = memory.allocate(POINTS * cin * cout);
        final FloatBuffer f = u.floats();
        final double[] gt = new double[IN_TILE * 3];
        final double[] row = new double[IN_TILE];
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
}
