package org.coedge.engine.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

import static org.coedge.engine.onnx.OperatorNormalizer.attrs;
import static org.coedge.engine.onnx.Window2dNormalizer.effective;

/**
 * Normalizes Conv, ConvTranspose, MaxPool and AveragePool over any number of spatial dims (1-D audio, 3-D volumes):
 * kernel, strides, dilations and pads ({@code [begin..., end...]}) explicit per spatial dim with auto_pad and
 * output_shape resolved, and the output dims recorded; the node is marked {@code nd} for the generic path. The 2-D
 * forms of the fast kernels are {@link Window2dNormalizer}'s.
 * <p>
 * Owned by one {@link OperatorNormalizer}, on its thread.
 */
final class WindowNormalizer
{
    private final OperatorNormalizer base;

    WindowNormalizer(final OperatorNormalizer base)
    {
        this.base = base;
    }

    private static long[] perDim(final Node n, final String name, final int k, final long fill)
    {
        final long[] v = n.attrInts(name, null);
        if (v == null)
        {
            final long[] out = new long[k];
            Arrays.fill(out, fill);
            return out;
        }
        if (v.length != k)
        {
            throw ModelException.at(n, name + " " + Arrays.toString(v) + " must have " + k + " values");
        }
        return v.clone();
    }

    private static long[] spatial(final Node n, final long[] x)
    {
        if (x.length < 3)
        {
            throw ModelException.at(n, "input " + Dims.str(x) + " must be [N, C, spatial...]");
        }
        return Arrays.copyOfRange(x, 2, x.length);
    }

    /** @return [begin..., end...] with auto_pad resolved (as for a forward window). */
    private static long[] pads(final Node n, final long[] in, final long[] k, final long[] s, final long[] d)
    {
        final int r = in.length;
        final String autoPad = n.attrString("auto_pad", "NOTSET");
        final long[] p = new long[2 * r];
        switch (autoPad.isEmpty() ? "NOTSET" : autoPad)
        {
            case "NOTSET":
                return perDim(n, "pads", 2 * r, 0);
            case "VALID":
                return p;
            case "SAME_UPPER":
            case "SAME_LOWER":
                for (int i = 0; i < r; i++)
                {
                    final long out = (in[i] + s[i] - 1) / s[i];
                    final long total = Math.max(0, (out - 1) * s[i] + effective(k[i], d[i]) - in[i]);
                    final long small = total / 2;
                    final boolean upper = "SAME_UPPER".equals(autoPad);
                    p[i] = upper ? small : total - small;
                    p[i + r] = upper ? total - small : small;
                }
                return p;
            default:
                throw ModelException.at(n, "unknown auto_pad '" + autoPad + "'");
        }
    }

    Node conv(final Node n, final boolean transposed)
    {
        final long[] x = base.dims(n, 0);
        final long[] in = spatial(n, x);
        final int r = in.length;
        final long[] w = base.dims(n, 1);
        if (w.length != x.length)
        {
            throw ModelException.at(n, "weights " + Dims.str(w) + " do not have the rank of input " + Dims.str(x));
        }
        final long group = n.attrInt("group", 1);
        final long outC = transposed ? w[1] * group : w[0];
        if (group < 1 || (transposed ? w[0] != x[1] : w[1] * group != x[1]) || outC % group != 0)
        {
            throw ModelException.at(n, "weights " + Dims.str(w) + " with group " + group + " do not fit input " +
                Dims.str(x));
        }
        base.checkBias(n, outC);
        final long[] k = perDim(n, "kernel_shape", r, 0);
        for (int i = 0; i < r; i++)
        {
            k[i] = n.has("kernel_shape") ? k[i] : w[2 + i];
            if (k[i] != w[2 + i])
            {
                throw ModelException.at(n, "kernel_shape does not match the weights " + Dims.str(w));
            }
        }
        final long[] s = perDim(n, "strides", r, 1);
        final long[] d = perDim(n, "dilations", r, 1);
        final long[] out = new long[x.length];
        out[0] = x[0];
        out[1] = outC;
        final long[] p;
        final long[] outPad = perDim(n, "output_padding", r, 0);
        if (!transposed)
        {
            p = pads(n, in, k, s, d);
            for (int i = 0; i < r; i++)
            {
                out[2 + i] = Window2dNormalizer.windowOutput(n, in[i], p[i], p[i + r], k[i], s[i], d[i], false);
            }
        }
        else
        {
            final String autoPad = n.attrString("auto_pad", "NOTSET");
            long[] target = n.attrInts("output_shape", null);
            if (target != null && target.length == x.length)
            {
                target = Arrays.copyOfRange(target, 2, target.length);
            }
            if (target == null && autoPad.startsWith("SAME"))
            {
                target = new long[r];
                for (int i = 0; i < r; i++)
                {
                    target[i] = in[i] * s[i];
                }
            }
            if (target != null)
            {
                p = new long[2 * r];
                for (int i = 0; i < r; i++)
                {
                    final long total = s[i] * (in[i] - 1) + outPad[i] + effective(k[i], d[i]) - target[i];
                    if (total < 0)
                    {
                        outPad[i] -= total;
                        continue;
                    }
                    final long half = total / 2;
                    p[i] = "SAME_UPPER".equals(autoPad) ? half : total - half;
                    p[i + r] = total - p[i];
                }
            }
            else
            {
                p = "VALID".equals(autoPad) ? new long[2 * r] : perDim(n, "pads", 2 * r, 0);
            }
            for (int i = 0; i < r; i++)
            {
                out[2 + i] = s[i] * (in[i] - 1) + outPad[i] + effective(k[i], d[i]) - p[i] - p[i + r];
            }
        }
        return base.emit(n, n.opType(), n.inputs(), attrs(Attribute.ofInts("kernel_shape", k),
            Attribute.ofInts("strides", s), Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p),
            Attribute.ofInts("output_padding", outPad), Attribute.ofInt("group", group), Attribute.ofInt("nd", 1)),
            out);
    }

    Node pool(final Node n)
    {
        final long[] x = base.dims(n, 0);
        final long[] in = spatial(n, x);
        final int r = in.length;
        if (!n.has("kernel_shape"))
        {
            throw ModelException.at(n, "kernel_shape is missing");
        }
        final long[] k = perDim(n, "kernel_shape", r, 1);
        final long[] s = perDim(n, "strides", r, 1);
        final long[] d = perDim(n, "dilations", r, 1);
        final long[] p = pads(n, in, k, s, d);
        final boolean autoPadded = !"NOTSET".equals(n.attrString("auto_pad", "NOTSET")) &&
            !n.attrString("auto_pad", "NOTSET").isEmpty();
        final boolean ceil = !autoPadded && n.attrInt("ceil_mode", 0) != 0;
        final long[] out = x.clone();
        for (int i = 0; i < r; i++)
        {
            out[2 + i] = Window2dNormalizer.windowOutput(n, in[i], p[i], p[i + r], k[i], s[i], d[i], ceil);
        }
        final Map<String, Attribute> a = attrs(Attribute.ofInts("kernel_shape", k), Attribute.ofInts("strides", s),
            Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p), Attribute.ofInt("nd", 1),
            Attribute.ofInt("count_include_pad", n.attrInt("count_include_pad", 0)));
        return base.emit(n, n.opType(), List.of(n.input(0)), a, out);
    }
}
