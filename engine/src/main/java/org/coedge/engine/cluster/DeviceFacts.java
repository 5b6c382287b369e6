package org.coedge.engine.cluster;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.coedge.engine.exec.Lowering;
import org.coedge.kernels.BlasCore;

/**
 * What this machine says about the device a process runs on: its CPU model, its CPU quota and memory limit (from the
 * cgroup the process is in, where one is visible), its physical memory and the process's peak resident set. These
 * make the key a device's profile is cached under ({@link #deviceKey}) and the default of
 * {@code coedge worker --memory-mb}.
 * <p>
 * Inside {@code ip netns exec} (as the testbed runs its devices) {@code /sys} is remounted without the cgroup file
 * systems, so a launcher that knows the quota passes it as {@value #CORES_PROP}. Cold path; stateless, any thread.
 */
public final class DeviceFacts
{
    /** System property: the CPU cores (quota) this process may use, where the cgroup cannot be read. */
    public static final String CORES_PROP = "coedge.cpu.cores";
    /** System property: the CFS period of the quota in microseconds, where the cgroup is not visible (the testbed). */
    public static final String PERIOD_PROP = "coedge.cpu.period.us";

    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    /** cgroup v1 writes "no limit" as a huge page-aligned number; anything this large is no limit. */
    private static final long NO_LIMIT_BYTES = 1L << 60;

    private DeviceFacts()
    {
    }

    /**
     * @param threads     compute threads of the device.
     * @param memoryBytes memory limit the device states.
     * @return what the device is, as one line: CPU model, BLAS core, threads, CPU quota, memory limit, whether 3x3
     * convolutions may use Winograd and the kernels the Vector API, which build of the kernels runs
     * ({@link KernelBuild}), and how profiles are measured ({@link DeviceProfiler#METHOD}: a profile measured
     * another way is measured again); two processes with the same key compute alike.
     */
    public static String deviceKey(final int threads, final long memoryBytes)
    {
        final double cores = cpuCores();
        return "cpu=" + cpuModel() + ";blas=" + BlasCore.current().name() + ";threads=" + threads + ";cores=" +
            (Double.isNaN(cores) ? "unlimited" : String.format(Locale.ROOT, "%.4f", cores) + ";period-us=" +
            cpuPeriodUs()) +
            ";memory-mib=" + (memoryBytes >> 20) + ";winograd=" + (Lowering.winogradByDefault() ? "on" : "off") +
            ";vector=" + (org.coedge.kernels.DepthwiseConv2d.vectorByDefault() ? "on" : "off") +
            ";kernels=" + KernelBuild.id() + ";method=" + DeviceProfiler.METHOD;
    }

