package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The build digest a device key carries, so that a kept profile of another build is measured again. */
class KernelBuildTest
{
    private static final String[] PREFIX = { "org/coedge/kernels/" };

    @TempDir
    Path dir;

    @Test
    void shouldNameThisBuildAndPutItInTheDeviceKey()
    {
        final String id = KernelBuild.id();
        assertTrue(id.matches("[0-9a-f]{12}"), id);
        assertEquals(id, KernelBuild.id());
        assertTrue(DeviceFacts.deviceKey(1, 512L << 20).contains(";kernels=" + id + ";"),
            DeviceFacts.deviceKey(1, 512L << 20));
    }

    @Test
    void shouldFollowTheClassFilesOfAJarNotItsTimestampsNorOtherPackages() throws IOException
    {
        final String a = digest(jar("a.jar", "v1", 1_000_000L, "other"));
        final String sameClassesLater = digest(jar("b.jar", "v1", 9_000_000L, "changed elsewhere"));
        final String changedKernel = digest(jar("c.jar", "v2", 1_000_000L, "other"));
        assertEquals(a, sameClassesLater);
        assertNotEquals(a, changedKernel);
        assertEquals("unknown", digest(dir.resolve("missing.jar")));
    }

    @Test
    void shouldFollowTheClassFilesOfADirectory() throws IOException
    {
        final Path classes = dir.resolve("classes");
        final Path pkg = Files.createDirectories(classes.resolve("org/coedge/kernels"));
        Files.writeString(pkg.resolve("Conv2d.class"), "v1");
        final String before = digest(classes);
        Files.writeString(pkg.resolve("Conv2d.class"), "v2");
        assertNotEquals(before, digest(classes));
    }

    private static String digest(final Path location)
    {
        return KernelBuild.digestOf(new Path[] { location }, PREFIX);
    }

    /** A jar with a kernel class of content {@code kernel} and one of another package, entries dated {@code time}. */
    private Path jar(final String name, final String kernel, final long time, final String other) throws IOException
    {
        final Path file = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(file); JarOutputStream jar = new JarOutputStream(out))
        {
            put(jar, "org/coedge/kernels/Conv2d.class", kernel, time);
            put(jar, "org/coedge/transport/Link.class", other, time);
        }
        return file;
    }

    private static void put(final JarOutputStream jar, final String name, final String content, final long time)
        throws IOException
    {
        final JarEntry entry = new JarEntry(name);
        entry.setTime(time);
        jar.putNextEntry(entry);
        jar.write(content.getBytes(StandardCharsets.UTF_8));
        jar.closeEntry();
    }
}
