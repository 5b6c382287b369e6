package org.coedge.engine.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Enumeration;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Which build of the code that decides a device's speed this process runs: a digest of the class files of the
 * kernels ({@code org.coedge.kernels}) and of the lowering and executors ({@code org.coedge.engine.exec}), whether
 * they sit in a jar (the entries' names and CRC-32s, read from its directory without unpacking anything) or in a
 * class directory (the files' bytes). A kept device profile measured by another build is therefore measured again:
 * a faster kernel makes an old profile wrong by its whole gain. Computed once per process; cold path, any thread.
 */
final class KernelBuild
{
    private static final String[] PACKAGES = { "org/coedge/kernels/", "org/coedge/engine/exec/" };

    private KernelBuild()
    {
    }

    /** @return 12 hex digits naming the build, or {@code unknown} where the classes cannot be read. */
    static String id()
    {
        return Holder.ID;
    }

    private static final class Holder
    {
        static final String ID = compute();
    }

    private static String compute()
    {
        final Class<?>[] anchors = { org.coedge.kernels.Conv2d.class, org.coedge.engine.exec.Lowering.class };
        final Path[] locations = new Path[anchors.length];
        try
        {
            for (int i = 0; i < anchors.length; i++)
            {
                final CodeSource source = anchors[i].getProtectionDomain().getCodeSource();
                if (source == null)
                {
                    return "unknown";
                }
                locations[i] = Path.of(source.getLocation().toURI());
            }
        }
        catch (final URISyntaxException | SecurityException | IllegalArgumentException e)
        {
            return "unknown";
        }
        return digestOf(locations, PACKAGES);
    }

    /**
     * @return 12 hex digits over the class files under {@code prefixes[i]} of jar or directory {@code locations[i]},
     * or {@code unknown} where one cannot be read.
     */
    static String digestOf(final Path[] locations, final String[] prefixes)
    {
        try
        {
            final MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < locations.length; i++)
            {
                add(digest, locations[i], prefixes[i]);
            }
            return ModelRef.hex(digest.digest()).substring(0, 12);
        }
        catch (final IOException | UncheckedIOException | NoSuchAlgorithmException | SecurityException e)
        {
            return "unknown";
        }
    }

    /** Adds the class files under {@code prefix} of the jar or directory {@code location}, in name order. */
    private static void add(final MessageDigest digest, final Path location, final String prefix) throws IOException
    {
        if (Files.isDirectory(location))
        {
            final Path dir = location.resolve(prefix);
            if (!Files.isDirectory(dir))
            {
                return;
            }
            try (Stream<Path> files = Files.walk(dir))
            {
                final Iterator<Path> it = files.filter(Files::isRegularFile).sorted().iterator();
                while (it.hasNext())
                {
                    final Path f = it.next();
                    digest.update(location.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                    digest.update(Files.readAllBytes(f));
                }
            }
            return;
        }
        try (JarFile jar = new JarFile(location.toFile()))
        {
            final TreeMap<String, Long> crcs = new TreeMap<>();
            for (final Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); )
            {
                final JarEntry entry = e.nextElement();
                if (entry.getName().startsWith(prefix) && !entry.isDirectory())
                {
                    crcs.put(entry.getName(), entry.getCrc());
                }
            }
            for (final Map.Entry<String, Long> c : crcs.entrySet())
            {
                digest.update(c.getKey().getBytes(StandardCharsets.UTF_8));
                digest.update(Long.toString(c.getValue()).getBytes(StandardCharsets.UTF_8));
            }
        }
    }
}
