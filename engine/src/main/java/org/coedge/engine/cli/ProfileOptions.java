package org.coedge.engine.cli;

import org.coedge.engine.cluster.DeviceFacts;
import org.coedge.engine.cluster.DeviceProfiler;
import org.coedge.engine.cluster.ProfileCache;

import picocli.CommandLine.Option;

/**
 * What a device of a cluster states about itself and how it profiles the model it loads: shared by
 * {@code coedge worker} and the coordinator side of {@code coedge run --peers}.
 */
final class ProfileOptions
{
    @Option(names = "--memory-mb", paramLabel = "N", description = "Memory this device may use, in MiB, which it " +
        "tells the coordinator (default: the cgroup's memory limit, else the machine's memory).")
    Long memoryMb;

    @Option(names = "--no-profile-cache", description = "Profile the model at every start instead of reading and " +
        "keeping profiles in the cache (-Dcoedge.profile.dir, else $XDG_CACHE_HOME/coedge/profiles, else " +
        "~/.cache/coedge/profiles).")
    boolean noProfileCache;

    /** @return the profiler of a device computing with {@code threads} threads. */
    DeviceProfiler profiler(final int threads)
    {
        if (memoryMb != null && (memoryMb <= 0 || memoryMb > Integer.MAX_VALUE))
        {
            throw new IllegalArgumentException("--memory-mb must be in [1, " + Integer.MAX_VALUE + "]: " + memoryMb);
        }
        final long bytes = memoryMb == null ? DeviceFacts.memoryLimitBytes() : memoryMb << 20;
        return new DeviceProfiler(threads, bytes, noProfileCache ? null : new ProfileCache(ProfileCache.defaultDir()));
    }
}
