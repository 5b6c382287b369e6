package org.coedge.engine.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

import static org.coedge.engine.onnx.OperatorNormalizer.attrs;

/**
 * Normalizes the 2-D windows of the fast kernels: Conv, ConvTranspose, MaxPool and AveragePool on NCHW maps get
 * kernel, strides, dilations and pads ({@code [top, left, bottom, right]}) explicit, with auto_pad and output_shape
 * resolved, and their output dims recorded; global pooling keeps N and C. Windows over another number of spatial dims
 * go to {@link WindowNormalizer}. Holds the window arithmetic (effective kernel, output size with ceil mode) both use.
 * <p>
 * Owned by one {@link OperatorNormalizer}, on its thread.
 */
final class Window2dNormalizer
{
    private static final String NOTSET = "NOTSET";

    private final OperatorNormalizer base;
    private final WindowNormalizer nd;

    Window2dNormalizer(final OperatorNormalizer base, final WindowNormalizer nd)
    {
        this.base = base;
        this.nd = nd;
    }

    /** @return a 2-element spatial attribute, {@code fill} when absent. */
    private static long[] pair(final Node n, final String name, final long fill, final long min)
    {
        final long[] v = n.attrInts(name, new long[]{fill, fill});
        if (v.length != 2)
        {
            throw ModelException.at(n, name + " " + Arrays.toString(v) + " must have 2 values (2-D only)");
        }
        for (final long x : v)
        {
            if (x < min)
            {
                throw ModelException.at(n, name + " " + Arrays.toString(v) + " must be at least " + min);
            }
        }
        return v;
    }

    private static long[] kernel(final Node n, final long[] fromWeights)
    {
        final long[] k = n.attrInts("kernel_shape", fromWeights);
        if (k == null)
        {
            throw ModelException.at(n, "kernel_shape is missing");
        }
        if (k.length != 2)
        {
            throw ModelException.at(n, "kernel_shape " + Arrays.toString(k) + " is not 2-D; only 2-D is supported");
        }
        if (fromWeights != null && !Arrays.equals(k, fromWeights))
        {
            throw ModelException.at(n, "kernel_shape " + Arrays.toString(k) + " does not match the weights' " +
                Arrays.toString(fromWeights));
        }
        if (k[0] < 1 || k[1] < 1)
        {
            throw ModelException.at(n, "kernel_shape " + Arrays.toString(k) + " must be positive");
        }
        return k;
    }

    static long effective(final long k, final long d)
    {
        return (k - 1) * d + 1;
    }

    /** @return [top, left, bottom, right] with auto_pad resolved; {@code x} is NCHW. */
    private static long[] pads(final Node n, final long[] x, final long[] k, final long[] s, final long[] d)
    {
        final String autoPad = n.attrString("auto_pad", NOTSET);
        final long[] pads = new long[4];
        switch (autoPad.isEmpty() ? NOTSET : autoPad)
        {
            case NOTSET:
            {
                final long[] given = n.attrInts("pads", new long[4]);
                if (given.length != 4)
                {
                    throw ModelException.at(n, "pads " + Arrays.toString(given) + " must have 4 values (2-D only)");
                }
                for (final long p : given)
                {
                    if (p < 0)
                    {
                        throw ModelException.at(n, "negative pads " + Arrays.toString(given) + " are not supported");
                    }
                }
                return given;
            }
            case "VALID":
                return pads;
            case "SAME_UPPER":
            case "SAME_LOWER":
                for (int i = 0; i < 2; i++)
                {
                    final long in = x[2 + i];
                    final long out = (in + s[i] - 1) / s[i];
                    final long total = Math.max(0, (out - 1) * s[i] + effective(k[i], d[i]) - in);
                    final long small = total / 2;
                    final boolean upper = "SAME_UPPER".equals(autoPad);
                    pads[i] = upper ? small : total - small;
                    pads[i + 2] = upper ? total - small : small;
                }
                return pads;
            default:
                throw ModelException.at(n, "unknown auto_pad '" + autoPad + "'");
        }
    }

    static long windowOutput(
        final Node n, final long in, final long begin, final long end, final long k, final long s, final long d,
        final boolean ceil)
    {
        final long span = in + begin + end - effective(k, d);
        if (span < 0)
        {
            throw ModelException.at(n, "the window (" + effective(k, d) + " with dilation) is larger than the " +
                "padded input (" + (in + begin + end) + ")");
        }
        long out = (ceil ? (span + s - 1) / s : span / s) + 1;
        // A last window that would start inside the end padding is dropped, as ONNX and PyTorch specify.
        if (ceil && (out - 1) * s >= in + begin)
        {
            out--;
        }
        return out;
    }

