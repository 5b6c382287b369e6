package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.coedge.engine.graph.Node;
import org.coedge.kernels.Reductions;
import org.coedge.kernels.TensorOps;
import org.coedge.kernels.TensorView;

/**
 * Lowers normalized nodes onto {@link TensorLayer}s, the generic path for tensors of any rank and batch: layout
 * operators (Transpose, Slice, Gather, Expand, Tile, Concat, DepthToSpace), broadcasting n-ary math, softmax and
 * reductions over any axes, normalizations, N-d windows and products with weights that arrive at run time. The node
 * forms it reads are those {@link org.coedge.engine.onnx.ShapeInference} produces. Cold path.
 */
final class TensorLayers
{
    private TensorLayers()
    {
    }

    /** @return whether {@link #lower} handles {@code n} (by op type alone). */
    static boolean handles(final String opType)
    {
        switch (opType)
        {
            case "Transpose":
            case "Slice":
            case "Gather":
            case "Expand":
            case "Tile":
            case "Nary":
            case "Reduce":
            case "InstanceNormalization":
            case "LayerNormalization":
            case "GroupNormalization":
            case "DepthToSpace":
            case "SpaceToDepth":
            case "RuntimeBatchNormalization":
                return true;
            default:
                return false;
        }
    }

    static void lower(final Lowering l, final Node n)
    {
        switch (n.opType())
        {
            case "Transpose":
                transpose(l, n);
                break;
            case "Slice":
                slice(l, n);
                break;
            case "Gather":
                gather(l, n);
                break;
            case "Expand":
                add(l, n, operands(l, n), new TensorLayer.Kernel()
                {
                    private TensorView in;
                    private TensorView out;

                    @Override
                    public void bind(final TensorView[] v, final TensorView o)
                    {
                        in = v[0].broadcastTo(o.dims());
                        out = o;
                    }

                    @Override
                    public void run()
                    {
                        TensorOps.copy(in, out);
                    }
                }, 0);
                break;
            case "Tile":
                add(l, n, operands(l, n), new TensorLayer.OneToOne()
                {
                    @Override
                    public void run()
                    {
                        TensorOps.tile(in, out);
                    }
                }, 0);
                break;
            case "Nary":
                nary(l, n, TensorOps.Binary.valueOf(n.attrString("op", "")), n.attrInt("mean", 0) != 0);
                break;
            case "Reduce":
                reduce(l, n);
                break;
            case "InstanceNormalization":
            case "LayerNormalization":
            case "GroupNormalization":
                WindowLayers.normalization(l, n);
                break;
            case "DepthToSpace":
            case "SpaceToDepth":
                depthToSpace(l, n);
                break;
            case "RuntimeBatchNormalization":
                WindowLayers.batchNorm(l, n);
                break;
            default:
                throw new IllegalArgumentException("unsupported operator " + n.opType());
        }
    }

    /** @return every input of {@code n} as an operand (null where omitted), runtime or constant. */
    static List<TensorLayer.Operand> operands(final Lowering l, final Node n)
    {
        final List<TensorLayer.Operand> ops = new ArrayList<>();
        for (final String in : n.inputs())
        {
            if (in.isEmpty())
            {
                ops.add(null);
            }
            else if (l.isConstant(in))
            {
                ops.add(TensorLayer.Operand.of(l.constant(in)));
            }
            else
            {
                ops.add(TensorLayer.Operand.of(l.value(in), l.dims(in)));
            }
        }
        return ops;
    }

    static void add(final Lowering l, final Node n, final List<TensorLayer.Operand> ops,
        final TensorLayer.Kernel kernel, final long flopsPerOutput)
    {
        final long[] outDims = l.dims(n.output(0));
        final Value out = l.newOutput(n.output(0));
        final TensorLayer layer = new TensorLayer(n.name(), n.attrString("onnx", n.opType()), ops, out, outDims, kernel,
            Math.max(1, flopsPerOutput) * out.shape().size(), l.memory());
        l.add(layer, layer.constantBytes());
    }

    static int[] ints(final Node n, final String attribute)
    {
        final long[] v = n.attrInts(attribute, null);
        if (v == null)
        {
            throw new IllegalArgumentException("attribute " + attribute + " is missing");
        }
        return TensorLayer.toInts(v);
    }

    /** A kernel copying the first operand, seen through a derived view, into the output. */
    private abstract static class CopyKernel implements TensorLayer.Kernel
    {
        private TensorView in;
        private TensorView out;

        abstract TensorView source(TensorView in, TensorView out);

        TensorView target(final TensorView out)
        {
            return out;
        }

        @Override
        public void bind(final TensorView[] v, final TensorView o)
        {
            in = source(v[0], o);
            out = target(o);
        }

