package org.coedge.kernels;

import static org.coedge.kernels.OpsTestSupport.SENTINEL;
import static org.coedge.kernels.OpsTestSupport.TOLERANCE;
import static org.coedge.kernels.OpsTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class FullyConnectedTest
{
    private static final Activation[] ACTIVATIONS = {
        Activation.NONE, Activation.RELU, Activation.of(Activation.Kind.TANH, 0, 0)
    };

    @Test
    void shouldMatchGemmReferenceForTransposesScalesBiasesAndActivations()
    {
        final SplittableRandom random = new SplittableRandom(81);
        for (int trial = 0; trial < 60; trial++)
        {
            final int m = 1 + random.nextInt(3);
            final int k = 1 + random.nextInt(70);
            final int n = 1 + random.nextInt(40);
            final boolean transB = random.nextBoolean();
            final float alpha = trial % 4 == 0 ? 1f : (float)(random.nextDouble() * 2 - 0.5);
            final float beta = trial % 4 == 0 ? 1f : (float)(random.nextDouble() * 2 - 0.5);
            final int biasKind = random.nextInt(3);
            final float[] c = biasKind == 0 ? null : random(random, biasKind == 1 ? n : 1);
            final Activation activation = ACTIVATIONS[random.nextInt(ACTIVATIONS.length)];
            final float[] b = random(random, k * n);
            final float[] x = random(random, m * k);
            final FullyConnected fc = FullyConnected.gemm(b, k, n, transB, alpha, c, beta, activation);
            final float[] expected = OpsReference.gemm(x, m, k, b, n, transB, alpha, c, beta, activation);
            assertColumns(random, fc, x, m, expected, 0, n);
        }
    }

    @Test
    void shouldReadInputsInTheOrderGivenWhileHoldingOnlyTheSlice()
    {
        // an input held in another order than the weights index it (NHWC vs the model's NCHW flatten): the reference
        // multiplies by the rows reordered up front, the kernel reorders while it packs
        final SplittableRandom random = new SplittableRandom(84);
        for (int trial = 0; trial < 30; trial++)
        {
            final int k = 1 + random.nextInt(80);
            final int n = 1 + random.nextInt(30);
            final boolean transB = random.nextBoolean();
            final int[] order = new int[k];
            for (int p = 0; p < k; p++)
            {
                order[p] = p;
            }
            for (int p = k - 1; p > 0; p--)
            {
                final int q = random.nextInt(p + 1);
                final int t = order[p];
                order[p] = order[q];
                order[q] = t;
            }
            final float[] b = random(random, k * n);
            final float[] reordered = new float[k * n];
            for (int p = 0; p < k; p++)
            {
                for (int j = 0; j < n; j++)
                {
                    if (transB)
                    {
                        reordered[j * k + p] = b[j * k + order[p]];
                    }
                    else
                    {
                        reordered[p * n + j] = b[order[p] * n + j];
                    }
                }
            }
            final float[] x = random(random, k);
            final int n0 = random.nextInt(n);
            final int n1 = n0 + 1 + random.nextInt(n - n0);
            final FullyConnected fc = FullyConnected.gemm(b, k, n, transB, 1.5f, null, 1f, Activation.RELU, n0, n1,
                order);
            final float[] expected = OpsReference.gemm(x, 1, k, reordered, n, transB, 1.5f, null, 1f,
                Activation.RELU);
            assertColumns(random, fc, x, 1, expected, n0, n1);
        }
        final int[] outside = {0, 3};
        assertThrows(IllegalArgumentException.class, () -> FullyConnected.gemm(new float[4], 2, 2, false, 1f, null,
            1f, Activation.NONE, 0, 2, outside));
    }

    @Test
    void shouldComputeColumnBlocksIndependently()
    {
        final SplittableRandom random = new SplittableRandom(82);
        for (int trial = 0; trial < 30; trial++)
        {
            final int k = 1 + random.nextInt(90);
            final int n = 2 + random.nextInt(60);
            final float[] b = random(random, k * n);
            final float[] bias = random(random, n);
            final float[] x = random(random, k);
            final FullyConnected fc = FullyConnected.matMul(b, k, n, bias, Activation.RELU);
            final float[] expected = OpsReference.gemm(x, 1, k, b, n, false, 1f, bias, 1f, Activation.RELU);
            final int n0 = random.nextInt(n);
            final int n1 = n0 + 1 + random.nextInt(n - n0);
            assertColumns(random, fc, x, 1, expected, n0, n1);
        }
    }

    @Test
    void shouldComputeItsSliceFromOnlyTheSlicesWeights()
    {
        final SplittableRandom random = new SplittableRandom(83);
        for (int trial = 0; trial < 40; trial++)
        {
            final int m = 1 + random.nextInt(2);
            final int k = 1 + random.nextInt(90);
            final int n = 2 + random.nextInt(60);
            final boolean transB = random.nextBoolean();
            final float[] b = random(random, k * n);
            final float[] c = random.nextBoolean() ? random(random, n) : null;
            final float[] x = random(random, m * k);
            final int n0 = random.nextInt(n);
            final int n1 = n0 + 1 + random.nextInt(n - n0);
            final FullyConnected slice = FullyConnected.gemm(b, k, n, transB, 0.75f, c, 1.5f, Activation.RELU,
                n0, n1);
            assertEquals(n0, slice.sliceStart());
            assertEquals(n1, slice.sliceEnd());
            assertEquals(4L * (n1 - n0) * (k + (c != null ? 1 : 0)), slice.heldBytes());
            final float[] expected = OpsReference.gemm(x, m, k, b, n, transB, 0.75f, c, 1.5f, Activation.RELU);
            assertColumns(random, slice, x, m, expected, n0, n1);
            final int a = n0 + random.nextInt(n1 - n0);
            final int e = a + random.nextInt(n1 - a + 1);
            assertColumns(random, slice, x, m, expected, a, e);
            final FloatRegion xs = FloatRegion.allocate(m * k);
            final FloatRegion ys = FloatRegion.allocate(m * n);
            if (n0 > 0)
            {
                assertThrows(IllegalArgumentException.class, () -> slice.forward(xs, 0, ys, 0, m, n0 - 1, n1));
            }
            if (n1 < n)
            {
                assertThrows(IllegalArgumentException.class, () -> slice.forward(xs, 0, ys, 0, m, n0, n1 + 1));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> FullyConnected.gemm(new float[12], 3, 4, false, 1f, null,
            1f, Activation.NONE, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> FullyConnected.gemm(new float[12], 3, 4, false, 1f, null,
            1f, Activation.NONE, 3, 5));
    }

    @Test
    void shouldRejectBadColumnsRowsAndShapes()
    {
        final FullyConnected fc = FullyConnected.matMul(new float[12], 3, 4, null, Activation.NONE);
        assertEquals(3, fc.inputFeatures());
        assertEquals(4, fc.outputFeatures());
        final FloatRegion x = FloatRegion.allocate(6);
        final FloatRegion y = FloatRegion.allocate(8);
        fc.forward(x, 0, y, 0, 2);
        assertThrows(IllegalArgumentException.class, () -> fc.forward(x, 0, y, 0, 1, 2, 5));
        assertThrows(IllegalArgumentException.class, () -> fc.forward(x, 0, y, 0, 1, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> fc.forward(x, 0, y, 0, 0, 0, 4));
        assertThrows(IllegalArgumentException.class, () -> fc.forward(x, 1, y, 0, 2));
        assertThrows(IllegalArgumentException.class, () -> fc.forward(x, 0, y, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> FullyConnected.matMul(new float[11], 3, 4, null,
            Activation.NONE));
        assertThrows(IllegalArgumentException.class, () -> FullyConnected.matMul(new float[12], 3, 4, new float[3],
            Activation.NONE));
    }

    /**
     * Runs columns {@code [n0, n1)} with x and y at non-zero offsets among sentinels, then checks those columns against
     * {@code expected} and that nothing else was written.
     */
    private static void assertColumns(
        final SplittableRandom random, final FullyConnected fc, final float[] x, final int m, final float[] expected,
        final int n0, final int n1)
    {
        final int k = fc.inputFeatures();
        final int n = fc.outputFeatures();
        final int xOffset = 1 + random.nextInt(7);
        final int yOffset = 1 + random.nextInt(7);
        final FloatRegion xs = FloatRegion.allocate(xOffset + m * k + 3);
        xs.fill(0, xs.length(), SENTINEL);
        xs.put(xOffset, x);
        final FloatRegion ys = FloatRegion.allocate(yOffset + m * n + 3);
        ys.fill(0, ys.length(), SENTINEL);
        fc.forward(xs, xOffset, ys, yOffset, m, n0, n1);
        double maxError = 0;
        double maxReference = 0;
        for (int i = 0; i < ys.length(); i++)
        {
            final int row = (i - yOffset) / n;
            final int col = (i - yOffset) % n;
            if (i >= yOffset && row < m && col >= n0 && col < n1)
            {
                final double e = expected[row * n + col];
                maxError = Math.max(maxError, Math.abs(ys.floats().get(i) - e));
                maxReference = Math.max(maxReference, Math.abs(e));
            }
            else
            {
                assertEquals(SENTINEL, ys.floats().get(i), "float " + i + " outside columns written");
            }
        }
        assertTrue(maxError <= TOLERANCE * Math.max(maxReference, 1e-6),
            fc + " columns [" + n0 + ", " + n1 + "): max error " + maxError + " for " + maxReference);
    }
}
