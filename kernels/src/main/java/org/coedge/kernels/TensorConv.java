package org.coedge.kernels;

/**
 * Naive N-d window operators over {@link TensorView}s (NC + k spatial dims, any batch): convolution, transposed
 * convolution and max / average pooling, for the cases the fast 2-D kernels do not serve: 1-D and 3-D windows, a
 * batch above 1, weights that arrive at run time. Plain loops; each is its own reference, tested against ONNX
 * Runtime.
 * <p>
 * Stateless; allocation-free.
 */
public final class TensorConv
{
    private TensorConv()
    {
    }

    /** Window geometry per spatial dim: kernel, stride, dilation, begin pad. */
    public record Window(int[] kernel, int[] strides, int[] dilations, int[] padsBegin)
    {
        public int spatial()
        {
            return kernel.length;
        }
    }

    /**
     * ONNX Conv: {@code out[n, m, o...] = bias[m] + sum_{c, k...} in[n, g*C/g + c, o*s - p + k*d] * w[m, c, k...]}.
     *
     * @param bias a view of [M], or null.
     */
    public static void conv(final Window win, final int groups, final TensorView in, final TensorView w,
        final TensorView bias, final TensorView out)
    {
        final int k = win.spatial();
        final int batch = out.dim(0);
        final int outC = out.dim(1);
        final int groupIn = w.dim(1);
        final int groupOut = outC / groups;
        int outSpatial = 1;
        int kernelSize = 1;
        for (int i = 0; i < k; i++)
        {
            outSpatial *= out.dim(2 + i);
            kernelSize *= win.kernel()[i];
        }
        int inSpatial = 1;
        for (int i = 0; i < k; i++)
        {
            inSpatial *= in.dim(2 + i);
        }
        final int inC = in.dim(1);
        for (int nb = 0; nb < batch; nb++)
        {
            for (int m = 0; m < outC; m++)
            {
                final int g = m / groupOut;
                for (int o = 0; o < outSpatial; o++)
                {
                    double acc = bias == null ? 0 : bias.get(m);
                    for (int kk = 0; kk < kernelSize; kk++)
                    {
                        final int src = reach(win, out, in, o, kk);
                        if (src < 0)
                        {
                            continue;
                        }
                        for (int c = 0; c < groupIn; c++)
                        {
                            final int ic = g * groupIn + c;
                            acc += (double)in.get((nb * inC + ic) * inSpatial + src) *
                                w.get((m * groupIn + c) * kernelSize + kk);
                        }
                    }
                    out.set((nb * outC + m) * outSpatial + o, (float)acc);
                }
            }
        }
    }

    /**
     * Window arithmetic in both directions: spatial position {@code p} (flat) of {@code from} reaches coordinate
     * {@code p_i * s_i - pad_i + k_i * d_i} of {@code to} in every spatial dim through kernel position {@code kk}
     * (flat). A convolution's output position reads that input position; a transposed convolution's input position
     * writes that output position.
     *
     * @return the flat spatial index in {@code to}, or -1 when it falls in the padding.
     */
    private static int reach(final Window win, final TensorView from, final TensorView to, final int p, final int kk)
    {
        final int k = win.spatial();
        int restP = p;
        int restK = kk;
        int index = 0;
        int scale = 1;
        for (int i = k - 1; i >= 0; i--)
        {
            final int pd = from.dim(2 + i);
            final int kd = win.kernel()[i];
            final int pi = restP % pd;
            final int ki = restK % kd;
            restP /= pd;
            restK /= kd;
            final int x = pi * win.strides()[i] - win.padsBegin()[i] + ki * win.dilations()[i];
            final int size = to.dim(2 + i);
            if (x < 0 || x >= size)
            {
                return -1;
            }
            index += x * scale;
            scale *= size;
        }
        return index;
    }