        @Override
        public void run()
        {
            TensorOps.copy(in, out);
        }
    }

    private static void transpose(final Lowering l, final Node n)
    {
        final int[] perm = ints(n, "perm");
        add(l, n, operands(l, n).subList(0, 1), new CopyKernel()
        {
            @Override
            TensorView source(final TensorView in, final TensorView out)
            {
                return in.permuted(perm);
            }
        }, 0);
    }

    private static void slice(final Lowering l, final Node n)
    {
        final int[] starts = ints(n, "starts");
        final int[] steps = ints(n, "steps");
        add(l, n, operands(l, n).subList(0, 1), new CopyKernel()
        {
            @Override
            TensorView source(final TensorView in, final TensorView out)
            {
                TensorView v = in;
                for (int a = 0; a < starts.length; a++)
                {
                    v = v.sliced(a, starts[a], out.dim(a), steps[a]);
                }
                return v;
            }
        }, 0);
    }

    private static void gather(final Lowering l, final Node n)
    {
        final int axis = (int)n.attrInt("axis", 0);
        final int[] indices = ints(n, "indices");
        add(l, n, operands(l, n).subList(0, 1), new TensorLayer.OneToOne()
        {
            @Override
            public void run()
            {
                TensorOps.gather(in, axis, indices, out);
            }
        }, 0);
    }

