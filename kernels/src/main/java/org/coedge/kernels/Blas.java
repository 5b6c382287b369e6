package org.coedge.kernels;

import java.nio.Buffer;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.global.openblas_full;

/**
 * The one bridge to OpenBLAS. Every call checks its matrix extents against the regions before any native code
 * touches memory, and passes addresses through per-thread re-pointable pointers, so a call allocates nothing.
 * Callable from any thread.
 */
public final class Blas
{
    private static final ThreadLocal<Pointers> POINTERS = ThreadLocal.withInitial(Pointers::new);

    static
    {
        Loader.load(openblas.class);
    }

    private Blas()
    {
    }

    /**
     * Sets the number of threads OpenBLAS uses for every later call (process wide).
     *
     * @param threads at least 1.
     */
    public static void setThreads(final int threads)
    {
        if (threads < 1)
        {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        openblas.blas_set_num_threads(threads);
    }

    /** @return the number of threads OpenBLAS uses now. */
    public static int threads()
    {
        return openblas.blas_get_num_threads();
    }

    /**
     * The CPU core OpenBLAS picked its kernels for at load time (its runtime dispatch, or {@code OPENBLAS_CORETYPE}
     * when that is set), e.g. {@code Haswell}, {@code Zen}, {@code SkylakeX}, {@code NeoverseN1}, {@code armv8}. Only
     * {@code openblas_full}'s bindings expose {@code openblas_get_corename()}; loading them maps one more JNI library
     * over the same {@code libopenblas}, so call this on a cold path (info, selftest), not per inference.
     *
     * @return the core name, or {@code "unknown"} if the bindings cannot tell.
     */
    public static String coreName()
    {
        try
        {
            Loader.load(openblas_full.class);
            final BytePointer name = openblas_full.openblas_get_corename();
            return name == null || name.isNull() ? "unknown" : name.getString().trim();
        }
        catch (final UnsatisfiedLinkError | RuntimeException e)
        {
            return "unknown";
        }
    }

    /**
     * Row-major {@code C = alpha * op(A) * op(B) + beta * C} with {@code op(A)} m x k and {@code op(B)} k x n.
     *
     * @throws IndexOutOfBoundsException if a matrix does not fit in its region.
     * @throws IllegalArgumentException  if a leading dimension is too small.
     */
    public static void sgemm(
        final boolean transA, final boolean transB, final int m, final int n, final int k, final float alpha,
        final FloatRegion a, final int aOffset, final int lda,
        final FloatRegion b, final int bOffset, final int ldb,
        final float beta, final FloatRegion c, final int cOffset, final int ldc)
    {
        if (m <= 0 || n <= 0)
        {
            return;
        }
        if (k <= 0)
        {
            throw new IllegalArgumentException("sgemm k must be positive: " + k);
        }
        checkMatrix("A", a, aOffset, transA ? k : m, transA ? m : k, lda);
        checkMatrix("B", b, bOffset, transB ? n : k, transB ? k : n, ldb);
        checkMatrix("C", c, cOffset, m, n, ldc);
        final Pointers p = POINTERS.get();
        openblas.cblas_sgemm(openblas.CblasRowMajor,
            transA ? openblas.CblasTrans : openblas.CblasNoTrans,
            transB ? openblas.CblasTrans : openblas.CblasNoTrans,
            m, n, k, alpha,
            p.a.at(a.address() + (long)aOffset * Float.BYTES), lda,
            p.b.at(b.address() + (long)bOffset * Float.BYTES), ldb,
            beta,
            p.c.at(c.address() + (long)cOffset * Float.BYTES), ldc);
    }

    /**
     * Row-major {@code y = alpha * A * x + beta * y} with {@code A} m x n, {@code x} n and {@code y} m contiguous.
     * For a batch-1 fully-connected layer this runs at memory bandwidth, where sgemm with one row does not (measured
     * 43 GB/s against 3 GB/s of weights on a 4096 x 9216 layer).
     *
     * @throws IndexOutOfBoundsException if a matrix or vector does not fit in its region.
     * @throws IllegalArgumentException  if the leading dimension is too small.
     */
    public static void sgemv(
        final int m, final int n, final float alpha, final FloatRegion a, final int aOffset, final int lda,
        final FloatRegion x, final int xOffset, final float beta, final FloatRegion y, final int yOffset)
    {
        if (m <= 0 || n <= 0)
        {
            return;
        }
        checkMatrix("A", a, aOffset, m, n, lda);
        x.checkRange(xOffset, n);
        y.checkRange(yOffset, m);
        final Pointers p = POINTERS.get();
        openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasNoTrans, m, n, alpha,
            p.a.at(a.address() + (long)aOffset * Float.BYTES), lda,
            p.b.at(x.address() + (long)xOffset * Float.BYTES), 1,
            beta,
            p.c.at(y.address() + (long)yOffset * Float.BYTES), 1);
    }

    /** @return the native address of a direct buffer's position. */
    static long addressOf(final Buffer direct)
    {
        return new Pointer(direct).address();
    }

    private static void checkMatrix(
        final String name, final FloatRegion region, final int offset, final int rows, final int cols, final int ld)
    {
        if (ld < cols)
        {
            throw new IllegalArgumentException("sgemm " + name + ": leading dimension " + ld + " < " + cols);
        }
        region.checkRange(offset, (long)(rows - 1) * ld + cols);
    }

    private static final class Pointers
    {
        final AddressPointer a = new AddressPointer();
        final AddressPointer b = new AddressPointer();
        final AddressPointer c = new AddressPointer();
    }

    /** A float pointer that can be re-pointed at any address without allocating. */
    private static final class AddressPointer extends FloatPointer
    {
        AddressPointer()
        {
            super((Pointer)null);
        }

        AddressPointer at(final long newAddress)
        {
            address = newAddress;
            position = 0;
            limit = 0;
            capacity = 0;
            return this;
        }
    }
}