    /** @return the CPU's model name from {@code /proc/cpuinfo}, or the JVM's architecture if it has none. */
    public static String cpuModel()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8))
            {
                // x86 says "model name", arm64 only "CPU part" (and a "Hardware" / "Model" line on some boards)
                final int colon = line.indexOf(':');
                if (colon > 0)
                {
                    final String name = line.substring(0, colon).trim();
                    if (name.equals("model name") || name.equals("Model") || name.equals("CPU part"))
                    {
                        return clean(line.substring(colon + 1));
                    }
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // no /proc: the architecture is all that is known
        }
        return System.getProperty("os.arch");
    }

    /**
     * @return the CPU cores this process may use: {@value #CORES_PROP} if set, else its cgroup's CFS quota over its
     * period (v1 {@code cpu.cfs_quota_us} / {@code cpu.cfs_period_us}, v2 {@code cpu.max}); NaN if unlimited or
     * unknown.
     */
    public static double cpuCores()
    {
        final String prop = System.getProperty(CORES_PROP);
        if (prop != null)
        {
            try
            {
                final double cores = Double.parseDouble(prop);
                if (cores > 0 && !Double.isInfinite(cores))
                {
                    return cores;
                }
            }
            catch (final NumberFormatException e)
            {
                // not a number: read the cgroup instead
            }
        }
        final long[] max = cgroupCpuMax();
        return max != null && max[0] > 0 && max[1] > 0 ? (double)max[0] / max[1] : Double.NaN;
    }

    /**
     * @return the cgroup's CFS quota and period in microseconds (v1 {@code cpu.cfs_quota_us} and
     * {@code cpu.cfs_period_us}, v2 {@code cpu.max}), each -1 where there is none or it cannot be read; null where
     * no CPU cgroup is visible.
     */
    private static long[] cgroupCpuMax()
    {
        final Path v1 = cgroupDir("cpu");
        if (v1 != null)
        {
            return new long[]{readLong(v1.resolve("cpu.cfs_quota_us")), readLong(v1.resolve("cpu.cfs_period_us"))};
        }
        final Path v2 = cgroupDir("");
        if (v2 == null)
        {
            return null;
        }
        final String[] max = readFirstLine(v2.resolve("cpu.max")).split(" ");
        return max.length == 2 ? new long[]{max[0].equals("max") ? -1 : parseOr(max[0]), parseOr(max[1])} :
            new long[]{-1, -1};
    }

    /** @return {@code value} as a number, -1 if it is not one. */
    private static long parseOr(final String value)
    {
        try
        {
            return Long.parseLong(value);
        }
        catch (final NumberFormatException e)
        {
            return -1;
        }
    }

    /**
     * @return the period of the CPU quota in microseconds: {@value #PERIOD_PROP} if set, else the cgroup's
     * ({@code cpu.cfs_period_us}, v2 {@code cpu.max}); 100,000 (the kernel's default) if unknown.
     */
    public static long cpuPeriodUs()
    {
        final long prop = Long.getLong(PERIOD_PROP, -1);
        if (prop > 0)
        {
            return prop;
        }
        final long[] max = cgroupCpuMax();
        return max != null && max[1] > 0 ? max[1] : 100_000;
    }

    /** @return {@link org.coedge.planner.CpuQuota#ofDeviceKey}: the quota a {@link #deviceKey device key} names. */
    public static org.coedge.planner.CpuQuota quotaOf(final String deviceKey)
    {
        return org.coedge.planner.CpuQuota.ofDeviceKey(deviceKey);
    }

    /** @return the memory this process may use: its cgroup's limit if it has one below the physical memory. */
    public static long memoryLimitBytes()
    {
        final long physical = physicalMemoryBytes();
        long limit = Long.MAX_VALUE;
        final Path v1 = cgroupDir("memory");
        if (v1 != null)
        {
            limit = readLong(v1.resolve("memory.limit_in_bytes"));
        }
        else
        {
            final Path v2 = cgroupDir("");
            if (v2 != null)
            {
                limit = readLong(v2.resolve("memory.max"));
            }
        }
        return limit > 0 && limit < NO_LIMIT_BYTES && limit < physical ? limit : physical;
    }

    /** @return the machine's memory as the JVM sees it (a container's limit where the JVM detects one). */
    public static long physicalMemoryBytes()
    {
        final java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean)
        {
            final long total = ((com.sun.management.OperatingSystemMXBean)os).getTotalMemorySize();
            if (total > 0)
            {
                return total;
            }
        }
        return Runtime.getRuntime().maxMemory();
    }

    /** @return this process's peak resident set ({@code VmHWM} of {@code /proc/self/status}), or -1 if unknown. */
    public static long peakRssBytes()
    {
        return statusKib("self", "VmHWM:");
    }

    /** @return the peak resident set of process {@code pid} ({@code VmHWM} of its status), or -1 if unknown. */
    public static long peakRssBytes(final long pid)
    {
        return statusKib(Long.toString(pid), "VmHWM:");
    }

    /** @return the peak resident set as the logs print it: {@code 412.3 MiB}, or {@code unknown}. */
    public static String peakRss()
    {
        final long peak = peakRssBytes();
        return peak < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", peak / 1048576.0);
    }

    private static long statusKib(final String process, final String field)
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc", process, "status"), StandardCharsets.UTF_8))
            {
                if (line.startsWith(field))
                {
                    final String[] parts = line.substring(field.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            // no /proc
        }
        return -1;
    }

    /**
     * @param controller the v1 controller ({@code cpu}, {@code memory}), or "" for the v2 unified hierarchy.
     * @return this process's directory in that hierarchy, or null if it is not mounted here.
     */
    private static Path cgroupDir(final String controller)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8);
        }
        catch (final IOException | RuntimeException e)
        {
            return null;
        }
        for (final String line : lines)
        {
            // hierarchy-id:controllers:path
            final String[] parts = line.split(":", 3);
            if (parts.length != 3)
            {
                continue;
            }
            final boolean match = controller.isEmpty() ? parts[0].equals("0") && parts[1].isEmpty() :
                List.of(parts[1].split(",")).contains(controller);
            if (match)
            {
                final Path mount = controller.isEmpty() ? CGROUP_ROOT : CGROUP_ROOT.resolve(controller);
                final Path dir = mount.resolve(parts[2].startsWith("/") ? parts[2].substring(1) : parts[2]);
                final String probe = controller.isEmpty() ? "cgroup.controllers" :
                    controller.equals("cpu") ? "cpu.cfs_period_us" : "memory.limit_in_bytes";
                return Files.isRegularFile(dir.resolve(probe)) ? dir : null;
            }
        }
        return null;
    }

    private static long readLong(final Path file)
    {
        return parseOr(readFirstLine(file));
    }

    private static String readFirstLine(final Path file)
    {
        try
        {
            final List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return lines.isEmpty() ? "" : lines.get(0).trim();
        }
        catch (final IOException | RuntimeException e)
        {
            return "";
        }
    }

    /** @return {@code text} trimmed, with the characters a key separates fields by made plain. */
    private static String clean(final String text)
    {
        return text.trim().replaceAll("\\s+", " ").replace(';', ',').replace('=', '-');
    }
}