    /** Folds {@code op} over every operand (numpy broadcasting), or averages them. */
    static void nary(final Lowering l, final Node n, final TensorOps.Binary op, final boolean mean)
    {
        final List<TensorLayer.Operand> ops = new ArrayList<>();
        for (final TensorLayer.Operand o : operands(l, n))
        {
            if (o != null)
            {
                ops.add(o);
            }
        }
        add(l, n, ops, new TensorLayer.Kernel()
        {
            private TensorView[] in;
            private TensorView out;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                in = new TensorView[v.length];
                for (int i = 0; i < v.length; i++)
                {
                    in[i] = v[i].broadcastTo(o.dims());
                }
                out = o;
            }

            @Override
            public void run()
            {
                TensorOps.nary(op, mean, in, out);
            }
        }, ops.size());
    }

    /** Clip with bounds that arrive at run time: {@code min(max(x, lo), hi)}, each bound optional. */
    static void clip(final Lowering l, final Node n)
    {
        final List<TensorLayer.Operand> ops = operands(l, n);
        while (ops.size() < 3)
        {
            ops.add(null);
        }
        add(l, n, ops, new TensorLayer.Kernel()
        {
            private TensorView x;
            private TensorView lo;
            private TensorView hi;
            private TensorView out;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                x = v[0];
                lo = v[1] == null ? null : v[1].broadcastTo(o.dims());
                hi = v[2] == null ? null : v[2].broadcastTo(o.dims());
                out = o;
            }

            @Override
            public void run()
            {
                TensorOps.copy(x, out);
                if (lo != null)
                {
                    TensorOps.binary(TensorOps.Binary.MAX, out, lo, out);
                }
                if (hi != null)
                {
                    TensorOps.binary(TensorOps.Binary.MIN, out, hi, out);
                }
            }
        }, 2);
    }

    /** Softmax / LogSoftmax over {@code axis} alone, or (opset < 13) over every dim from {@code axis} on. */
    static void softmax(final Lowering l, final Node n)
    {
        final int rank = l.dims(n.input(0)).length;
        final int axis = (int)n.attrInt("axis", rank - 1);
        final boolean coerce = n.attrInt("coerce2d", 0) != 0;
        final boolean log = "LogSoftmax".equals(n.opType());
        final int[] perm = new int[rank];
        int k = 0;
        for (int a = 0; a < rank; a++)
        {
            if (a != axis)
            {
                perm[k++] = a;
            }
        }
        perm[rank - 1] = axis;
        final int reduced = coerce ? rank - axis : 1;
        add(l, n, operands(l, n).subList(0, 1), new TensorLayer.Kernel()
        {
            private TensorView in;
            private TensorView out;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                in = coerce ? v[0] : v[0].permuted(perm);
                out = coerce ? o : o.permuted(perm);
            }

            @Override
            public void run()
            {
                Reductions.softmax(in, out, reduced, log);
            }
        }, 4);
    }

    private static void reduce(final Lowering l, final Node n)
    {
        reduce(l, n, Reductions.Reduce.valueOf(n.attrString("kind", "")), ints(n, "axes"),
            n.attrInt("keepdims", 1) != 0);
    }

    /** Reduces input 0 of {@code n} over {@code axes} (sorted, distinct). */
    static void reduce(final Lowering l, final Node n, final Reductions.Reduce kind, final int[] axes,
        final boolean keepDims)
    {
        final int rank = l.dims(n.input(0)).length;
        final float epsilon = n.attrFloat("epsilon", 0f);
        final boolean[] reducedAxis = new boolean[rank];
        for (final int a : axes)
        {
            reducedAxis[a] = true;
        }
        final int[] perm = new int[rank];
        int k = 0;
        for (int a = 0; a < rank; a++)
        {
            if (!reducedAxis[a])
            {
                perm[k++] = a;
            }
        }
        for (int a = 0; a < rank; a++)
        {
            if (reducedAxis[a])
            {
                perm[k++] = a;
            }
        }
        add(l, n, operands(l, n).subList(0, 1), new TensorLayer.Kernel()
        {
            private TensorView in;
            private TensorView out;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                in = v[0].permuted(perm);
                out = keepDims ? keptView(o, reducedAxis) : o;
            }

            @Override
            public void run()
            {
                Reductions.reduce(kind, epsilon, in, axes.length, out);
            }
        }, 1);
    }

    /** @return the keepdims output {@code o} indexed by its kept dims alone. */
    private static TensorView keptView(final TensorView o, final boolean[] reducedAxis)
    {
        int kept = 0;
        for (final boolean r : reducedAxis)
        {
            kept += r ? 0 : 1;
        }
        final int[] dims = new int[kept];
        final int[] strides = new int[kept];
        for (int a = 0, k = 0; a < reducedAxis.length; a++)
        {
            if (!reducedAxis[a])
            {
                dims[k] = o.dim(a);
                strides[k++] = o.stride(a);
            }
        }
        return new TensorView(dims, strides).bind(o.buffer(), o.offset());
    }

    private static void depthToSpace(final Lowering l, final Node n)
    {
        final int b = (int)n.attrInt("blocksize", 1);
        final boolean toSpace = "DepthToSpace".equals(n.opType());
        final boolean crd = "CRD".equals(n.attrString("mode", "DCR").toUpperCase(Locale.ROOT));
        add(l, n, operands(l, n).subList(0, 1), new CopyKernel()
        {
            @Override
            TensorView source(final TensorView in, final TensorView out)
            {
                if (toSpace)
                {
                    // in [N, C, H, W] as [N, b, b, C', H, W] (DCR) or [N, C', b, b, H, W] (CRD) -> [N, C', H, b, W, b]
                    final TensorView six = crd ? in.splitDim(1, in.dim(1) / (b * b)).splitDim(2, b) :
                        in.splitDim(1, b).splitDim(2, b);
                    return six.permuted(crd ? new int[]{0, 1, 4, 2, 5, 3} : new int[]{0, 3, 4, 1, 5, 2});
                }
                // in [N, C, H, W] as [N, C, H', b, W', b] -> [N, b, b, C, H', W']
                return in.splitDim(2, in.dim(2) / b).splitDim(4, in.dim(3) / b)
                    .permuted(new int[]{0, 3, 5, 1, 2, 4});
            }

            @Override
            TensorView target(final TensorView out)
            {
                if (toSpace)
                {
                    return out.splitDim(2, out.dim(2) / b).splitDim(4, out.dim(3) / b);
                }
                return out.splitDim(1, b).splitDim(2, b);
            }
        }, 0);
    }

    /** Concat along any axis: each operand is copied into its slice of the output. */
    static void concat(final Lowering l, final Node n)
    {
        final int axis = (int)n.attrInt("axis", 1);
        final List<TensorLayer.Operand> ops = operands(l, n);
        add(l, n, ops, new TensorLayer.Kernel()
        {
            private TensorView[] in;
            private TensorView[] parts;

            @Override
            public void bind(final TensorView[] v, final TensorView o)
            {
                in = v;
                parts = new TensorView[v.length];
                int at = 0;
                for (int i = 0; i < v.length; i++)
                {
                    parts[i] = o.sliced(axis, at, v[i].dim(axis), 1);
                    at += v[i].dim(axis);
                }
            }

            @Override
            public void run()
            {
                for (int i = 0; i < in.length; i++)
                {
                    TensorOps.copy(in[i], parts[i]);
                }
            }
        }, 0);
    }

    /** Pad of any rank and mode; pads are [begin..., end...], non-negative. */
    static void pad(final Lowering l, final Node n)
    {
        final int rank = l.dims(n.input(0)).length;
        final int[] begin = Arrays.copyOfRange(ints(n, "pads"), 0, rank);
        final TensorOps.PadMode mode = TensorOps.PadMode.valueOf(n.attrString("mode", "constant")
            .toUpperCase(Locale.ROOT));
        final float value = n.attrFloat("value", 0f);
        add(l, n, operands(l, n).subList(0, 1), new TensorLayer.OneToOne()
        {
            @Override
            public void run()
            {
                TensorOps.pad(mode, value, begin, in, out);
            }
        }, 0);
    }
}
