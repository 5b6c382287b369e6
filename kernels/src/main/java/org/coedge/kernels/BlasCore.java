package org.coedge.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas;

/**
 * Which of OpenBLAS's per-core kernel sets this process runs, and whether the environment forced an older one than
 * the CPU supports. OpenBLAS built with DYNAMIC_ARCH picks a kernel table ({@code gotoblas_HASWELL},
 * {@code gotoblas_SKYLAKEX}, ...) at load time, from the CPU or from {@code OPENBLAS_CORETYPE}, and keeps a pointer to
 * it in its global {@code gotoblas}. The Bytedeco presets do not map {@code openblas_get_corename()}, so the core is
 * named by finding which table that pointer holds: a read of two exported symbols, no native call. A build without
 * DYNAMIC_ARCH has one kernel set, named by its configuration.
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

    /** Kernel tables of OpenBLAS's dynamic builds: symbol suffix, the name OpenBLAS prints, the ISA it needs. */
    private static final Object[][] CORES = {
        {"SAPPHIRERAPIDS", "SapphireRapids", Isa.AVX512}, {"COOPERLAKE", "Cooperlake", Isa.AVX512},
        {"SKYLAKEX", "SkylakeX", Isa.AVX512}, {"ZEN", "Zen", Isa.AVX2}, {"HASWELL", "Haswell", Isa.AVX2},
        {"EXCAVATOR", "Excavator", Isa.AVX2}, {"STEAMROLLER", "Steamroller", Isa.AVX},
        {"PILEDRIVER", "Piledriver", Isa.AVX}, {"BULLDOZER", "Bulldozer", Isa.AVX},
        {"SANDYBRIDGE", "Sandybridge", Isa.AVX}, {"BOBCAT", "Bobcat", Isa.SSE}, {"NANO", "Nano", Isa.SSE},
        {"BARCELONA", "Barcelona", Isa.SSE}, {"OPTERON_SSE3", "Opteron(SSE3)", Isa.SSE},
        {"OPTERON", "Opteron", Isa.SSE}, {"ATHLON", "Athlon", Isa.SSE}, {"NEHALEM", "Nehalem", Isa.SSE},
        {"DUNNINGTON", "Dunnington", Isa.SSE}, {"PENRYN", "Penryn", Isa.SSE}, {"CORE2", "Core2", Isa.SSE},
        {"ATOM", "Atom", Isa.SSE}, {"BANIAS", "Banias", Isa.SSE}, {"PRESCOTT", "Prescott", Isa.SSE},
        {"NORTHWOOD", "Northwood", Isa.SSE}, {"COPPERMINE", "Coppermine", Isa.SSE}, {"KATMAI", "Katmai", Isa.SSE},
        {"ARMV8SVE", "armv8sve", Isa.OTHER}, {"A64FX", "a64fx", Isa.OTHER}, {"NEOVERSEV2", "neoversev2", Isa.OTHER},
        {"NEOVERSEV1", "neoversev1", Isa.OTHER}, {"NEOVERSEN2", "neoversen2", Isa.OTHER},
        {"NEOVERSEN1", "neoversen1", Isa.OTHER}, {"CORTEXA710", "cortexa710", Isa.OTHER},
        {"CORTEXA510", "cortexa510", Isa.OTHER}, {"CORTEXX2", "cortexx2", Isa.OTHER},
        {"CORTEXX1", "cortexx1", Isa.OTHER}, {"CORTEXA76", "cortexa76", Isa.OTHER},
        {"CORTEXA73", "cortexa73", Isa.OTHER}, {"CORTEXA72", "cortexa72", Isa.OTHER},
        {"CORTEXA57", "cortexa57", Isa.OTHER}, {"CORTEXA55", "cortexa55", Isa.OTHER},
        {"CORTEXA53", "cortexa53", Isa.OTHER}, {"AMPERE1", "ampere1", Isa.OTHER}, {"VORTEX", "vortex", Isa.OTHER},
        {"TSV110", "tsv110", Isa.OTHER}, {"EMAG8180", "emag8180", Isa.OTHER}, {"FALKOR", "falkor", Isa.OTHER},
        {"THUNDERX3T110", "thunderx3t110", Isa.OTHER}, {"THUNDERX2T99", "thunderx2t99", Isa.OTHER},
        {"THUNDERX", "thunderx", Isa.OTHER}, {"ARMV8", "armv8", Isa.OTHER}};

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
            ") on a CPU with " + cpuIsa + "; GEMMs run slower than its native kernels (unset OPENBLAS_CORETYPE " +
            "and OPENBLAS_L2_SIZE to measure speed)";
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
        Loader.load(openblas.class);
        final String env = System.getenv("OPENBLAS_CORETYPE");
        final String forcedBy = env == null || env.isBlank() ? null : env.trim();
        final Isa cpu = cpuIsa();
        final Pointer current = Loader.addressof("gotoblas");
        if (current != null)
        {
            final long table = new LongPointer(current).get(0);
            for (final Object[] core : CORES)
            {
                final Pointer candidate = Loader.addressof("gotoblas_" + core[0]);
                if (candidate != null && candidate.address() == table)
                {
                    return new BlasCore((String)core[1], (Isa)core[2], forcedBy, cpu);
                }
            }
            return new BlasCore("unknown (dynamic)", Isa.OTHER, forcedBy, cpu);
        }
        return new BlasCore(openblas.OPENBLAS_CHAR_CORENAME + " (single-target build)", Isa.OTHER, forcedBy, cpu);
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
