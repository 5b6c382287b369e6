package org.coedge.kernels;

/**
 * Naive reference implementations of the non-convolution operators over whole NHWC {@code float[]} maps with explicit
 * dimensions, written plainly from the ONNX operator definitions and computed in double where it matters. They are
 * the oracle the fast kernels ({@link Pooling}, {@link GlobalPooling}, {@link Lrn}, {@link Pointwise},
 * {@link Elementwise}, {@link Concat}, {@link FullyConnected}, {@link Softmax}, {@link Resize}, {@link Pad}) are
 * tested against, here and in the engine's tests; they allocate freely and are never on a hot path.
 * <p>
 * Stateless; callable from any thread.
 */
public final class OpsReference
{
    private OpsReference()
    {
    }

    /**
     * ONNX output size of a pooling window over one dimension.
     *
     * @return the number of window positions, 0 when the window is larger than the padded input.
     */
    public static int poolOutputSize(
        final int input, final int kernel, final int stride, final int dilation, final int padBegin, final int padEnd,
        final boolean ceilMode)
    {
        final double span = (kernel - 1.0) * dilation + 1;
        if (input + padBegin + padEnd < span)
        {
            return 0;
        }
        final double exact = (input + padBegin + padEnd - span) / stride + 1;
        int size = (int)(ceilMode ? Math.ceil(exact) : Math.floor(exact));
        if (ceilMode && (size - 1) * stride >= input + padBegin)
        {
            size--;
        }
        return size;
    }

