package org.coedge.engine.testbed;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One emulated device's CPU quota: a cgroup (v1 {@code cpu} hierarchy or v2 unified) whose CFS quota is the
 * device's cores over a period the testbed chooses ({@link #DEFAULT_PERIOD_US}, 10 ms, unless told otherwise).
 * <p>
 * Why 10 ms and not the 1-2 ms that would make a fractional core stall more briefly: on this kind of machine
 * (kernel timer tick 4 ms) a short period costs the device part of its quota and more of its speed. Measured side
 * by side, one thread of back-to-back 3136x576x64 GEMMs under 0.45 cores got 0.41 cores of CPU and 27-29 GFLOP/s
 * with a 2.22 ms period, 0.445 cores and 31-32 GFLOP/s with 10 ms; in a three-device testbed the 0.45 device
 * calibrated at 22 GFLOP/s with 2.22 ms. So a device's speed would follow the emulation's overhead, not its quota.
 * With 10 ms a 0.45-core device runs for 4.5 ms and stalls for 5.5: one more message latency of up to a period,
 * which the cooperative timelines show as wait. {@code coedge testbed --cfs-period-ms} changes it.
 * <p>
 * Created and removed by {@link Testbed}; cold path, one thread.
 */
final class CpuCgroup
{
    /** The kernel refuses CFS periods and quotas below 1 ms. */
    static final long MIN_US = 1000;
    static final long MAX_PERIOD_US = 1_000_000;
    static final long DEFAULT_PERIOD_US = 10_000;

    private static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final Path V1 = ROOT.resolve("cpu");

    private final Path dir;
    private final boolean v2;
    private final long periodUs;
    private final long quotaUs;

    private CpuCgroup(final Path dir, final boolean v2, final long periodUs, final long quotaUs)
    {
        this.dir = dir;
        this.v2 = v2;
        this.periodUs = periodUs;
        this.quotaUs = quotaUs;
    }

    /**
     * @param wantedUs the period asked for, {@code >= 1 ms}.
     * @return the CFS period for {@code cores}: {@code wantedUs}, or longer where the quota would otherwise be under
     * the kernel's 1 ms minimum ({@code 1 ms / cores}: 2.22 ms for 0.45 cores asked for with a 1 ms period).
     */
    static long periodUs(final double cores, final long wantedUs)
    {
        if (!(cores > 0))
        {
            throw new IllegalArgumentException("cores must be > 0: " + cores);
        }
        if (wantedUs < MIN_US || wantedUs > MAX_PERIOD_US)
        {
            throw new IllegalArgumentException("CFS period must be in [1, 1000] ms: " + wantedUs / 1000.0 + " ms");
        }
        return Math.min(MAX_PERIOD_US, Math.max(wantedUs, (long)Math.ceil(MIN_US / cores)));
    }

    /** @return the CFS quota for {@code cores} under {@link #periodUs(double, long)}. */
    static long quotaUs(final double cores, final long wantedUs)
    {
        return Math.max(MIN_US, Math.round(cores * periodUs(cores, wantedUs)));
    }

    /** @return the line cgroup v2's {@code cpu.max} takes for {@code cores}. */
    static String cpuMax(final double cores, final long wantedUs)
    {
        return quotaUs(cores, wantedUs) + " " + periodUs(cores, wantedUs);
    }

    /** @return whether this machine has the cgroup-v1 cpu hierarchy (else v2 is tried). */
    static boolean isV1()
    {
        return Files.isRegularFile(V1.resolve("cpu.cfs_period_us"));
    }

    /** @return the directory a cgroup named {@code name} has on this machine. */
    static Path pathOf(final String name)
    {
        return (isV1() ? V1 : ROOT).resolve(name);
    }

