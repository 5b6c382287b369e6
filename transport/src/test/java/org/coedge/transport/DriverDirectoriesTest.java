package org.coedge.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Media-driver directories: named after their process, removed on close and on SIGTERM, and those of dead processes
 * removed when a node starts.
 */
class DriverDirectoriesTest
{
    private static long deadPid() throws Exception
    {
        final Process p = new ProcessBuilder("true").start();
        p.waitFor(10, TimeUnit.SECONDS);
        return p.pid();
    }

    @Test
    void shouldRemoveTheDirectoriesOfDeadProcessesAndKeepTheLiveOnes(@TempDir final Path parent) throws Exception
    {
        final Process alive = new ProcessBuilder("sleep", "60").start();
        try
        {
            final Path dead = Files.createDirectories(parent.resolve("coedge-aeron-pid" + deadPid() + "-x1/driver"))
                .getParent();
            Files.write(dead.resolve("driver/some-term.logbuffer"), new byte[4096]);
            final Path live = Files.createDirectories(parent.resolve("coedge-aeron-pid" + alive.pid() + "-x2"));
            final Path mine = DriverDirectories.create(parent);
            // the older form, with no pid: judged by its driver's command-and-control file, here absent
            final Path old = Files.createDirectories(parent.resolve("coedge-aeron-123456789/driver")).getParent();
            final Path other = Files.createDirectories(parent.resolve("not-coedge-aeron-pid1-x"));

            assertEquals(2, DriverDirectories.removeStale(parent));
            assertFalse(Files.exists(dead));
            assertFalse(Files.exists(old));
            assertTrue(Files.exists(live));
            assertTrue(Files.exists(mine));
            assertTrue(Files.exists(other));
            assertEquals(ProcessHandle.current().pid(), DriverDirectories.ownerPid(mine.getFileName().toString()));
        }
        finally
        {
            alive.destroyForcibly();
        }
    }

    @Test
    void shouldRemoveANodesDirectoryOnClose()
    {
        final Path dir;
        try (TransportNode node = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0")))
        {
            dir = node.driverDirectory();
            assertTrue(Files.isDirectory(dir.resolve("driver")));
            assertEquals(ProcessHandle.current().pid(), DriverDirectories.ownerPid(dir.getFileName().toString()));
        }
        assertFalse(Files.exists(dir));
    }

    @Test
    void shouldRemoveANodesDirectoryWhenItsJvmIsTerminated() throws Exception
    {
        final Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
            NodeMain.class.getName()).redirectErrorStream(true).start();
        try
        {
            final String prefix = DriverDirectories.PREFIX + "pid" + p.pid() + "-";
            Path dir = null;
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (dir == null && System.nanoTime() < deadline && p.isAlive())
            {
                dir = findCnc(prefix);
                Thread.sleep(50);
            }
            assertTrue(dir != null, "the node started");
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertFalse(Files.exists(dir), dir + " removed by the shutdown hook");
        }
        finally
        {
            p.destroyForcibly();
        }
    }

    @Test
    void shouldRemoveADirectoryThatIsStillBeingWritten(@TempDir final Path parent) throws Exception
    {
        final Path dir = DriverDirectories.create(parent);
        final Path driver = Files.createDirectories(dir.resolve("driver"));
        final Thread writer = new Thread(() ->
        {
            // like a driver still creating its files: a file made between a delete's listing and its removal of the
            // directory keeps that delete from removing it; once the directory is gone, nothing brings it back
            final long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            for (int i = 0; System.nanoTime() < end; i++)
            {
                try
                {
                    Files.write(driver.resolve(i + ".logbuffer"), new byte[512]);
                }
                catch (final IOException e)
                {
                    // the directory is gone
                }
            }
        });
        writer.start();
        try
        {
            Thread.sleep(20);
            assertTrue(DriverDirectories.deleteWhileWritten(dir, 10_000));
        }
        finally
        {
            writer.join();
        }
        assertFalse(Files.exists(dir));
    }

    private static Path findCnc(final String prefix) throws IOException
    {
        try (Stream<Path> s = Files.list(DriverDirectories.parent()))
        {
            final List<Path> dirs = s.filter(d -> d.getFileName().toString().startsWith(prefix)).toList();
            for (final Path d : dirs)
            {
                if (Files.exists(d.resolve("driver/cnc.dat")))
                {
                    return d;
                }
            }
            return null;
        }
    }

    /** A node that waits to be terminated. */
    static final class NodeMain
    {
        public static void main(final String[] args) throws Exception
        {
            try (TransportNode node = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0")))
            {
                Thread.sleep(TimeUnit.MINUTES.toMillis(2));
            }
        }
    }
}