    Node conv(final Node n)
    {
        final long[] x = base.dims(n, 0);
        if (x.length != 4)
        {
            return nd.conv(n, false);
        }
        final long[] wd = base.dims(n, 1);
        if (wd.length != 4)
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " are not 4-D; only 2-D convolution is supported");
        }
        final long group = n.attrInt("group", 1);
        if (group < 1 || wd[0] % group != 0 || wd[1] * group != x[1])
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " with group " + group + " do not fit input " +
                Dims.str(x));
        }
        base.checkBias(n, wd[0]);
        final long[] k = kernel(n, new long[]{wd[2], wd[3]});
        final long[] s = pair(n, "strides", 1, 1);
        final long[] d = pair(n, "dilations", 1, 1);
        final long[] p = pads(n, x, k, s, d);
        final long[] out = {
            x[0], wd[0],
            windowOutput(n, x[2], p[0], p[2], k[0], s[0], d[0], false),
            windowOutput(n, x[3], p[1], p[3], k[1], s[1], d[1], false)};
        return base.emit(n, "Conv", n.inputs(), attrs(Attribute.ofInts("kernel_shape", k),
            Attribute.ofInts("strides", s), Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p),
            Attribute.ofInt("group", group)), out);
    }

    Node convTranspose(final Node n)
    {
        final long[] x = base.dims(n, 0);
        if (x.length != 4)
        {
            return nd.conv(n, true);
        }
        final long[] wd = base.dims(n, 1);
        if (wd.length != 4)
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " are not 4-D; only 2-D is supported");
        }
        final long group = n.attrInt("group", 1);
        if (group < 1 || wd[0] != x[1] || x[1] % group != 0)
        {
            throw ModelException.at(n, "weights " + Dims.str(wd) + " with group " + group + " do not fit input " +
                Dims.str(x));
        }
        final long channels = wd[1] * group;
        base.checkBias(n, channels);
        final long[] k = kernel(n, new long[]{wd[2], wd[3]});
        final long[] s = pair(n, "strides", 1, 1);
        final long[] d = pair(n, "dilations", 1, 1);
        final long[] outPad = pair(n, "output_padding", 0, 0);
        final String autoPad = n.attrString("auto_pad", NOTSET);
        long[] target = n.attrInts("output_shape", null);
        if (target != null && target.length == 4)
        {
            target = new long[]{target[2], target[3]};
        }
        if (target == null && ("SAME_UPPER".equals(autoPad) || "SAME_LOWER".equals(autoPad)))
        {
            target = new long[]{x[2] * s[0], x[3] * s[1]};
        }
        final long[] p;
        if (target != null)
        {
            if (target.length != 2)
            {
                throw ModelException.at(n, "output_shape " + Arrays.toString(target) + " must have 2 values");
            }
            p = new long[4];
            for (int i = 0; i < 2; i++)
            {
                final long total = s[i] * (x[2 + i] - 1) + outPad[i] + effective(k[i], d[i]) - target[i];
                if (total < 0)
                {
                    // A larger output_shape adds rows / columns at the end that no input reaches (bias only), as
                    // ONNX Runtime does: that is output padding, with no pads.
                    outPad[i] -= total;
                    continue;
                }
                final long half = total / 2;
                p[i] = "SAME_UPPER".equals(autoPad) ? half : total - half;
                p[i + 2] = total - p[i];
            }
        }
        else if ("VALID".equals(autoPad))
        {
            p = new long[4];
        }
        else
        {
            p = pads(n, x, k, s, d);
        }
        final long[] out = new long[4];
        out[0] = x[0];
        out[1] = channels;
        for (int i = 0; i < 2; i++)
        {
            out[2 + i] = s[i] * (x[2 + i] - 1) + outPad[i] + effective(k[i], d[i]) - p[i] - p[i + 2];
        }
        return base.emit(n, "ConvTranspose", n.inputs(), attrs(Attribute.ofInts("kernel_shape", k),
            Attribute.ofInts("strides", s), Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p),
            Attribute.ofInts("output_padding", outPad), Attribute.ofInt("group", group)), out);
    }

    Node pool(final Node n)
    {
        final long[] x = base.dims(n, 0);
        if (x.length != 4)
        {
            return nd.pool(n);
        }
        final long[] k = kernel(n, null);
        final long[] s = pair(n, "strides", 1, 1);
        final long[] d = pair(n, "dilations", 1, 1);
        final long[] p = pads(n, x, k, s, d);
        for (int i = 0; i < 4; i++)
        {
            if (p[i] >= effective(k[i % 2], d[i % 2]))
            {
                throw ModelException.at(n, "pads " + Arrays.toString(p) + " must be smaller than the kernel " +
                    Arrays.toString(k));
            }
        }
        // Once auto_pad is resolved into pads, the output size it implies is the floor one.
        final boolean autoPadded = !NOTSET.equals(n.attrString("auto_pad", NOTSET)) &&
            !n.attrString("auto_pad", NOTSET).isEmpty();
        final long ceil = autoPadded ? 0 : n.attrInt("ceil_mode", 0);
        final long[] out = {
            x[0], x[1],
            windowOutput(n, x[2], p[0], p[2], k[0], s[0], d[0], ceil != 0),
            windowOutput(n, x[3], p[1], p[3], k[1], s[1], d[1], ceil != 0)};
        final Map<String, Attribute> a = attrs(Attribute.ofInts("kernel_shape", k), Attribute.ofInts("strides", s),
            Attribute.ofInts("dilations", d), Attribute.ofInts("pads", p), Attribute.ofInt("ceil_mode", ceil));
        if ("AveragePool".equals(n.opType()))
        {
            a.put("count_include_pad", Attribute.ofInt("count_include_pad", n.attrInt("count_include_pad", 0)));
        }
        return base.emit(n, n.opType(), List.of(n.input(0)), a, out);
    }

    Node globalPool(final Node n, final String opType)
    {
        final long[] x = base.dims(n, 0);
        if (x.length < 3)
        {
            throw ModelException.at(n, "input " + Dims.str(x) + " must be [N, C, ...] with a spatial dim");
        }
        final long[] out = new long[x.length];
        Arrays.fill(out, 1);
        out[0] = x[0];
        out[1] = x[1];
        return base.emit(n, opType, List.of(n.input(0)), attrs(), out);
    }
}
