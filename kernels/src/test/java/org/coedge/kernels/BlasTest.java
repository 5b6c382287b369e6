package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class BlasTest
{
    @Test
    void shouldMatchNaiveProductAtOffsetsAndTransposes()
    {
        final SplittableRandom random = new SplittableRandom(7);
        for (int trial = 0; trial < 40; trial++)
        {
            final int m = 1 + random.nextInt(17);
            final int n = 1 + random.nextInt(19);
            final int k = 1 + random.nextInt(23);
            final boolean ta = random.nextBoolean();
            final boolean tb = random.nextBoolean();
            final int lda = (ta ? m : k) + random.nextInt(3);
            final int ldb = (tb ? k : n) + random.nextInt(3);
            final int ldc = n + random.nextInt(3);
            final int aOff = random.nextInt(5);
            final int bOff = random.nextInt(5);
            final int cOff = random.nextInt(5);
            final FloatRegion a = random(random, aOff + (ta ? k : m) * lda);
            final FloatRegion b = random(random, bOff + (tb ? n : k) * ldb);
            final FloatRegion c = random(random, cOff + m * ldc);
            final float[] before = c.toArray(0, c.length());
            Blas.sgemm(ta, tb, m, n, k, 1.5f, a, aOff, lda, b, bOff, ldb, 0.5f, c, cOff, ldc);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++)
                    {
                        final float av = a.floats().get(aOff + (ta ? p * lda + i : i * lda + p));
                        final float bv = b.floats().get(bOff + (tb ? j * ldb + p : p * ldb + j));
                        sum += (double)av * bv;
                    }
                    final double expected = 1.5 * sum + 0.5 * before[cOff + i * ldc + j];
                    assertEquals(expected, c.floats().get(cOff + i * ldc + j), 1e-4 * (1 + Math.abs(expected)));
                }
            }
        }
    }

    @Test
    void shouldMatchNaiveMatrixVectorProductAtOffsets()
    {
        final SplittableRandom random = new SplittableRandom(8);
        for (int trial = 0; trial < 30; trial++)
        {
            final int m = 1 + random.nextInt(40);
            final int n = 1 + random.nextInt(70);
            final int lda = n + random.nextInt(3);
            final int aOff = random.nextInt(5);
            final int xOff = random.nextInt(5);
            final int yOff = random.nextInt(5);
            final FloatRegion a = random(random, aOff + m * lda);
            final FloatRegion x = random(random, xOff + n);
            final FloatRegion y = random(random, yOff + m);
            final float[] before = y.toArray(0, y.length());
            Blas.sgemv(m, n, 0.5f, a, aOff, lda, x, xOff, 2f, y, yOff);
            for (int i = 0; i < m; i++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    sum += (double)a.floats().get(aOff + i * lda + j) * x.floats().get(xOff + j);
                }
                final double expected = 0.5 * sum + 2.0 * before[yOff + i];
                assertEquals(expected, y.floats().get(yOff + i), 1e-4 * (1 + Math.abs(expected)));
            }
        }
        final FloatRegion small = FloatRegion.allocate(8);
        assertThrows(IndexOutOfBoundsException.class,
            () -> Blas.sgemv(4, 4, 1f, small, 0, 4, small, 0, 0f, small, 0));
    }

    @Test
    void shouldRefuseMatrixOutsideRegion()
    {
        final FloatRegion small = FloatRegion.allocate(10);
        final FloatRegion big = FloatRegion.allocate(100);
        assertThrows(IndexOutOfBoundsException.class,
            () -> Blas.sgemm(false, false, 4, 4, 4, 1f, small, 0, 4, big, 0, 4, 0f, big, 0, 4));
    }

    @Test
    void shouldAlignRegions()
    {
        for (int n = 1; n < 50; n += 7)
        {
            assertEquals(0, FloatRegion.allocate(n).address() % FloatRegion.ALIGNMENT_BYTES);
        }
    }

    private static FloatRegion random(final SplittableRandom random, final int n)
    {
        final FloatRegion r = FloatRegion.allocate(n);
        for (int i = 0; i < n; i++)
        {
            r.floats().put(i, (float)(random.nextDouble() * 2 - 1));
        }
        return r;
    }
}
