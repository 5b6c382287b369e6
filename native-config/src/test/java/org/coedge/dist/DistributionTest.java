package org.coedge.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the per-platform distributions as the build lays them out in {@code target/dist/PLATFORM} (the folders the
 * archives are packed from; their third-party jars and natives are there from {@code generate-resources}): each holds
 * exactly its own platform's native libraries, built for its CPU (ELF machine), and no ONNX Runtime; and the x86_64
 * distribution's own {@code bin/coedge selftest} passes as a separate process. The engine's jars join lib/ only at
 * {@code package}, so the selftest layout adds them from the classes this test runs with (jarred when they are
 * still folders).
 */
final class DistributionTest
{
    private static final Path DIST = Path.of(System.getProperty("coedge.dist.dir", "target/dist"));
    private static final Map<String, Integer> ELF_MACHINE = Map.of("linux-x86_64", 62, "linux-arm64", 183);
    private static final Pattern NATIVE_JAR =
        Pattern.compile("(.+?)-[0-9][^-]*(?:-[0-9][^-]*)?-((?:linux|macosx|windows|android|ios)-[a-z0-9_]+)\\.jar");
    private static final Pattern PLATFORM_PATH =
        Pattern.compile("org/bytedeco/[a-z0-9_]+/((?:linux|macosx|windows|android|ios)-[a-z0-9_]+)/");

    @TempDir
    Path temp;

    @Test
    void shouldHoldExactlyItsPlatformsNativesInEachDistribution() throws IOException
    {
        for (final String platform : ELF_MACHINE.keySet())
        {
            final Path home = DIST.resolve(platform);
            assertTrue(Files.isRegularFile(home.resolve("bin/coedge")), home + " has bin/coedge");
            assertTrue(Files.isRegularFile(home.resolve("conf/coedge.conf")), home + " has conf/coedge.conf");
            assertTrue(Files.isRegularFile(home.resolve("systemd/coedge-worker.service")), home + " has the unit");
            final TreeSet<String> natives = new TreeSet<>();
            int libraries = 0;
            for (final Path jar : jars(home.resolve("lib")))
            {
                final String name = jar.getFileName().toString();
                assertFalse(name.contains("onnxruntime") || name.contains("junit") || name.contains("jmh"),
                    platform + " ships a test or benchmark dependency: " + name);
                final Matcher m = NATIVE_JAR.matcher(name);
                if (m.matches())
                {
                    assertEquals(platform, m.group(2), platform + " ships " + name);
                    natives.add(m.group(1));
                }
                libraries += checkEntries(jar, platform);
            }
            assertEquals(List.of("javacpp", "openblas"), new ArrayList<>(natives), platform + " natives");
            assertTrue(libraries >= 3, platform + " has libjnijavacpp, libopenblas and libjniopenblas: " + libraries);
        }
    }

    @Test
    void shouldPassTheSelftestOfTheX86_64Distribution() throws Exception
    {
        final String arch = System.getProperty("os.arch");
        assumeTrue(arch.equals("amd64") || arch.equals("x86_64"), "the x86_64 distribution runs here only on x86_64");
        final Path home = layout("linux-x86_64");
        final Result r = launch(home, Map.of("COEDGE_LAUNCHER_VERBOSE", "1"), "selftest");
        assertEquals(0, r.code, r.output);
        final String[] lines = r.output.trim().split("\n");
        assertEquals("PASS", lines[lines.length - 1], r.output);
        assertTrue(r.output.contains("(javacpp linux-x86_64)"), r.output);
        assertTrue(r.output.contains("--add-exports java.base/jdk.internal.misc=ALL-UNNAMED"), r.output);
        assertTrue(r.output.contains("-XX:ActiveProcessorCount="), r.output);
    }

    @Test
    void shouldSkipAJavaOlderThan17() throws Exception
    {
        final Path home = layout("linux-x86_64");
        final Path old = temp.resolve("old-java");
        Files.createDirectories(old.resolve("bin"));
        Files.writeString(old.resolve("release"), "JAVA_VERSION=\"11.0.2\"\n");
        final Path fake = old.resolve("bin/java");
        Files.writeString(fake, "#!/bin/sh\necho 'this java must not run' >&2\nexit 99\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        final Result r = launch(home, Map.of("JAVA_HOME", old.toString(), "COEDGE_LAUNCHER_VERBOSE", "1"),
            "--version");
        assertEquals(0, r.code, r.output);
        assertFalse(r.output.contains("must not run"), r.output);
        assertTrue(r.output.contains("coedge 0.1.0"), r.output);
    }

