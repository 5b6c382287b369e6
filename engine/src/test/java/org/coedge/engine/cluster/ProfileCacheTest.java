package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.RowMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The profile cache: what is written is read back, and a file that is not this model's and device's is not. */
class ProfileCacheTest
{
    private static final byte[] SHA = new byte[32];
    private static final byte[] OTHER_SHA = new byte[32];
    private static final String KEY = DeviceFacts.deviceKey(1, 512L << 20);

    static
    {
        for (int i = 0; i < 32; i++)
        {
            SHA[i] = (byte)(i * 7 + 1);
            OTHER_SHA[i] = (byte)(i * 5 + 3);
        }
    }

    @TempDir
    Path dir;

    /** A source of 8 rows, a 3x3 layer of 8 rows and a global layer of 1 row. */
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int src = b.addSource("in", 8, 8, 3);
        final int conv = b.addLayer("conv", new int[] {src}, new RowMap[] {RowMap.window(3, 1, 1, 1, 8, 8)}, 8, 8, 4,
            1000, 128);
        b.addLayer("fc", new int[] {conv}, new RowMap[] {RowMap.global(8, 1)}, 1, 1, 10, 500, 40);
        return b.build();
    }

    private static DeviceProfile profile()
    {
        return DeviceProfile.of(KEY, 1e9, 512L << 20, new int[] {1, 2, 1}, new int[] {8, 1, 2},
            new long[] {12_345, 678, 3_456});
    }

    @Test
    void shouldReadBackWhatItWrote()
    {
        final ProfileCache cache = new ProfileCache(dir.resolve("a/b"));
        final StringWriter log = new StringWriter();
        cache.write(SHA, profile(), new PrintWriter(log, true));
        final DeviceProfile back = cache.read(SHA, KEY, graph(), 2e9, 256L << 20, new PrintWriter(log, true));
        assertEquals("", log.toString());
        final DeviceProfile p = profile();
        assertEquals(p.sampleCount(), back.sampleCount());
        for (int i = 0; i < p.sampleCount(); i++)
        {
            assertEquals(p.layer(i), back.layer(i));
            assertEquals(p.rows(i), back.rows(i));
            assertEquals(p.ns(i), back.ns(i));
        }
        assertEquals(2e9, back.calibratedFlopsPerSecond());
        assertEquals(256L << 20, back.memoryBytes());
        assertEquals(KEY, back.deviceKey());
    }

    @Test
    void shouldLeaveOnlyTheProfileFileAfterAWriteAndReplaceItOnTheNext() throws Exception
    {
        final ProfileCache cache = new ProfileCache(dir);
        final PrintWriter log = new PrintWriter(new StringWriter(), true);
        cache.write(SHA, profile(), log);
        cache.write(SHA, DeviceProfile.of(KEY, 1e9, 512L << 20, new int[] {2}, new int[] {1}, new long[] {9}), log);
        try (Stream<Path> files = Files.list(dir))
        {
            assertEquals(List.of(cache.fileOf(SHA, KEY)), files.toList());
        }
        assertEquals(1, cache.read(SHA, KEY, graph(), 1e9, 1L << 20, log).sampleCount());
    }

    @Test
    void shouldHaveNoProfileForAnotherModelOrDevice()
    {
        final ProfileCache cache = new ProfileCache(dir);
        final StringWriter log = new StringWriter();
        cache.write(SHA, profile(), new PrintWriter(log, true));
        assertNull(cache.read(OTHER_SHA, KEY, graph(), 1e9, 1L << 20, new PrintWriter(log, true)));
        final String twoThreads = DeviceFacts.deviceKey(2, 512L << 20);
        assertNotEquals(KEY, twoThreads);
        assertNotEquals(cache.fileOf(SHA, KEY), cache.fileOf(SHA, twoThreads));
        assertNull(cache.read(SHA, twoThreads, graph(), 1e9, 1L << 20, new PrintWriter(log, true)));
        assertNotEquals(KEY, DeviceFacts.deviceKey(1, 256L << 20));
        assertEquals("", log.toString());
    }

    @Test
    void shouldIgnoreACorruptForeignOrOutOfRangeFileWithOneLogLine() throws Exception
    {
        final ProfileCache cache = new ProfileCache(dir);
        final Path file = cache.fileOf(SHA, KEY);
        final String good = ProfileCache.MAGIC + "\nmodel " + ModelRef.hex(SHA) + "\ndevice " + KEY + "\n";
        final String[] bad = {
            "\u0000\u0001garbage",
            good + "samples 2\n1 8 100\n",
            good + "samples 1\n1 eight 100\n",
            good + "samples 1\n7 1 100\n", // no layer 7
            good + "samples 1\n0 1 100\n", // the source is not computed
            good + "samples 1\n1 9 100\n", // taller than the layer
            good + "samples 1\n1 8 -5\n",
            ProfileCache.MAGIC + "\nmodel " + ModelRef.hex(OTHER_SHA) + "\ndevice " + KEY + "\nsamples 0\n",
            ProfileCache.MAGIC + "\nmodel " + ModelRef.hex(SHA) + "\ndevice someone else\nsamples 0\n",
        };
        for (final String text : bad)
        {
            Files.writeString(file, text, StandardCharsets.UTF_8);
            final StringWriter log = new StringWriter();
            assertNull(cache.read(SHA, KEY, graph(), 1e9, 1L << 20, new PrintWriter(log, true)), text);
            final String line = log.toString();
            assertTrue(line.startsWith("profile cache: ignoring " + file) && line.indexOf('\n') == line.length() - 1 -
                (line.endsWith("\r\n") ? 1 : 0), text + " logged: " + line);
        }
        Files.writeString(file, good + "samples 1\n1 8 100\n", StandardCharsets.UTF_8);
        assertEquals(100, cache.read(SHA, KEY, graph(), 1e9, 1L << 20, new PrintWriter(new StringWriter())).ns(0));
    }
}
