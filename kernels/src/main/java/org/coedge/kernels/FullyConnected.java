package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * A fully-connected layer {@code y[M, N] = f(x[M, K] * W[K, N] + bias[N])} from ONNX Gemm or MatMul (+ Add), computed
 * with one {@code cblas_sgemm}.
 * <p>
 * The weights are prepared once into off-heap memory as {@code [N, K]} (one contiguous row of K weights per output
 * feature; Gemm's alpha and beta folded into weights and bias), so that a block of output columns {@code [n0, n1)}
 * reads one contiguous block of weights: several threads, or devices, can split a batch-1 layer by output features
 * with {@link #forward(FloatRegion, int, FloatRegion, int, int, int, int)}. A device that computes only one such
 * block can prepare just its weights ({@link #gemm(float[], int, int, boolean, float, float[], float, Activation,
 * int, int)}).
 * <p>
 * Immutable after construction; forward calls on disjoint column ranges may run on several threads at once.
 */
public final class FullyConnected
{
    private final int inputFeatures;
    private final int outputFeatures;
    private final int sliceStart;
    private final int sliceEnd;
    private final FloatRegion weights; // (sliceEnd - sliceStart, K): rows of output features [sliceStart, sliceEnd)
    private final FloatRegion bias; // (sliceEnd - sliceStart), or null
    private final Activation activation;

    private FullyConnected(
        final int inputFeatures, final int outputFeatures, final int sliceStart, final int sliceEnd,
        final FloatRegion weights, final FloatRegion bias, final Activation activation)
    {
        this.inputFeatures = inputFeatures;
        this.outputFeatures = outputFeatures;
        this.sliceStart = sliceStart;
        this.sliceEnd = sliceEnd;
        this.weights = weights;
        this.bias = bias;
        this.activation = activation;
    }

    /**
     * Prepares ONNX Gemm {@code Y = alpha * X * op(B) + beta * C} for an X of {@code [M, K]}.
     *
     * @param b          weights, {@code [K, N]} row-major, or {@code [N, K]} when {@code transB}.
     * @param k          input features.
     * @param n          output features.
     * @param transB     ONNX {@code transB = 1}.
     * @param alpha      ONNX alpha, folded into the weights.
     * @param c          bias of N values, or of one value for all, or {@code null}.
     * @param beta       ONNX beta, folded into the bias.
     * @param activation fused activation applied to {@code Y}.
     */
    public static FullyConnected gemm(
        final float[] b, final int k, final int n, final boolean transB, final float alpha,
        final float[] c, final float beta, final Activation activation)
    {
        return gemm(b, k, n, transB, alpha, c, beta, activation, 0, n);
    }

    /**
     * As {@link #gemm(float[], int, int, boolean, float, float[], float, Activation)}, keeping only the weights and
     * bias of output features {@code [n0, n1)} in off-heap memory: a device that computes one slice of a layer's
     * features (a feature split over devices) holds {@code (n1 - n0) * K} weights, not {@code N * K}.
     * {@link #forward} then accepts only columns inside the slice; the output is still laid out with all N columns.
     *
     * @throws IllegalArgumentException if {@code [n0, n1)} is empty or not inside {@code [0, n)}.
     */
    public static FullyConnected gemm(
        final float[] b, final int k, final int n, final boolean transB, final float alpha,
        final float[] c, final float beta, final Activation activation, final int n0, final int n1)
    {
        return gemm(b, k, n, transB, alpha, c, beta, activation, n0, n1, null);
    }

    /**
     * As {@link #gemm(float[], int, int, boolean, float, float[], float, Activation, int, int)}, with the input
     * features held in another order than the weights index them: input feature {@code p} as held is weight row
     * {@code inputOrder[p]} (e.g. a map held NHWC that the model flattened NCHW). The weights are reordered while
     * they are packed off-heap, so no reordered copy of them is made on the heap (411 MB for VGG-16's first
     * fully-connected layer).
     *
     * @param inputOrder a permutation of {@code [0, k)}, or null for the weights' own order.
     * @throws IllegalArgumentException if {@code inputOrder} is not {@code k} indices inside {@code [0, k)}.
     */
    public static FullyConnected gemm(
        final float[] b, final int k, final int n, final boolean transB, final float alpha,
        final float[] c, final float beta, final Activation activation, final int n0, final int n1,
        final int[] inputOrder)
    {
        return gemm(b, k, n, transB, alpha, c, beta, activation, n0, n1, inputOrder, RegionAllocator.COLLECTED);
    }

    /**
     * As {@link #gemm(float[], int, int, boolean, float, float[], float, Activation, int, int, int[])}, packing the
     * weights and bias into memory from {@code memory} (the owner of a prepared model's weights).
     */
    public static FullyConnected gemm(
        final float[] b, final int k, final int n, final boolean transB, final float alpha,
        final float[] c, final float beta, final Activation activation, final int n0, final int n1,
        final int[] inputOrder, final RegionAllocator memory)
    {
        checkShape(b, k, n);
        if (inputOrder != null)
        {
            checkOrder(inputOrder, k);
        }
        if (n0 < 0 || n1 <= n0 || n1 > n)
        {
            throw new IllegalArgumentException("FullyConnected: slice [" + n0 + ", " + n1 + ") of " + n +
                " outputs is empty or outside them");
        }
        final int cols = n1 - n0;
        final FloatRegion packed = memory.allocate(cols * k);
        final FloatBuffer w = packed.floats();
        for (int j = 0; j < cols; j++)
        {
            final int col = n0 + j;
            for (int p = 0; p < k; p++)
            {
                final int row = inputOrder == null ? p : inputOrder[p];
                w.put(j * k + p, alpha * (transB ? b[col * k + row] : b[row * n + col]));
            }
        }
        return new FullyConnected(k, n, n0, n1, packed, prepareBias(c, n, beta, n0, n1, memory),
            checkActivation(activation));
    }

    /**
     * Prepares ONNX MatMul {@code Y = X * B}, optionally followed by an Add of a bias vector.
     *
     * @param b          weights, {@code [K, N]} row-major.
     * @param bias       N values, one value for all, or {@code null}.
     * @param activation fused activation applied to {@code Y}.
     */
    public static FullyConnected matMul(
        final float[] b, final int k, final int n, final float[] bias, final Activation activation)
    {
        return gemm(b, k, n, false, 1f, bias, 1f, activation);
    }

    /** @return K. */
    public int inputFeatures()
    {
        return inputFeatures;
    }

    /** @return N. */
    public int outputFeatures()
    {
        return outputFeatures;
    }

    /** @return the first output feature whose weights this kernel holds (0 unless built for a slice). */
    public int sliceStart()
    {
        return sliceStart;
    }

    /** @return one past the last output feature whose weights this kernel holds (N unless built for a slice). */
    public int sliceEnd()
    {
        return sliceEnd;
    }

    /** @return bytes of weights and bias this kernel holds off-heap. */
    public long heldBytes()
    {
        return (long)Float.BYTES * (sliceEnd - sliceStart) * (inputFeatures + (bias != null ? 1 : 0));
    }

    public Activation activation()
    {
        return activation;
    }

    /**
     * Computes all the output features this kernel holds weights for (all N unless built for a slice) of {@code m}
     * rows: {@code y} at {@code yOffset} is {@code [m, N]}.
     */
    public void forward(final FloatRegion x, final int xOffset, final FloatRegion y, final int yOffset, final int m)
    {
        forward(x, xOffset, y, yOffset, m, sliceStart, sliceEnd);
    }

    /**
     * Computes output columns {@code [n0, n1)} of {@code m} rows; the other columns of {@code y} are not touched.
     *
     * @param x  {@code [m, K]} row-major at {@code xOffset}.
     * @param y  {@code [m, N]} row-major at {@code yOffset} (row stride N, whatever the column range).
     * @param m  rows (1 for a batch-1 layer).
     * @param n0 first output column.
     * @param n1 one past the last output column.
     * @throws IllegalArgumentException if the row count or column range is invalid (outside the slice this kernel
     *                                  holds), or a matrix does not fit its region.
     */
    public void forward(
        final FloatRegion x, final int xOffset, final FloatRegion y, final int yOffset,
        final int m, final int n0, final int n1)
    {
        if (m < 1 || n0 < sliceStart || n1 < n0 || n1 > sliceEnd)
        {
            throw new IllegalArgumentException("FullyConnected: rows " + m + " columns [" + n0 + ", " + n1 +
                ") invalid for " + outputFeatures + " outputs held for [" + sliceStart + ", " + sliceEnd + ")");
        }
        checkMatrix("input", x, xOffset, (long)m * inputFeatures);
        checkMatrix("output", y, yOffset, (long)m * outputFeatures);
        if (n0 == n1)
        {
            return;
        }
        final int cols = n1 - n0;
        if (bias != null)
        {
            final FloatBuffer out = y.floats();
            final FloatBuffer bs = bias.floats();
            for (int i = 0; i < m; i++)
            {
                for (int j = n0; j < n1; j++)
                {
                    out.put(yOffset + i * outputFeatures + j, bs.get(j - sliceStart));
                }
            }
        }
        if (m == 1)
        {
            Blas.sgemv(cols, inputFeatures, 1f, weights, (n0 - sliceStart) * inputFeatures, inputFeatures,
                x, xOffset, bias != null ? 1f : 0f, y, yOffset + n0);
        }
        else
        {
            Blas.sgemm(false, true, m, cols, inputFeatures, 1f,
                x, xOffset, inputFeatures,
                weights, (n0 - sliceStart) * inputFeatures, inputFeatures,
                bias != null ? 1f : 0f, y, yOffset + n0, outputFeatures);
        }
        if (!activation.isIdentity())
        {
            for (int i = 0; i < m; i++)
            {
                activation.applyInPlace(y, yOffset + i * outputFeatures + n0, cols);
            }
        }
    }

    private static void checkOrder(final int[] order, final int k)
    {
        if (order.length != k)
        {
            throw new IllegalArgumentException("FullyConnected: input order of " + order.length + " features for " +
                k + " inputs");
        }
        for (final int p : order)
        {
            if (p < 0 || p >= k)
            {
                throw new IllegalArgumentException("FullyConnected: input order names feature " + p + " of " + k);
            }
        }
    }

    private static void checkShape(final float[] b, final int k, final int n)
    {
        if (k < 1 || n < 1 || (long)k * n > Integer.MAX_VALUE - FloatRegion.ALIGNMENT_BYTES)
        {
            throw new IllegalArgumentException("FullyConnected: bad shape K=" + k + " N=" + n);
        }
        if (b == null || b.length != k * n)
        {
            throw new IllegalArgumentException("FullyConnected: weights have " + (b == null ? 0 : b.length) +
                " values, expected K*N = " + (long)k * n);
        }
    }

    private static FloatRegion prepareBias(final float[] c, final int n, final float beta, final int n0, final int n1,
        final RegionAllocator memory)
    {
        if (c == null || beta == 0f)
        {
            return null;
        }
        if (c.length != n && c.length != 1)
        {
            throw new IllegalArgumentException("FullyConnected: bias has " + c.length + " values, expected " + n +
                " or 1");
        }
        final FloatRegion region = memory.allocate(n1 - n0);
        for (int j = n0; j < n1; j++)
        {
            region.floats().put(j - n0, beta * c[c.length == 1 ? 0 : j]);
        }
        return region;
    }

    private static Activation checkActivation(final Activation activation)
    {
        if (activation == null)
        {
            throw new IllegalArgumentException("FullyConnected: activation is required (Activation.NONE for none)");
        }
        return activation;
    }

    private static void checkMatrix(final String name, final FloatRegion region, final int offset, final long floats)
    {
        if (offset < 0 || offset + floats > region.length())
        {
            throw new IllegalArgumentException("FullyConnected: " + name + " floats [" + offset + ", " +
                (offset + floats) + ") outside region of " + region.length());
        }
    }

    @Override
    public String toString()
    {
        return "FullyConnected{K " + inputFeatures + ", N " + outputFeatures +
            (sliceStart == 0 && sliceEnd == outputFeatures ? "" : ", slice [" + sliceStart + ", " + sliceEnd + ")") +
            (bias != null ? ", bias" : "") +
            (activation.isIdentity() ? "" : ", " + activation) + "}";
    }
}