    /**
     * MaxPool or AveragePool over an {@code h x w x c} map.
     *
     * @return the {@code outH x outW x c} result, sizes from {@link #poolOutputSize}.
     */
    public static float[] pool(
        final Pooling.Kind kind, final float[] x, final int h, final int w, final int c, final PoolParams p)
    {
        final int outH = poolOutputSize(h, p.kernelH(), p.strideH(), p.dilationH(), p.padTop(), p.padBottom(),
            p.ceilMode());
        final int outW = poolOutputSize(w, p.kernelW(), p.strideW(), p.dilationW(), p.padLeft(), p.padRight(),
            p.ceilMode());
        final float[] y = new float[outH * outW * c];
        for (int oh = 0; oh < outH; oh++)
        {
            for (int ow = 0; ow < outW; ow++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    double max = -Float.MAX_VALUE;
                    double sum = 0;
                    int inside = 0;
                    int insidePadded = 0;
                    for (int kh = 0; kh < p.kernelH(); kh++)
                    {
                        final int ih = oh * p.strideH() - p.padTop() + kh * p.dilationH();
                        for (int kw = 0; kw < p.kernelW(); kw++)
                        {
                            final int iw = ow * p.strideW() - p.padLeft() + kw * p.dilationW();
                            if (ih < h + p.padBottom() && iw < w + p.padRight())
                            {
                                insidePadded++;
                            }
                            if (ih >= 0 && ih < h && iw >= 0 && iw < w)
                            {
                                final float v = x[(ih * w + iw) * c + ch];
                                max = Math.max(max, v);
                                sum += v;
                                inside++;
                            }
                        }
                    }
                    final double result;
                    if (kind == Pooling.Kind.MAX)
                    {
                        result = max;
                    }
                    else if (inside == 0)
                    {
                        result = 0;
                    }
                    else
                    {
                        result = sum / (p.countIncludePad() ? insidePadded : inside);
                    }
                    y[(oh * outW + ow) * c + ch] = (float)result;
                }
            }
        }
        return y;
    }

    /** GlobalAveragePool or GlobalMaxPool: {@code c} values. */
    public static float[] globalPool(
        final GlobalPooling.Kind kind, final float[] x, final int h, final int w, final int c)
    {
        final float[] y = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0;
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < h * w; i++)
            {
                sum += x[i * c + ch];
                max = Math.max(max, x[i * c + ch]);
            }
            y[ch] = (float)(kind == GlobalPooling.Kind.AVERAGE ? sum / (h * w) : max);
        }
        return y;
    }

    /** LRN across channels. */
    public static float[] lrn(
        final float[] x, final int h, final int w, final int c,
        final int size, final float alpha, final float beta, final float bias)
    {
        final float[] y = new float[x.length];
        for (int p = 0; p < h * w; p++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                final int lo = Math.max(0, ch - (int)Math.floor((size - 1) / 2.0));
                final int hi = Math.min(c - 1, ch + (int)Math.ceil((size - 1) / 2.0));
                double squares = 0;
                for (int i = lo; i <= hi; i++)
                {
                    squares += (double)x[p * c + i] * x[p * c + i];
                }
                y[p * c + ch] = (float)(x[p * c + ch] / Math.pow(bias + alpha / size * squares, beta));
            }
        }
        return y;
    }

    /** An activation applied element by element, each formula written out in double. */
    public static float[] activation(final float[] x, final Activation activation)
    {
        final double alpha = activation.alpha();
        final double beta = activation.beta();
        final float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++)
        {
            final double v = x[i];
            final double r;
            switch (activation.kind())
            {
                case NONE:
                    r = v;
                    break;
                case RELU:
                    r = Math.max(0, v);
                    break;
                case LEAKY_RELU:
                    r = v >= 0 ? v : alpha * v;
                    break;
                case CLIP:
                    r = Math.min(Math.max(v, alpha), beta);
                    break;
                case SIGMOID:
                    r = 1 / (1 + Math.exp(-v));
                    break;
                case HARD_SIGMOID:
                    r = Math.max(0, Math.min(1, alpha * v + beta));
                    break;
                case HARD_SWISH:
                    r = v * Math.max(0, Math.min(1, v / 6 + 0.5));
                    break;
                case TANH:
                    r = Math.tanh(v);
                    break;
                default:
                    throw new IllegalArgumentException("unknown activation " + activation);
            }
            // the tail as its two operators compute it: float products and sums
            y[i] = activation.hasAffine() ? (float)r * activation.scale() + activation.shift() : (float)r;
        }
        return y;
    }

    /** PRelu with {@code slope} of {@code c} values or one value. */
    public static float[] prelu(final float[] x, final int c, final float[] slope)
    {
        final float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++)
        {
            final double a = slope.length == 1 ? slope[0] : slope[i % c];
            y[i] = (float)(x[i] < 0 ? a * x[i] : x[i]);
        }
        return y;
    }

    /**
     * Add, Sub, Mul or Div with broadcasting, then {@code activation}.
     *
     * @param aShape {@code {h, w, c}} of {@code a}.
     * @param bShape {@code {h, w, c}} of {@code b}.
     * @return the result, of shape {@code max(aShape, bShape)} dimension by dimension.
     */
    public static float[] elementwise(
        final Elementwise.Op op, final float[] a, final int[] aShape, final float[] b, final int[] bShape,
        final Activation activation)
    {
        final int h = Math.max(aShape[0], bShape[0]);
        final int w = Math.max(aShape[1], bShape[1]);
        final int c = Math.max(aShape[2], bShape[2]);
        final float[] y = new float[h * w * c];
        for (int i = 0; i < h; i++)
        {
            for (int j = 0; j < w; j++)
            {
                for (int k = 0; k < c; k++)
                {
                    final double u = a[broadcastIndex(aShape, i, j, k)];
                    final double v = b[broadcastIndex(bShape, i, j, k)];
                    final double r;
                    switch (op)
                    {
                        case ADD:
                            r = u + v;
                            break;
                        case SUB:
                            r = u - v;
                            break;
                        case MUL:
                            r = u * v;
                            break;
                        default:
                            r = u / v;
                    }
                    y[(i * w + j) * c + k] = (float)r;
                }
            }
        }
        return activation(y, activation);
    }

    /** Concat along channels of maps of {@code h x w x channels[i]}. */
    public static float[] concat(final float[][] xs, final int h, final int w, final int[] channels)
    {
        int total = 0;
        for (final int ch : channels)
        {
            total += ch;
        }
        final float[] y = new float[h * w * total];
        for (int p = 0; p < h * w; p++)
        {
            int base = 0;
            for (int i = 0; i < xs.length; i++)
            {
                for (int ch = 0; ch < channels[i]; ch++)
                {
                    y[p * total + base + ch] = xs[i][p * channels[i] + ch];
                }
                base += channels[i];
            }
        }
        return y;
    }

    /**
     * ONNX Gemm {@code Y = f(alpha * X * op(B) + beta * C)} with X {@code [m, k]}, B {@code [k, n]} or {@code [n, k]}
     * when {@code transB}, C of {@code n} values, one value, or {@code null}.
     */
    public static float[] gemm(
        final float[] x, final int m, final int k, final float[] b, final int n, final boolean transB,
        final float alpha, final float[] c, final float beta, final Activation activation)
    {
        final float[] y = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    sum += (double)x[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
                }
                final double bias = c == null ? 0 : beta * (double)c[c.length == 1 ? 0 : j];
                y[i * n + j] = (float)(alpha * sum + bias);
            }
        }
        return activation(y, activation);
    }

    /** Softmax over the channels of each pixel. */
    public static float[] softmax(final float[] x, final int h, final int w, final int c)
    {
        final float[] y = new float[x.length];
        for (int p = 0; p < h * w; p++)
        {
            double max = Double.NEGATIVE_INFINITY;
            for (int ch = 0; ch < c; ch++)
            {
                max = Math.max(max, x[p * c + ch]);
            }
            double sum = 0;
            for (int ch = 0; ch < c; ch++)
            {
                sum += Math.exp(x[p * c + ch] - max);
            }
            for (int ch = 0; ch < c; ch++)
            {
                y[p * c + ch] = (float)(Math.exp(x[p * c + ch] - max) / sum);
            }
        }
        return y;
    }

    /**
     * ONNX Resize of an {@code h x w x c} map to {@code outH x outW x c}, nearest or bilinear; the input coordinate
     * of each output row and column comes from {@link Resize#originalCoordinate} and the nearest index from
     * {@link Resize#nearestIndex} (single float formulas shared with the kernel, so that rounding ties agree).
     */
    public static float[] resize(
        final float[] x, final int h, final int w, final int c, final int outH, final int outW,
        final float scaleH, final float scaleW,
        final Resize.Mode mode, final Resize.CoordinateMode coordinateMode, final Resize.NearestMode nearestMode)
    {
        final float[] y = new float[outH * outW * c];
        for (int oh = 0; oh < outH; oh++)
        {
            final float yOrig = Resize.originalCoordinate(coordinateMode, oh, scaleH, outH, h);
            for (int ow = 0; ow < outW; ow++)
            {
                final float xOrig = Resize.originalCoordinate(coordinateMode, ow, scaleW, outW, w);
                for (int ch = 0; ch < c; ch++)
                {
                    final double v;
                    if (mode == Resize.Mode.NEAREST)
                    {
                        final int ih = Resize.nearestIndex(nearestMode, yOrig, h);
                        final int iw = Resize.nearestIndex(nearestMode, xOrig, w);
                        v = x[(ih * w + iw) * c + ch];
                    }
                    else
                    {
                        v = bilinear(x, h, w, c, ch, yOrig, xOrig);
                    }
                    y[(oh * outW + ow) * c + ch] = (float)v;
                }
            }
        }
        return y;
    }

    /**
     * ONNX Pad of an {@code h x w x c} map; pads may be negative (crop) except the channel pads.
     *
     * @return the {@code (h + top + bottom) x (w + left + right) x (c + front + back)} result.
     */
    public static float[] pad(
        final float[] x, final int h, final int w, final int c, final Pad.Mode mode, final float value,
        final int top, final int left, final int bottom, final int right, final int front, final int back)
    {
        final int outH = h + top + bottom;
        final int outW = w + left + right;
        final int outC = c + front + back;
        final float[] y = new float[outH * outW * outC];
        for (int oh = 0; oh < outH; oh++)
        {
            for (int ow = 0; ow < outW; ow++)
            {
                for (int oc = 0; oc < outC; oc++)
                {
                    final int ih = padSource(mode, oh - top, h);
                    final int iw = padSource(mode, ow - left, w);
                    final int ic = oc - front;
                    final boolean padding = ih < 0 || ih >= h || iw < 0 || iw >= w || ic < 0 || ic >= c;
                    y[(oh * outW + ow) * outC + oc] = padding ? value : x[(ih * w + iw) * c + ic];
                }
            }
        }
        return y;
    }

    private static int padSource(final Pad.Mode mode, final int i, final int n)
    {
        switch (mode)
        {
            case EDGE:
                return Math.max(0, Math.min(n - 1, i));
            case REFLECT:
                if (i < 0)
                {
                    return -i;
                }
                return i >= n ? 2 * n - 2 - i : i;
            default:
                return i;
        }
    }

    /** Bilinear sample with the coordinates clamped into the map (ONNX's edge behaviour). */
    private static double bilinear(
        final float[] x, final int h, final int w, final int c, final int ch, final float yOrig, final float xOrig)
    {
        final double yc = Math.max(0, Math.min(h - 1, (double)yOrig));
        final double xc = Math.max(0, Math.min(w - 1, (double)xOrig));
        final int y0 = (int)Math.floor(yc);
        final int x0 = (int)Math.floor(xc);
        final int y1 = Math.min(y0 + 1, h - 1);
        final int x1 = Math.min(x0 + 1, w - 1);
        final double fy = yc - y0;
        final double fx = xc - x0;
        final double top = (1 - fx) * x[(y0 * w + x0) * c + ch] + fx * x[(y0 * w + x1) * c + ch];
        final double bottom = (1 - fx) * x[(y1 * w + x0) * c + ch] + fx * x[(y1 * w + x1) * c + ch];
        return (1 - fy) * top + fy * bottom;
    }

    private static int broadcastIndex(final int[] shape, final int i, final int j, final int k)
    {
        final int ii = shape[0] == 1 ? 0 : i;
        final int jj = shape[1] == 1 ? 0 : j;
        final int kk = shape[2] == 1 ? 0 : k;
        return (ii * shape[1] + jj) * shape[2] + kk;
    }
}
