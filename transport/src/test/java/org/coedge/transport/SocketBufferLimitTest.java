package org.coedge.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The socket buffers (and so the receiver windows) a node asks for, from the kernel's limits. */
class SocketBufferLimitTest
{
    @Test
    void shouldTakeTheLargestPowerOfTwoWithinBothLimits(@TempDir final Path dir) throws IOException
    {
        final Path r = Files.writeString(dir.resolve("rmem_max"), "4194304\n");
        final Path w = Files.writeString(dir.resolve("wmem_max"), "212992\n");
        assertEquals(128 * 1024, TransportNode.socketBufferLimit(r, w));
        assertEquals(4 * 1024 * 1024, TransportNode.socketBufferLimit(r));
        assertEquals(4 * 1024 * 1024, TransportNode.socketBufferLimit(Files.writeString(dir.resolve("big"), "67108864")));
    }

    @Test
    void shouldFallBackForALimitItCannotRead(@TempDir final Path dir) throws IOException
    {
        assertEquals(128 * 1024, TransportNode.socketBufferLimit(dir.resolve("absent")));
        assertEquals(128 * 1024, TransportNode.socketBufferLimit(Files.writeString(dir.resolve("junk"), "many")));
        assertEquals(64 * 1024, TransportNode.socketBufferLimit(Files.writeString(dir.resolve("tiny"), "4096")));
    }

    @Test
    void shouldReadThisKernelsLimitsWhole(@TempDir final Path dir) throws IOException
    {
        // copies read through a plain reader, the way `cat` does (an unreadable limit stays absent, as unreadable):
        // on Linux 6.18 Files.readString of these files returned their first byte only, and the node asked for
        // 64 KiB buffers on a machine that allows 4 MiB
        final Path[] copies = new Path[2];
        final String[] names = {"rmem_max", "wmem_max"};
        for (int i = 0; i < names.length; i++)
        {
            final Path p = Path.of("/proc/sys/net/core", names[i]);
            copies[i] = dir.resolve(names[i]);
            if (Files.isReadable(p))
            {
                try (BufferedReader in = Files.newBufferedReader(p))
                {
                    Files.writeString(copies[i], in.readLine());
                }
            }
        }
        assertEquals(TransportNode.socketBufferLimit(copies), TransportNode.SOCKET_BUFFER_BYTES);
    }
}
