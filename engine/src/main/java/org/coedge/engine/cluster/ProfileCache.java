package org.coedge.engine.cluster;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;

import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LayerGraph;

/**
 * Device profiles kept on disk between runs, one small text file per model (its SHA-256) and device (a hash of its
 * {@link DeviceFacts#deviceKey key}), so a device profiles a model once. The file names its model and full device
 * key, so a file of another model or device that hashes alike is not mistaken for this one:
 * <pre>
 * coedge-profile 1
 * model HEX-SHA-256
 * device KEY
 * samples N
 * LAYER ROWS NS      (N lines)
 * </pre>
 * A file that is unreadable, of another format, model or device, or whose samples do not fit the model's graph is
 * ignored with one log line (and measured again). Files are written to a temporary file and renamed into place, so a
 * reader never sees half a file. Where: {@value #DIR_PROP} if set, else {@code $XDG_CACHE_HOME/coedge/profiles},
 * else {@code ~/.cache/coedge/profiles}. Cold path; used by one thread at a time per process, and processes sharing
 * a directory only ever replace whole files.
 */
public final class ProfileCache
{
    /** System property: the directory profiles are kept in. */
    public static final String DIR_PROP = "coedge.profile.dir";
    static final String MAGIC = "coedge-profile 1";
    /** The most samples a file may hold (a welcome carries no more). */
    static final int MAX_SAMPLES = org.coedge.transport.ControlProxy.MAX_WELCOME_SAMPLES;

    private final Path dir;

    public ProfileCache(final Path dir)
    {
        this.dir = dir;
    }

    /** @return where profiles are kept by default. */
    public static Path defaultDir()
    {
        final String prop = System.getProperty(DIR_PROP);
        if (prop != null && !prop.isEmpty())
        {
            return Path.of(prop);
        }
        final String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isEmpty() && Path.of(xdg).isAbsolute())
        {
            return Path.of(xdg, "coedge", "profiles");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "coedge", "profiles");
    }

    public Path dir()
    {
        return dir;
    }

    /** @return the file the profile of model {@code sha256} on device {@code deviceKey} is kept in. */
    public Path fileOf(final byte[] sha256, final String deviceKey)
    {
        return dir.resolve(ModelRef.hex(sha256) + "-" + ModelRef.hex(digest(deviceKey)).substring(0, 16) +
            ".profile");
    }

    /**
     * @param graph the model's planner graph: every sample must name one of its layers and fit its height.
     * @return the kept profile, carrying {@code flopsPerSecond} and {@code memoryBytes}; null if there is none or
     * the file is not a valid one (then logged).
     */
    public DeviceProfile read(
        final byte[] sha256, final String deviceKey, final LayerGraph graph, final double flopsPerSecond,
        final long memoryBytes, final PrintWriter log)
    {
        final Path file = fileOf(sha256, deviceKey);
        if (!Files.isRegularFile(file))
        {
            return null;
        }
        try
        {
            final List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.size() < 4 || !lines.get(0).equals(MAGIC))
            {
                throw new IllegalArgumentException("not a profile of this format");
            }
            if (!lines.get(1).equals("model " + ModelRef.hex(sha256)))
            {
                throw new IllegalArgumentException("a profile of another model");
            }
            if (!lines.get(2).equals("device " + deviceKey))
            {
                throw new IllegalArgumentException("a profile of another device (" + lines.get(2) + ")");
            }
            final int n = Integer.parseInt(field(lines.get(3), "samples"));
            if (n < 0 || n > MAX_SAMPLES || lines.size() != 4 + n)
            {
                throw new IllegalArgumentException("says " + n + " samples, has " + (lines.size() - 4) + " lines");
            }
            final int[] layers = new int[n];
            final int[] rows = new int[n];
            final long[] ns = new long[n];
            for (int i = 0; i < n; i++)
            {
                final String[] parts = lines.get(4 + i).trim().split(" ");
                if (parts.length != 3)
                {
                    throw new IllegalArgumentException("sample line " + (i + 1) + " is not LAYER ROWS NS");
                }
                layers[i] = Integer.parseInt(parts[0]);
                rows[i] = Integer.parseInt(parts[1]);
                ns[i] = Long.parseLong(parts[2]);
            }
            final String bad = WelcomeProfile.check(graph, layers, rows, ns, n);
            if (bad != null)
            {
                throw new IllegalArgumentException(bad);
            }
            return DeviceProfile.of(deviceKey, flopsPerSecond, memoryBytes, layers, rows, ns);
        }
        catch (final IOException | RuntimeException e)
        {
            log.println("profile cache: ignoring " + file + ": " + e.getMessage());
            return null;
        }
    }

    /** Keeps {@code profile} of model {@code sha256}; a failure is logged, not thrown (the profile is still used). */
    public void write(final byte[] sha256, final DeviceProfile profile, final PrintWriter log)
    {
        final Path file = fileOf(sha256, profile.deviceKey());
        Path tmp = null;
        try
        {
            Files.createDirectories(dir);
            final StringBuilder sb = new StringBuilder(64 + profile.sampleCount() * 24);
            sb.append(MAGIC).append('\n')
                .append("model ").append(ModelRef.hex(sha256)).append('\n')
                .append("device ").append(profile.deviceKey()).append('\n')
                .append("samples ").append(profile.sampleCount()).append('\n');
            for (int i = 0; i < profile.sampleCount(); i++)
            {
                sb.append(profile.layer(i)).append(' ').append(profile.rows(i)).append(' ')
                    .append(profile.ns(i)).append('\n');
            }
            tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            Files.writeString(tmp, sb, StandardCharsets.UTF_8);
            try
            {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
            catch (final AtomicMoveNotSupportedException e)
            {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        }
        catch (final IOException | RuntimeException e)
        {
            log.println("profile cache: could not write " + file + ": " + e.getMessage());
        }
        finally
        {
            if (tmp != null)
            {
                try
                {
                    Files.deleteIfExists(tmp);
                }
                catch (final IOException e)
                {
                    // already reported the write failure
                }
            }
        }
    }

    private static String field(final String line, final String name)
    {
        if (!line.startsWith(name + " "))
        {
            throw new IllegalArgumentException("expected '" + name + " ...', found '" + line + "'");
        }
        return line.substring(name.length() + 1).trim();
    }

    private static byte[] digest(final String text)
    {
        try
        {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "ProfileCache{%s}", dir);
    }
}
