package org.coedge.engine.cli;

import java.util.Locale;

import org.coedge.engine.exec.Lowering;

import picocli.CommandLine.Option;

/**
 * Kernel choices shared by every command that prepares a model. {@code --winograd off} sets the process-wide
 * {@link Lowering#WINOGRAD_PROPERTY}, so that every model this process prepares (alone, split, or as a device of a
 * cluster) uses the same convolution kernels, and workers started by {@code coedge demo} inherit it.
 */
final class KernelOptions
{
    @Option(names = "--winograd", paramLabel = "on|off", defaultValue = "on",
        description = "Winograd F(4x4, 3x3) for the 3x3 stride-1 convolutions where it is faster (default: on). " +
            "Every device of a cluster must use the same setting.")
    String winograd;

    /** Applies the choice to this process. */
    void apply()
    {
        final String v = winograd.trim().toLowerCase(Locale.ROOT);
        if (!v.equals("on") && !v.equals("off"))
        {
            throw new IllegalArgumentException("--winograd must be on or off: " + winograd);
        }
        if (v.equals("off") || System.getProperty(Lowering.WINOGRAD_PROPERTY) == null)
        {
            System.setProperty(Lowering.WINOGRAD_PROPERTY, String.valueOf(v.equals("on")));
        }
    }
}
