package org.coedge.transport;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.aeron.CommonContext;
import org.agrona.IoUtil;

/**
 * The directories of embedded media drivers: {@code coedge-aeron-pid<PID>-<random>} under the temporary directory,
 * named after the process that owns it so that one left by a killed process (whose term buffers can hold hundreds of
 * MB) is found and removed when the next node of this machine starts, and removed by a shutdown hook when the JVM
 * exits by a signal before the node is closed. A directory is stale when its owner is gone and its driver's
 * command-and-control file shows no driver alive; one of the older form {@code coedge-aeron-<random>} is judged by
 * the command-and-control file alone. Cold path; thread-safe.
 */
public final class DriverDirectories
{
    static final String PREFIX = "coedge-aeron-";
    private static final String PID_TAG = "pid";
    /** A live driver's conductor stamps its command-and-control file far more often than this. */
    private static final long DRIVER_ALIVE_MS = TimeUnit.SECONDS.toMillis(10);
    private static final long RETRY_MS = 20;

    private DriverDirectories()
    {
    }

    /** @return a new, empty directory for a driver of this process. */
    static Path create(final Path parent) throws IOException
    {
        final String name = PREFIX + PID_TAG + ProcessHandle.current().pid() + "-" +
            Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36);
        return Files.createDirectory(parent.resolve(name));
    }

    /** @return where drivers' directories go: the JVM's temporary directory. */
    static Path parent()
    {
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /**
     * Removes the stale driver directories under {@code parent}.
     *
     * @return how many were removed.
     */
    public static int removeStale(final Path parent)
    {
        int removed = 0;
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, PREFIX + "*"))
        {
            for (final Path dir : dirs)
            {
                if (Files.isDirectory(dir) && isStale(dir))
                {
                    IoUtil.delete(dir.toFile(), true);
                    removed++;
                }
            }
        }
        catch (final IOException | SecurityException e)
        {
            // not ours to list: nothing to clean
        }
        return removed;
    }

    /** @return true if no process and no driver owns {@code dir} any more. */
    static boolean isStale(final Path dir)
    {
        final long pid = ownerPid(dir.getFileName().toString());
        if (pid == ProcessHandle.current().pid() || (pid > 0 && ProcessHandle.of(pid).isPresent()))
        {
            return false;
        }
        final File driverDir = dir.resolve("driver").toFile();
        return !driverDir.exists() || !CommonContext.isDriverActive(driverDir, DRIVER_ALIVE_MS, message -> { });
    }

    /** @return the pid a directory name carries, or -1 for a name of the older form. */
    static long ownerPid(final String name)
    {
        if (!name.startsWith(PREFIX + PID_TAG))
        {
            return -1;
        }
        final int from = PREFIX.length() + PID_TAG.length();
        final int dash = name.indexOf('-', from);
        try
        {
            return Long.parseLong(name.substring(from, dash < 0 ? name.length() : dash));
        }
        catch (final NumberFormatException e)
        {
            return -1;
        }
    }

    /** Removes {@code dir} and everything in it, quietly. */
    static void delete(final Path dir)
    {
        IoUtil.delete(dir.toFile(), true);
    }

    /**
     * Removes {@code dir} while a driver may still be writing into it (the shutdown hook runs beside the driver's
     * threads, and a signal can come while the driver is still creating its files): deletes, and while the directory
     * is still there, deletes again every {@value #RETRY_MS} ms, for at most {@code timeoutMs}.
     *
     * @return true if the directory is gone.
     */
    static boolean deleteWhileWritten(final Path dir, final long timeoutMs)
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true)
        {
            delete(dir);
            if (!Files.exists(dir))
            {
                return true;
            }
            if (System.nanoTime() > deadline)
            {
                return false;
            }
            try
            {
                Thread.sleep(RETRY_MS);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
