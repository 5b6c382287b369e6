package org.coedge.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.global.openblas_full;

/**
 * Which of OpenBLAS's per-core kernel sets this process runs, and whether the environment forced an older one than
 * the CPU supports. OpenBLAS built with DYNAMIC_ARCH picks its kernels at load time, from the CPU or from
 * {@code OPENBLAS_CORETYPE}, and names them with {@code openblas_get_corename()}; of the Bytedeco presets only
 * {@code openblas_full} maps that function, so it is loaded (one more JNI library over the same {@code libopenblas})
 * the first time a core is asked for. The instruction set each core's kernels need is known from its name.
 * <p>
 * Cold path: computed once, on first use, from any thread.
 */
public final class BlasCore
{
    /** x86-64 instruction-set levels, lowest first; a kernel set needs the level it is named with. */
    private enum Isa
    {
        SSE, AVX, AVX2, AVX512, OTHER
    }

    /** OpenBLAS's x86-64 core names (as it prints them, compared ignoring case) and the ISA their kernels need. */
    private static final Object[][] X86_CORES = {
        {"SapphireRapids", Isa.AVX512}, {"Cooperlake", Isa.AVX512}, {"SkylakeX", Isa.AVX512},
        {"Zen", Isa.AVX2}, {"Haswell", Isa.AVX2}, {"Excavator", Isa.AVX2},
        {"Steamroller", Isa.AVX}, {"Piledriver", Isa.AVX}, {"Bulldozer", Isa.AVX}, {"Sandybridge", Isa.AVX}};

    private static final BlasCore CURRENT = detect();

    private final String name;
    private final Isa isa;
    private final String forcedBy;
    private final Isa cpuIsa;

    private BlasCore(final String name, final Isa isa, final String forcedBy, final Isa cpuIsa)
    {
        this.name = name;
        this.isa = isa;
        this.forcedBy = forcedBy;
        this.cpuIsa = cpuIsa;
    }

    /** @return the kernel set of this process (OpenBLAS is loaded if it was not). */
    public static BlasCore current()
    {
        return CURRENT;
    }

    /** @return the core name as OpenBLAS prints it, e.g. {@code Haswell}, {@code Cooperlake}, {@code cortexa72}. */
    public String name()
    {
        return name;
    }

    /** @return the value of {@code OPENBLAS_CORETYPE}, or {@code null} when the environment does not set it. */
    public String forcedBy()
    {
        return forcedBy;
    }

    /**
     * @return one line saying that {@code OPENBLAS_CORETYPE} forces kernels older than the CPU supports, or
     * {@code null} when it does not (unset, or no older than the CPU's best, or not an x86-64 CPU).
     */
    public String warning()
    {
        if (forcedBy == null || isa == Isa.OTHER || cpuIsa == Isa.OTHER || isa.compareTo(cpuIsa) >= 0)
        {
            return null;
        }
        return "warning: OPENBLAS_CORETYPE=" + forcedBy + " forces OpenBLAS's " + name + " kernels (" + isa +
            ") on a CPU with " + cpuIsa + ": speed figures are those kernels', not this CPU's best (unset " +
            "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE to measure the CPU's own)";
    }

    /** @return e.g. {@code Haswell (forced by OPENBLAS_CORETYPE=Haswell)} or {@code Cooperlake}. */
    public String describe()
    {
        return name + (forcedBy == null ? "" : " (forced by OPENBLAS_CORETYPE=" + forcedBy + ")");
    }

    @Override
    public String toString()
    {
        return describe();
    }

    private static BlasCore detect()
    {
        final String env = System.getenv("OPENBLAS_CORETYPE");
        final String forcedBy = env == null || env.isBlank() ? null : env.trim();
        String name = "unknown";
        try
        {
            Loader.load(openblas.class);
            Loader.load(openblas_full.class);
            final BytePointer p = openblas_full.openblas_get_corename();
            if (p != null && !p.isNull() && !p.getString().isBlank())
            {
                name = p.getString().trim();
            }
        }
        catch (final UnsatisfiedLinkError | RuntimeException e)
        {
            name = "unknown (" + e.getClass().getSimpleName() + ")";
        }
        return new BlasCore(name, isaOf(name), forcedBy, cpuIsa());
    }

    /** @return the ISA an x86-64 core's kernels need; SSE for older x86-64 cores; OTHER off x86-64. */
    private static Isa isaOf(final String name)
    {
        for (final Object[] core : X86_CORES)
        {
            if (((String)core[0]).equalsIgnoreCase(name))
            {
                return (Isa)core[1];
            }
        }
        final String arch = System.getProperty("os.arch", "");
        return (arch.equals("amd64") || arch.equals("x86_64")) && !name.startsWith("unknown") ? Isa.SSE : Isa.OTHER;
    }

    /** @return the best x86-64 level the CPU's flags offer (Linux {@code /proc/cpuinfo}), OTHER elsewhere. */
    private static Isa cpuIsa()
    {
        final String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!arch.equals("amd64") && !arch.equals("x86_64"))
        {
            return Isa.OTHER;
        }
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
            {
                if (line.startsWith("flags"))
                {
                    final Set<String> flags = new HashSet<>(Arrays.asList(
                        line.substring(line.indexOf(':') + 1).trim().split("\\s+")));
                    if (flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl"))
                    {
                        return Isa.AVX512;
                    }
                    if (flags.contains("avx2") && flags.contains("fma"))
                    {
                        return Isa.AVX2;
                    }
                    return flags.contains("avx") ? Isa.AVX : Isa.SSE;
                }
            }
        }
        catch (final IOException | RuntimeException e)
        {
            return Isa.OTHER;
        }
        return Isa.OTHER;
    }
}
