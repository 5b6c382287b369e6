package org.coedge.kernels;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * Frees a direct buffer now rather than when the garbage collector finds it unreachable, through
 * {@code sun.misc.Unsafe#invokeCleaner} (module jdk.unsupported, open to every class path application since JDK 9,
 * no flags needed): the supported way to run a direct buffer's cleaner early. Only {@link FloatRegion#free()} calls
 * it, once per buffer, on the buffer {@code allocateDirect} returned (the cleaner refuses slices and duplicates).
 */
final class DirectMemory
{
    private static final MethodHandle INVOKE_CLEANER = invokeCleaner();

    private DirectMemory()
    {
    }

    /** Runs the cleaner of {@code allocated}; nothing may touch its memory afterwards. */
    static void free(final ByteBuffer allocated)
    {
        try
        {
            INVOKE_CLEANER.invokeExact(allocated);
        }
        catch (final RuntimeException | Error e)
        {
            throw e;
        }
        catch (final Throwable t)
        {
            throw new IllegalStateException("could not free a direct buffer", t);
        }
    }

    private static MethodHandle invokeCleaner()
    {
        try
        {
            final Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            final Field field = unsafeClass.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            final Object unsafe = field.get(null);
            return MethodHandles.lookup()
                .findVirtual(unsafeClass, "invokeCleaner", MethodType.methodType(void.class, ByteBuffer.class))
                .bindTo(unsafe);
        }
        catch (final ReflectiveOperationException | RuntimeException e)
        {
            throw new ExceptionInInitializerError("sun.misc.Unsafe#invokeCleaner is not available: " + e);
        }
    }
}