    /** Creates cgroup {@code name} limited to {@code cores}. */
    static CpuCgroup create(final String name, final double cores, final long wantedPeriodUs) throws IOException
    {
        final boolean v1 = isV1();
        if (!v1 && !Files.isRegularFile(ROOT.resolve("cgroup.controllers")))
        {
            throw new IllegalStateException("no cgroup cpu controller at " + V1 + " (v1) or " + ROOT + " (v2)");
        }
        final long period = periodUs(cores, wantedPeriodUs);
        final long quota = quotaUs(cores, wantedPeriodUs);
        final Path dir = (v1 ? V1 : ROOT).resolve(name);
        if (!v1)
        {
            // by lines: Files.readString of a kernel file can return its first byte only (seen on /proc/sys)
            final String controllers = String.join(" ", Files.readAllLines(ROOT.resolve("cgroup.subtree_control")));
            if (!controllers.contains("cpu"))
            {
                Files.writeString(ROOT.resolve("cgroup.subtree_control"), "+cpu");
            }
        }
        Files.createDirectory(dir);
        final CpuCgroup cg = new CpuCgroup(dir, !v1, period, quota);
        try
        {
            if (v1)
            {
                Files.writeString(dir.resolve("cpu.cfs_period_us"), Long.toString(period));
                Files.writeString(dir.resolve("cpu.cfs_quota_us"), Long.toString(quota));
            }
            else
            {
                Files.writeString(dir.resolve("cpu.max"), cpuMax(cores, wantedPeriodUs));
            }
        }
        catch (final IOException | RuntimeException e)
        {
            cg.destroy();
            throw e;
        }
        return cg;
    }

    Path dir()
    {
        return dir;
    }

    /** @return the file a process writes its pid into to join. */
    Path procsFile()
    {
        return dir.resolve("cgroup.procs");
    }

    long periodUs()
    {
        return periodUs;
    }

    long quotaUs()
    {
        return quotaUs;
    }

    /** @return {periods, throttled periods, throttled ns} so far. */
    long[] throttling()
    {
        final long[] r = new long[3];
        try
        {
            for (final String line : Files.readAllLines(dir.resolve("cpu.stat")))
            {
                final String[] kv = line.trim().split("\\s+");
                if (kv.length != 2)
                {
                    continue;
                }
                switch (kv[0])
                {
                    case "nr_periods":
                        r[0] = Long.parseLong(kv[1]);
                        break;
                    case "nr_throttled":
                        r[1] = Long.parseLong(kv[1]);
                        break;
                    case "throttled_time": // v1, ns
                        r[2] = Long.parseLong(kv[1]);
                        break;
                    case "throttled_usec": // v2
                        r[2] = Long.parseLong(kv[1]) * 1000;
                        break;
                    default:
                        break;
                }
            }
        }
        catch (final IOException | NumberFormatException e)
        {
            // statistics are a report's extra; a cgroup without them reads as never throttled
        }
        return r;
    }

    /** @return the pids in the cgroup now. */
    static List<Long> pids(final Path dir)
    {
        final List<Long> pids = new ArrayList<>();
        try
        {
            for (final String line : Files.readAllLines(dir.resolve("cgroup.procs")))
            {
                if (!line.isBlank())
                {
                    pids.add(Long.parseLong(line.trim()));
                }
            }
        }
        catch (final IOException | NumberFormatException e)
        {
            // gone already
        }
        return pids;
    }

    /** Kills what is left in the cgroup and removes it; quiet if it is gone. */
    void destroy()
    {
        destroy(dir);
    }

    static void destroy(final Path dir)
    {
        for (int attempt = 0; attempt < 50 && Files.isDirectory(dir); attempt++)
        {
            for (final long pid : pids(dir))
            {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
            try
            {
                Files.deleteIfExists(dir);
                return;
            }
            catch (final IOException e)
            {
                // still busy: a killed process takes a moment to leave
                sleepMs(100);
            }
        }
    }

    /** @return the testbed cgroups on this machine (names starting with {@code prefix}). */
    static List<Path> existing(final String prefix)
    {
        final List<Path> found = new ArrayList<>();
        final Path parent = isV1() ? V1 : ROOT;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, prefix + "*"))
        {
            for (final Path p : ds)
            {
                if (Files.isDirectory(p))
                {
                    found.add(p);
                }
            }
        }
        catch (final IOException e)
        {
            // no cgroup fs: nothing to find
        }
        return found;
    }

    static void sleepMs(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "%s (%s, quota %d us per %d us)", dir, v2 ? "v2" : "v1", quotaUs,
            periodUs);
    }
}
