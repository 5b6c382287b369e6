package org.coedge.engine.cli;

import java.util.Locale;

import org.coedge.planner.ClusterModel;
import org.coedge.planner.FuseChoice;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LinkModel;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanEstimate;
import org.coedge.planner.Planner;

import picocli.CommandLine.Option;

/**
 * The {@code --fuse N|auto} option and the cluster assumptions {@code auto} plans with, shared by {@code coedge plan}
 * and {@code coedge run --split}. With {@code auto} the planner estimates every fusion depth up to
 * {@code --max-fuse} with a lock-step model (slowest device's compute plus slowest receive per stage) and keeps the
 * fastest. Until devices report measured rates, device {@code d} is assumed to run {@code --device-gflops} times its
 * share relative to the largest share, over links of {@code --link-mbps} and {@code --link-latency-us} per message.
 */
final class FuseOptions
{
    @Option(names = "--fuse", defaultValue = "1", description = "Layers per fused block: 1 exchanges halos after " +
        "every layer (default); N > 1 computes blocks of up to N layers on a wider input without exchange; auto " +
        "picks the depth with the lowest estimated latency.")
    String fuse;

    @Option(names = "--max-fuse", defaultValue = "8", description = "With --fuse auto: deepest block tried " +
        "(default ${DEFAULT-VALUE}).")
    int maxFuse;

    @Option(names = "--device-gflops", defaultValue = "50", description = "With --fuse auto: GFLOP/s of the device " +
        "with the largest share; the others in proportion to their shares (default ${DEFAULT-VALUE}).")
    double deviceGflops;

    @Option(names = "--link-mbps", defaultValue = "1000", description = "With --fuse auto: link rate in Mbit/s " +
        "(default ${DEFAULT-VALUE}).")
    double linkMbps;

    @Option(names = "--link-latency-us", defaultValue = "100", description = "With --fuse auto: cost of one " +
        "message in microseconds (default ${DEFAULT-VALUE}).")
    double linkLatencyUs;

    /** The plan chosen and how: the depth, and for auto the estimate. */
    record Chosen(Plan plan, int depth, boolean auto, PlanEstimate estimate)
    {
        String describe()
        {
            return auto ? String.format(Locale.ROOT, "fuse auto -> %d (estimated %.3f ms)", depth,
                estimate.totalNs() / 1e6) : "fuse " + depth;
        }
    }

    /**
     * @throws IllegalArgumentException naming the option when a value is out of range.
     */
    Chosen choose(final LayerGraph graph, final double[] shares)
    {
        if ("auto".equalsIgnoreCase(fuse))
        {
            if (maxFuse < 1)
            {
                throw new IllegalArgumentException("--max-fuse must be >= 1: " + maxFuse);
            }
            final FuseChoice choice = Planner.autoFuse(graph, shares, cluster(shares), maxFuse);
            return new Chosen(choice.plan(), choice.fuseDepth(), true, choice.estimate());
        }
        final int depth;
        try
        {
            depth = Integer.parseInt(fuse.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("--fuse must be a number >= 1 or 'auto': " + fuse);
        }
        if (depth < 1)
        {
            throw new IllegalArgumentException("--fuse must be >= 1 or 'auto': " + fuse);
        }
        return new Chosen(Planner.uniform(graph, shares, depth), depth, false, null);
    }

    /**
     * @return the depth {@code text} names, or {@code auto} when it says "auto".
     * @throws IllegalArgumentException unless it is a number >= 1 or "auto".
     */
    static int parseDepth(final String text, final int auto)
    {
        if ("auto".equalsIgnoreCase(text.trim()))
        {
            return auto;
        }
        final int depth;
        try
        {
            depth = Integer.parseInt(text.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("--fuse must be a number >= 1 or 'auto': " + text);
        }
        if (depth < 1)
        {
            throw new IllegalArgumentException("--fuse must be >= 1 or 'auto': " + text);
        }
        return depth;
    }

    /** @return the adaptive planner's view of {@code devices} devices on links of --link-mbps / --link-latency-us. */
    LinkModel links(final int devices)
    {
        checkLinks();
        return LinkModel.uniform(devices, linkMbps * 1e6 / 8, linkLatencyUs * 1e3, 0);
    }

    private void checkLinks()
    {
        if (!(linkMbps > 0) || Double.isInfinite(linkMbps))
        {
            throw new IllegalArgumentException("--link-mbps must be > 0: " + linkMbps);
        }
        if (!(linkLatencyUs >= 0) || Double.isInfinite(linkLatencyUs))
        {
            throw new IllegalArgumentException("--link-latency-us must be >= 0: " + linkLatencyUs);
        }
    }

    private ClusterModel cluster(final double[] shares)
    {
        if (!(deviceGflops > 0) || Double.isInfinite(deviceGflops))
        {
            throw new IllegalArgumentException("--device-gflops must be > 0: " + deviceGflops);
        }
        checkLinks();
        double largest = 0;
        for (final double s : shares)
        {
            largest = Math.max(largest, s);
        }
        final double[] flopsPerSecond = new double[shares.length];
        for (int d = 0; d < shares.length; d++)
        {
            // a device with no share computes nothing; any positive rate keeps the model valid
            flopsPerSecond[d] = deviceGflops * 1e9 * Math.max(shares[d] / largest, 1e-6);
        }
        return ClusterModel.of(flopsPerSecond, linkMbps * 1e6 / 8, linkLatencyUs * 1e3);
    }
}
