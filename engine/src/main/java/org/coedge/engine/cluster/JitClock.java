package org.coedge.engine.cluster;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * How long this JVM's JIT compilers have worked so far. A request that ran while they compiled ran on part of the
 * device's cores (under a CPU quota, on part of its budget: a plan's first requests on new row counts recompile
 * kernels for seconds at 0.45 cores), so its times say more of the compiler than of the device. Any thread.
 */
public final class JitClock
{
    private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();
    private static final boolean SUPPORTED = JIT != null && JIT.isCompilationTimeMonitoringSupported();

    private JitClock()
    {
    }

    /** @return true where the JVM tells how long its compilers worked; elsewhere {@link #compiledMs} stays 0. */
    public static boolean supported()
    {
        return SUPPORTED;
    }

    /** @return the compilers' accumulated time in ms, or 0 where the JVM does not tell it. */
    public static long compiledMs()
    {
        return SUPPORTED ? JIT.getTotalCompilationTime() : 0;
    }
}