    /**
     * ONNX ConvTranspose: every input position {@code x} scatters {@code in[n, c, x] * w[c, m, k]} to output position
     * {@code x*s - p + k*d}; {@code w} is [C, M/groups, K...].
     */
    public static void convTranspose(final Window win, final int groups, final TensorView in, final TensorView w,
        final TensorView bias, final TensorView out)
    {
        final int k = win.spatial();
        final int batch = out.dim(0);
        final int outC = out.dim(1);
        final int inC = in.dim(1);
        final int groupIn = inC / groups;
        final int groupOut = w.dim(1);
        int outSpatial = 1;
        int inSpatial = 1;
        int kernelSize = 1;
        for (int i = 0; i < k; i++)
        {
            outSpatial *= out.dim(2 + i);
            inSpatial *= in.dim(2 + i);
            kernelSize *= win.kernel()[i];
        }
        for (int nb = 0; nb < batch; nb++)
        {
            for (int m = 0; m < outC; m++)
            {
                final float b = bias == null ? 0f : bias.get(m);
                for (int o = 0; o < outSpatial; o++)
                {
                    out.set((nb * outC + m) * outSpatial + o, b);
                }
            }
            for (int c = 0; c < inC; c++)
            {
                final int g = c / groupIn;
                for (int x = 0; x < inSpatial; x++)
                {
                    final float v = in.get((nb * inC + c) * inSpatial + x);
                    for (int kk = 0; kk < kernelSize; kk++)
                    {
                        final int dst = reach(win, in, out, x, kk);
                        if (dst < 0)
                        {
                            continue;
                        }
                        for (int mm = 0; mm < groupOut; mm++)
                        {
                            final int m = g * groupOut + mm;
                            final int at = (nb * outC + m) * outSpatial + dst;
                            out.set(at, out.get(at) + v * w.get((c * groupOut + mm) * kernelSize + kk));
                        }
                    }
                }
            }
        }
    }

    /**
     * ONNX MaxPool / AveragePool. For an average, {@code countIncludePad} counts window positions in the explicit
     * padding (never those beyond it, which ceil mode adds).
     *
     * @param padsEnd end pads per spatial dim (for count_include_pad).
     */
    public static void pool(final Window win, final boolean max, final boolean countIncludePad, final int[] padsEnd,
        final TensorView in, final TensorView out)
    {
        final int k = win.spatial();
        final int planes = out.dim(0) * out.dim(1);
        int outSpatial = 1;
        int inSpatial = 1;
        int kernelSize = 1;
        for (int i = 0; i < k; i++)
        {
            outSpatial *= out.dim(2 + i);
            inSpatial *= in.dim(2 + i);
            kernelSize *= win.kernel()[i];
        }
        for (int pl = 0; pl < planes; pl++)
        {
            for (int o = 0; o < outSpatial; o++)
            {
                double acc = max ? Double.NEGATIVE_INFINITY : 0;
                int count = 0;
                for (int kk = 0; kk < kernelSize; kk++)
                {
                    final int src = reach(win, out, in, o, kk);
                    if (src >= 0)
                    {
                        final float v = in.get(pl * inSpatial + src);
                        acc = max ? Math.max(acc, v) : acc + v;
                        count++;
                    }
                    else if (countIncludePad && insidePads(win, in, out, o, kk, padsEnd))
                    {
                        count++;
                    }
                }
                out.set(pl * outSpatial + o, (float)(max ? acc : count == 0 ? 0 : acc / count));
            }
        }
    }

    private static boolean insidePads(final Window win, final TensorView in, final TensorView out, final int o,
        final int kk, final int[] padsEnd)
    {
        int restO = o;
        int restK = kk;
        for (int i = win.spatial() - 1; i >= 0; i--)
        {
            final int od = out.dim(2 + i);
            final int kd = win.kernel()[i];
            final int oi = restO % od;
            final int ki = restK % kd;
            restO /= od;
            restK /= kd;
            final int x = oi * win.strides()[i] - win.padsBegin()[i] + ki * win.dilations()[i];
            if (x < -win.padsBegin()[i] || x >= in.dim(2 + i) + padsEnd[i])
            {
                return false;
            }
        }
        return true;
    }
}
