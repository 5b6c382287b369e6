package org.coedge.engine.cli;

import java.io.PrintWriter;

import org.coedge.kernels.BlasCore;

/**
 * What every command that computes says about the OpenBLAS kernels it ran: their core name (and whether
 * {@code OPENBLAS_CORETYPE} forced it), and one warning line when the forced core is older than the CPU supports.
 * Speed figures mean little without it. The warning goes to stderr so that {@code --json} output stays one object.
 */
final class BlasReport
{
    private BlasReport()
    {
    }

    /** @return {@code "blas_core": "...", "blas_core_forced": true|false}, for a JSON object. */
    static String jsonFields()
    {
        final BlasCore core = BlasCore.current();
        return "\"blas_core\": \"" + Json.escape(core.name()) + "\", \"blas_core_forced\": " +
            (core.forcedBy() != null);
    }

    /** Prints {@code openblas core: NAME} on {@code out}, and the warning, if any, on {@code err}. */
    static void print(final PrintWriter out, final PrintWriter err)
    {
        out.println("openblas core: " + BlasCore.current().describe());
        warn(err);
    }

    /** Prints the warning, if any, on {@code err}. */
    static void warn(final PrintWriter err)
    {
        final String warning = BlasCore.current().warning();
        if (warning != null)
        {
            err.println("coedge: " + warning);
            err.flush();
        }
    }
}
