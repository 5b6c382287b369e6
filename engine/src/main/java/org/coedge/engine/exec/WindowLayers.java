package org.coedge.engine.exec;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.coedge.engine.graph.Node;
import org.coedge.kernels.TensorConv;
import org.coedge.kernels.Reductions;
import org.coedge.kernels.TensorOps;
import org.coedge.kernels.TensorResize;
import org.coedge.kernels.TensorView;

/**
 * Lowers the arithmetic-heavy operators of the generic path onto {@link TensorLayer}s: N-d windows (Conv,
 * ConvTranspose, pooling) with weights constant or at run time, matrix products of activations, cubic Resize, LRN
 * over any batch and the normalizations (Instance, Layer, Group, BatchNormalization with runtime statistics). The
 * layout operators are {@link TensorLayers}'. Cold path.
 */
final class WindowLayers
{
    private WindowLayers()
    {
    }

    static void normalization(final Lowering l, final Node n)
    {
        final long[] x = l.dims(n.input(0));
        final int rank = x.length;
        final float epsilon = n.attrFloat("epsilon", 1e-5f);
        final int groups;
        final int firstReduced;
        switch (n.opType())
        {
            case "LayerNormalization":
                groups = 1;
                firstReduced = (int)n.attrInt("axis", -1);
                break;
            case "GroupNormalization":
                groups = (int)n.attrInt("num_groups", 1);
                firstReduced = 2;
                break;
            default:
                groups = (int)x[1];
                firstReduced = 2;
                break;
        }
        final boolean layer = "LayerNormalization".equals(n.opType());
        final List<TensorLayer.Operand> ops = TensorLayers.operands(l, n);
        while (ops.size() < 3)
        {
            ops.add(null);
        }
        TensorLayers.add(l, n, ops.subList(0, 3), new TensorLayer.Kernel()
        {
            private TensorView in;
            private TensorView normalized;
            private TensorView out;
            private TensorView scale;
            private TensorView bias;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                if (layer)
                {
                    in = v[0];
                    normalized = o;
                    scale = v[1] == null ? null : v[1].broadcastTo(o.dims());
                    bias = v[2] == null ? null : v[2].broadcastTo(o.dims());
                }
                else
                {
                    // [N, C, ...] seen as [N, G, C/G, ...]: the statistics run over everything after G.
                    in = v[0].splitDim(1, groups);
                    normalized = o.splitDim(1, groups);
                    final int[] perChannel = new int[rank - 1];
                    Arrays.fill(perChannel, 1);
                    perChannel[0] = (int)x[1];
                    scale = v[1] == null ? null : v[1].reshapedDims(perChannel).broadcastTo(o.dims());
                    bias = v[2] == null ? null : v[2].reshapedDims(perChannel).broadcastTo(o.dims());
                }
                out = o;
            }

            @Override
            public void run()
            {
                Reductions.standardize(in, normalized, layer ? rank - firstReduced : rank - 1, epsilon);
                if (scale != null)
                {
                    TensorOps.binary(TensorOps.Binary.MUL, out, scale, out);
                }
                if (bias != null)
                {
                    TensorOps.binary(TensorOps.Binary.ADD, out, bias, out);
                }
            }
        }, 8);
    }


    /** Inference BatchNormalization with its statistics as runtime values: per channel (axis 1), any rank. */
    static void batchNorm(final Lowering l, final Node n)
    {
        final long[] x = l.dims(n.input(0));
        final float epsilon = n.attrFloat("epsilon", 1e-5f);
        final int[] perChannel = new int[x.length - 1];
        Arrays.fill(perChannel, 1);
        perChannel[0] = (int)x[1];
        TensorLayers.add(l, n, TensorLayers.operands(l, n), new TensorLayer.Kernel()
        {
            private TensorView in;
            private TensorView[] p;
            private TensorView out;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                in = v[0];
                p = new TensorView[4];
                for (int i = 0; i < 4; i++)
                {
                    p[i] = v[i + 1].reshapedDims(perChannel).broadcastTo(o.dims());
                }
                out = o;
            }

            @Override
            public void run()
            {
                final int size = out.size();
                for (int i = 0; i < size; i++)
                {
                    final double scale = p[0].get(i) / Math.sqrt(p[3].get(i) + epsilon);
                    out.set(i, (float)((in.get(i) - p[2].get(i)) * scale + p[1].get(i)));
                }
            }
        }, 4);
    }


    static void lrn(final Lowering l, final Node n)
    {
        final int size = (int)n.attrInt("size", 1);
        final float alpha = n.attrFloat("alpha", 1e-4f);
        final float beta = n.attrFloat("beta", 0.75f);
        final float bias = n.attrFloat("bias", 1f);
        TensorLayers.add(l, n, TensorLayers.operands(l, n).subList(0, 1), new TensorLayer.OneToOne()
        {
            @Override
            public void run()
            {
                Reductions.lrn(size, alpha, beta, bias, in, out);
            }
        }, 2L * size);
    }


    /** Cubic Resize (any rank) on the generic path. */
    static void resize(final Lowering l, final Node n)
    {
        if (!"cubic".equals(n.attrString("mode", "")))
        {
            throw new IllegalArgumentException("Resize mode " + n.attrString("mode", "") + " of input " +
                Arrays.toString(l.dims(n.input(0))) + " is only supported on NCHW maps of batch 1");
        }
        final String coordinates = n.attrString("coordinate_transformation_mode", "half_pixel");
        final TensorResize.Coordinates mode = TensorResize.Coordinates.valueOf(coordinates.toUpperCase(Locale.ROOT));
        final float[] scales = n.attrFloats("scales", null);
        final double a = n.attrFloat("cubic_coeff_a", -0.75f);
        final boolean exclude = n.attrInt("exclude_outside", 0) != 0;
        TensorLayers.add(l, n, TensorLayers.operands(l, n).subList(0, 1), new TensorLayer.OneToOne()
        {
            @Override
            public void run()
            {
                TensorResize.cubic(mode, a, exclude, scales, in, out);
            }
        }, 16);
    }


    /** N-d Conv / ConvTranspose / MaxPool / AveragePool on the generic path. */
    static void window(final Lowering l, final Node n)
    {
        final int[] k = TensorLayers.ints(n, "kernel_shape");
        final int[] pads = TensorLayers.ints(n, "pads");
        final int[] begin = Arrays.copyOfRange(pads, 0, k.length);
        final int[] end = Arrays.copyOfRange(pads, k.length, 2 * k.length);
        final TensorConv.Window win = new TensorConv.Window(k, TensorLayers.ints(n, "strides"), TensorLayers.ints(n, "dilations"), begin);
        final int group = (int)n.attrInt("group", 1);
        final String op = n.opType();
        final boolean countPad = n.attrInt("count_include_pad", 0) != 0;
        long kernelSize = 1;
        for (final int d : k)
        {
            kernelSize *= d;
        }
        final long[] w = n.inputs().size() > 1 ? l.dims(n.input(1)) : new long[]{1, 1};
        final long flops = op.startsWith("Conv") ? 2 * kernelSize * w[1] : kernelSize;
        TensorLayers.add(l, n, TensorLayers.operands(l, n), new TensorLayer.Kernel()
        {
            private TensorView[] v;
            private TensorView out;

            @Override
            public void bind(final TensorView[] views, final TensorView o)
            {
                v = views;
                out = o;
            }

            @Override
            public void run()
            {
                switch (op)
                {
                    case "Conv":
                        TensorConv.conv(win, group, v[0], v[1], v.length > 2 ? v[2] : null, out);
                        break;
                    case "ConvTranspose":
                        TensorConv.convTranspose(win, group, v[0], v[1], v.length > 2 ? v[2] : null, out);
                        break;
                    default:
                        TensorConv.pool(win, "MaxPool".equals(op), countPad, end, v[0], out);
                        break;
                }
            }
        }, flops);
    }

    /** Gemm / MatMul with any operand at run time, any batch, broadcasting batch dims (MatMul). */
    static void matMul(final Lowering l, final Node n)
    {
        final boolean gemm = "Gemm".equals(n.opType());
        final boolean transA = n.attrInt("transA", 0) != 0;
        final boolean transB = n.attrInt("transB", 0) != 0;
        final float alpha = n.attrFloat("alpha", 1f);
        final float beta = n.attrFloat("beta", 1f);
        final long[] a = l.dims(n.input(0));
        final long k = transA ? a[a.length - 2] : a[a.length - 1];
        TensorLayers.add(l, n, TensorLayers.operands(l, n), new TensorLayer.Kernel()
        {
            private TensorView av;
            private TensorView bv;
            private TensorView cv;
            private TensorView out;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                TensorView oo = o;
                if (v[0].rank() == 1)
                {
                    oo = oo.unsqueezed(oo.rank() - (v[1].rank() == 1 ? 0 : 1));
                }
                if (v[1].rank() == 1)
                {
                    oo = oo.unsqueezed(oo.rank());
                }
                final int r = oo.rank();
                final int[] od = oo.dims();
                av = matrix(v[0], transA, r, od, (int)k, true);
                bv = matrix(v[1], transB, r, od, (int)k, false);
                cv = gemm && v.length > 2 && v[2] != null ? v[2].broadcastTo(od) : null;
                out = oo;
            }

            @Override
            public void run()
            {
                TensorOps.matMul(av, bv, cv, gemm ? alpha : 1f, beta, out);
            }
        }, 2 * k);
    }

    /** @return {@code m} (a matrix or a stack of them, 1-D promoted as numpy does) as rank {@code r} with out's batch. */
    private static TensorView matrix(final TensorView m, final boolean trans, final int r, final int[] out,
        final int k, final boolean left)
    {
        TensorView v = m;
        if (v.rank() == 1)
        {
            v = left ? v.unsqueezed(0) : v.unsqueezed(1);
        }
        if (trans)
        {
            final int[] perm = new int[v.rank()];
            for (int i = 0; i < perm.length; i++)
            {
                perm[i] = i;
            }
            perm[perm.length - 2] = perm.length - 1;
            perm[perm.length - 1] = perm.length - 2;
            v = v.permuted(perm);
        }
        final int[] target = out.clone();
        if (left)
        {
            target[r - 1] = k;
            target[r - 2] = v.dim(v.rank() - 2);
        }
        else
        {
            target[r - 2] = k;
            target[r - 1] = v.dim(v.rank() - 1);
        }
        return v.broadcastTo(target);
    }
}
