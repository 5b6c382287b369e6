package org.coedge.engine.exec;

import java.util.Arrays;
import java.util.Locale;

import org.coedge.engine.graph.Node;
import org.coedge.kernels.Reductions;
import org.coedge.kernels.TensorOps;

/**
 * Chooses, per normalized node, between the fast kernels ({@link LayerFactory}: NHWC maps of batch 1, constant
 * weights, channel axes) and the generic tensor path ({@link TensorLayers}, {@link WindowLayers}), and lowers a node
 * onto the generic path. Cold path.
 */
final class PathChoice
{
    private PathChoice()
    {
    }

    /**
     * @return whether the node fits the engine's fast kernels: NHWC maps (a batch above 1 as stacked images, see
     * {@link ImageBatch}), constant weights, channel axes; otherwise it runs on the generic path
     * ({@link TensorLayers}).
     */
    static boolean fastPath(final Lowering l, final Node n)
    {
        if (n.attrInt("nd", 0) != 0)
        {
            return false;
        }
        final long[] x = n.inputs().isEmpty() || n.input(0).isEmpty() ? new long[0] : l.dims(n.input(0));
        final long[] y = l.dims(n.output(0));
        switch (n.opType())
        {
            case "Conv":
            case "ConvTranspose":
                return Lowering.isMap(x) && l.isConstant(n.input(1)) &&
                    (n.inputs().size() < 3 || n.input(2).isEmpty() || l.isConstant(n.input(2)));
            case "MaxPool":
            case "AveragePool":
            case "GlobalAveragePool":
            case "GlobalMaxPool":
            case "LRN":
                return Lowering.isMap(x);
            case "PRelu":
                return Lowering.isMap(x) && l.isConstant(n.input(1)) && isPerChannel(x, l.dims(n.input(1)));
            case "Add":
            case "Sub":
            case "Mul":
            case "Div":
            {
                if (!Lowering.isMap(y) && !(y.length == 1 || (y.length == 2 && y[0] == 1)))
                {
                    return false;
                }
                for (int i = 0; i < 2; i++)
                {
                    final long[] d = l.dims(n.input(i));
                    // a runtime operand is the output's shape or, on maps, broadcasts along whole NHWC axes (an
                    // attention map H x W x 1, a squeeze-excitation scale 1 x 1 x C)
                    final boolean broadcastMap = Lowering.isMap(y) && Lowering.isMap(d) && broadcastsPerAxis(d, y);
                    if (!l.isConstant(n.input(i)) && !java.util.Arrays.equals(d, y) && !broadcastMap)
                    {
                        return false;
                    }
                    if (l.isConstant(n.input(i)) && !broadcastsPerAxis(d, y))
                    {
                        return false;
                    }
                }
                return true;
            }
            case "Concat":
            {
                final int axis = (int)n.attrInt("axis", 1);
                if (axis != 1 || !(Lowering.isMap(y) || (y.length == 2 && y[0] == 1)))
                {
                    return false;
                }
                for (final String in : n.inputs())
                {
                    if (l.isConstant(in))
                    {
                        return false;
                    }
                }
                return true;
            }
            case "Gemm":
            case "MatMul":
                return x.length == 2 && x[0] == 1 && l.isConstant(n.input(1)) && l.dims(n.input(1)).length == 2 &&
                    n.attrInt("transA", 0) == 0 &&
                    (n.inputs().size() < 3 || n.input(2).isEmpty() || l.isConstant(n.input(2)));
            case "Softmax":
            {
                final long axis = n.attrInt("axis", 1);
                final boolean coerce = n.attrInt("coerce2d", 0) != 0;
                return (x.length == 2 && x[0] == 1 && axis == 1) || (x.length == 1 && axis == 0) ||
                    (Lowering.isMap(x) && axis == 1 && (!coerce || x[2] * x[3] == 1));
            }
            case "LogSoftmax":
                return false;
            case "Resize":
            {
                final long[] sizes = n.attrInts("sizes", null);
                return !Lowering.isMap(x) || x[0] == 1 || sizes != null && sizes.length == 4 && sizes[0] == x[0];
            }
            case "Pad":
            {
                final long[] pads = n.attrInts("pads", null);
                return Lowering.isMap(x) && pads != null && pads.length == 8 && pads[0] == 0 && pads[4] == 0;
            }
            default:
                return true;
        }
    }

    /** @return whether a constant of dims {@code c} broadcasts to {@code y} along whole NHWC axes (H, W, C or 1). */
    private static boolean broadcastsPerAxis(final long[] c, final long[] y)
    {
        if (c.length > y.length)
        {
            return false;
        }
        for (int i = 0; i < c.length; i++)
        {
            final long out = y[y.length - c.length + i];
            if (c[i] != 1 && c[i] != out)
            {
                return false;
            }
        }
        if (y.length == 4 && y[0] > 1)
        {
            // the NHWC constant is one image's: it may not vary along the batch or along H (rows of the stack)
            final int h = c.length - 2;
            final int batch = c.length - 4;
            return (h < 0 || c[h] == 1) && (batch < 0 || c[batch] == 1);
        }
        return c.length < y.length || c.length == 0 || c[0] == 1 || y.length < 4 || y[0] == 1;
    }

    private static boolean isPerChannel(final long[] x, final long[] slope)
    {
        for (int i = 0; i < slope.length; i++)
        {
            final int axis = i + x.length - slope.length;
            if (slope[i] != 1 && axis != 1)
            {
                return false;
            }
        }
        return true;
    }

    /** Lowers a node the fast kernels do not cover onto the generic path. */
    static void generic(final Lowering l, final Node n)
    {
        switch (n.opType())
        {
            case "Conv":
            case "ConvTranspose":
            case "MaxPool":
            case "AveragePool":
                WindowLayers.window(l, n);
                break;
            case "GlobalAveragePool":
            case "GlobalMaxPool":
            {
                final int rank = l.dims(n.input(0)).length;
                final long[] axes = new long[rank - 2];
                for (int i = 0; i < axes.length; i++)
                {
                    axes[i] = i + 2;
                }
                TensorLayers.reduce(l, n, "GlobalMaxPool".equals(n.opType()) ? Reductions.Reduce.MAX :
                    Reductions.Reduce.MEAN, TensorLayer.toInts(axes), true);
                break;
            }
            case "LRN":
                WindowLayers.lrn(l, n);
                break;
            case "PRelu":
                TensorLayers.nary(l, n, TensorOps.Binary.PRELU, false);
                break;
            case "Add":
            case "Sub":
            case "Mul":
            case "Div":
                TensorLayers.nary(l, n, TensorOps.Binary.valueOf(n.opType().toUpperCase(Locale.ROOT)), false);
                break;
            case "Concat":
                TensorLayers.concat(l, n);
                break;
            case "Gemm":
            case "MatMul":
                WindowLayers.matMul(l, n);
                break;
            case "Softmax":
            case "LogSoftmax":
                TensorLayers.softmax(l, n);
                break;
            case "Pad":
                TensorLayers.pad(l, n);
                break;
            case "Clip":
                TensorLayers.clip(l, n);
                break;
            case "Resize":
                WindowLayers.resize(l, n);
                break;
            default:
                throw new IllegalArgumentException("unsupported operator " + n.opType() + " on input " +
                    Arrays.toString(l.dims(n.input(0))));
        }
    }
}
