package org.coedge.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * The kernel set is named from OpenBLAS's own dispatch table, whichever the CPU or the environment picked: with
 * {@code OPENBLAS_CORETYPE} set it must be that core, without it a known core of this architecture, and a warning
 * appears only when the variable is set.
 */
class BlasCoreTest
{
    @Test
    void shouldNameTheCoreOpenBlasRuns()
    {
        final BlasCore core = BlasCore.current();
        final String env = System.getenv("OPENBLAS_CORETYPE");
        final String arch = System.getProperty("os.arch");
        if (arch.equals("amd64") || arch.equals("aarch64"))
        {
            assertFalse(core.name().startsWith("unknown"), core.describe());
        }
        if (env == null || env.isBlank())
        {
            assertNull(core.forcedBy());
            assertNull(core.warning());
            assertEquals(core.name(), core.describe());
        }
        else
        {
            assertEquals(env.trim(), core.forcedBy());
            assertEquals(env.trim().toLowerCase(Locale.ROOT), core.name().toLowerCase(Locale.ROOT), core.describe());
            assertTrue(core.describe().contains("OPENBLAS_CORETYPE=" + env.trim()), core.describe());
        }
        assertEquals(core.name(), Blas.coreName());
    }
}