    @Test
    void shouldCountProcessorsUnderACpuQuota() throws Exception
    {
        final Path v1 = Path.of("/sys/fs/cgroup/cpu");
        assumeTrue(Files.isWritable(v1) && Files.exists(v1.resolve("cpu.cfs_quota_us")),
            "needs a writable cgroup v1 cpu hierarchy (root)");
        final Path home = layout("linux-x86_64");
        final Path group = v1.resolve("coedge-dist-test-" + ProcessHandle.current().pid());
        Files.createDirectory(group);
        try
        {
            Files.writeString(group.resolve("cpu.cfs_period_us"), "100000");
            Files.writeString(group.resolve("cpu.cfs_quota_us"), "50000");
            final ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c",
                "echo $$ > \"$1/cgroup.procs\" && exec \"$2/bin/coedge\" --version", "sh", group.toString(),
                home.toString());
            pb.environment().put("COEDGE_LAUNCHER_VERBOSE", "1");
            pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
            final Result r = run(pb);
            assertEquals(0, r.code, r.output);
            assertTrue(r.output.contains("-XX:ActiveProcessorCount=1 "), r.output);
        }
        finally
        {
            for (int i = 0; i < 50 && Files.exists(group); i++)
            {
                try
                {
                    Files.delete(group);
                }
                catch (final IOException busy)
                {
                    Thread.sleep(100);
                }
            }
        }
    }

    /** Counts the native libraries in {@code jar}, checking each is under {@code platform} and built for its CPU. */
    private static int checkEntries(final Path jar, final String platform) throws IOException
    {
        int libraries = 0;
        try (JarFile file = new JarFile(jar.toFile()))
        {
            final Enumeration<JarEntry> entries = file.entries();
            while (entries.hasMoreElements())
            {
                final JarEntry e = entries.nextElement();
                final Matcher m = PLATFORM_PATH.matcher(e.getName());
                if (m.lookingAt())
                {
                    assertEquals(platform, m.group(1), jar.getFileName() + " holds " + e.getName());
                }
                if (!e.isDirectory() && e.getName().matches(".*\\.so(\\.[0-9]+)*"))
                {
                    assertTrue(m.lookingAt(), jar.getFileName() + " holds a library outside a platform: " + e);
                    try (InputStream in = file.getInputStream(e))
                    {
                        final byte[] header = in.readNBytes(20);
                        assertEquals(0x7f, header[0], e.getName() + " is not ELF");
                        assertEquals((int)ELF_MACHINE.get(platform),
                            (header[18] & 0xff) | (header[19] & 0xff) << 8, e.getName() + " ELF machine");
                    }
                    libraries++;
                }
            }
        }
        return libraries;
    }

    /**
     * Copies {@code target/dist/PLATFORM} into a temporary folder and adds the engine's jars (from the classes this
     * test runs with) when lib/ does not have them yet.
     */
    private Path layout(final String platform) throws Exception
    {
        final Path source = DIST.resolve(platform);
        final Path home = temp.resolve("coedge-" + platform);
        try (Stream<Path> files = Files.walk(source))
        {
            for (final Path p : (Iterable<Path>)files::iterator)
            {
                final Path target = home.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p))
                {
                    Files.createDirectories(target);
                }
                else
                {
                    Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        Files.setPosixFilePermissions(home.resolve("bin/coedge"), PosixFilePermissions.fromString("rwxr-xr-x"));
        // the engine's own jars are those this test runs with, never what an earlier package left in lib/
        for (final Path jar : jars(home.resolve("lib")))
        {
            if (jar.getFileName().toString().startsWith("coedge-"))
            {
                Files.delete(jar);
            }
        }
        final String[] modules = { "org.coedge.engine.cli.CoEdgeCli", "org.coedge.kernels.Blas",
            "org.coedge.transport.TransportNode", "org.coedge.planner.Apportion" };
        for (final String className : modules)
        {
            final Path location = Path.of(Class.forName(className).getProtectionDomain().getCodeSource().getLocation()
                .toURI());
            final Path jar = home.resolve("lib/coedge-" + className.split("\\.")[2] + ".jar");
            if (Files.isDirectory(location))
            {
                jarFolder(location, jar);
            }
            else
            {
                Files.copy(location, jar);
            }
        }
        return home;
    }

    private static void jarFolder(final Path folder, final Path jar) throws IOException
    {
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file);
            Stream<Path> files = Files.walk(folder))
        {
            for (final Path p : (Iterable<Path>)files::iterator)
            {
                if (Files.isRegularFile(p))
                {
                    out.putNextEntry(new JarEntry(folder.relativize(p).toString().replace('\\', '/')));
                    Files.copy(p, out);
                    out.closeEntry();
                }
            }
        }
    }

    private static List<Path> jars(final Path lib) throws IOException
    {
        try (Stream<Path> files = Files.list(lib))
        {
            return files.filter(p -> p.getFileName().toString().endsWith(".jar")).sorted().toList();
        }
    }

    private record Result(int code, String output)
    {
    }

    private static Result launch(final Path home, final Map<String, String> env, final String... args)
        throws IOException, InterruptedException
    {
        final List<String> command = new ArrayList<>();
        command.add(home.resolve("bin/coedge").toString());
        command.addAll(List.of(args));
        final ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().putAll(env);
        return run(pb);
    }

    private static Result run(final ProcessBuilder pb) throws IOException, InterruptedException
    {
        final Path log = Files.createTempFile("coedge-launch-", ".log");
        pb.redirectErrorStream(true);
        pb.redirectOutput(log.toFile());
        final Process p = pb.start();
        try
        {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the launcher did not finish in 120 s");
            return new Result(p.exitValue(), Files.readString(log));
        }
        finally
        {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
        }
    }
}
