package org.coedge.engine.cluster;

import java.io.PrintWriter;

import io.aeron.Publication;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.Layer;
import org.coedge.planner.LayerGraph;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.sbe.Status;
import org.coedge.transport.sbe.WelcomeDecoder;

/**
 * A device profile as a welcome carries it: the worker sends its samples and device key with its answer to a join
 * ({@link #send}), the coordinator reads them back ({@link #decode}) and checks them against its own graph of the
 * model before it believes them ({@link #toProfile}): at most {@link ControlProxy#MAX_WELCOME_SAMPLES} samples, each
 * naming a computed layer of the graph, with {@code 1 <= rows <= } that layer's height and {@code ns >= 0}. A profile
 * that fails is dropped with one log line and the worker is planned from its calibrated rate alone.
 * <p>
 * SBE reads a message's groups and var data in order, so {@link #decode} reads the profile, the error text and the
 * device key in one go. Cold path; immutable once decoded.
 */
final class WelcomeProfile
{
    private final int[] layers;
    private final int[] rows;
    private final long[] ns;
    private final int count;
    private final int declared;
    private final String errorText;
    private final String deviceKey;
    private final String power;

    private WelcomeProfile(final int[] layers, final int[] rows, final long[] ns, final int count, final int declared,
        final String errorText, final String deviceKey, final String power)
    {
        this.layers = layers;
        this.rows = rows;
        this.ns = ns;
        this.count = count;
        this.declared = declared;
        this.errorText = errorText;
        this.deviceKey = deviceKey;
        this.power = power;
    }

    /**
     * Sends a welcome with {@code profile}'s samples and key (none if it is null) and the worker's power model
     * ({@code power}, its text; empty for none).
     */
    static int send(final ControlProxy proxy, final Publication to, final Status status, final double flopsPerSecond,
        final long memoryBytes, final byte[] modelSha256, final DeviceProfile profile, final String power,
        final String errorText)
    {
        if (profile == null)
        {
            return proxy.welcome(to, status, flopsPerSecond, memoryBytes, modelSha256, null, null, null, 0, "",
                power, errorText);
        }
        final int n = Math.min(profile.sampleCount(), ControlProxy.MAX_WELCOME_SAMPLES);
        final int[] layers = new int[n];
        final int[] rows = new int[n];
        final long[] ns = new long[n];
        for (int i = 0; i < n; i++)
        {
            layers[i] = profile.layer(i);
            rows[i] = profile.rows(i);
            ns[i] = profile.ns(i);
        }
        return proxy.welcome(to, status, flopsPerSecond, memoryBytes, modelSha256, layers, rows, ns, n,
            profile.deviceKey(), power, errorText);
    }

    /**
     * Reads the profile group, error text, device key and power model of {@code welcome} (in that order, as SBE
     * requires); a
     * group longer than a welcome may carry is read past, and remembered as too long.
     */
    static WelcomeProfile decode(final WelcomeDecoder welcome)
    {
        final WelcomeDecoder.ProfileDecoder group = welcome.profile();
        final int declared = group.count();
        final int n = Math.min(declared, ControlProxy.MAX_WELCOME_SAMPLES);
        final int[] layers = new int[n];
        final int[] rows = new int[n];
        final long[] ns = new long[n];
        for (int i = 0; i < declared; i++)
        {
            group.next();
            if (i < n)
            {
                layers[i] = group.layer();
                rows[i] = group.rows();
                ns[i] = group.ns();
            }
        }
        final String error = welcome.errorText();
        final String key = welcome.deviceKey();
        final String power = welcome.power();
        return new WelcomeProfile(layers, rows, ns, n, declared, error, key, power);
    }

    String errorText()
    {
        return errorText;
    }

    String deviceKey()
    {
        return deviceKey;
    }

    /** @return the power model the worker stated, as text; empty when it stated none. */
    String power()
    {
        return power;
    }

    int sampleCount()
    {
        return count;
    }

    /**
     * @param who names the sender in the log line.
     * @return the worker's profile with {@code flopsPerSecond} and {@code memoryBytes}; its calibrated rate alone
     * if it sent no samples or samples that do not fit {@code graph} (then logged); null if the rate or memory is
     * not a valid one.
     */
    DeviceProfile toProfile(final LayerGraph graph, final double flopsPerSecond, final long memoryBytes,
        final PrintWriter log, final String who)
    {
        if (!(flopsPerSecond > 0) || Double.isInfinite(flopsPerSecond) || memoryBytes <= 0)
        {
            log.println("coordinator: " + who + " sent no usable profile: rate " + flopsPerSecond + ", memory " +
                memoryBytes + " bytes");
            return null;
        }
        String bad = declared > count ? declared + " samples, more than a welcome may carry (" + count + ")" :
            check(graph, layers, rows, ns, count);
        if (bad == null && deviceKey.length() > 1024)
        {
            bad = "a device key of " + deviceKey.length() + " characters";
        }
        if (bad != null)
        {
            log.println("coordinator: ignoring the profile of " + who + ": " + bad);
            return DeviceProfile.calibratedOnly(deviceKey.length() > 1024 ? "" : deviceKey, flopsPerSecond,
                memoryBytes);
        }
        return DeviceProfile.of(deviceKey, flopsPerSecond, memoryBytes, layers, rows, ns);
    }

    /**
     * @return what is wrong with samples {@code [0, n)} for {@code graph}, or null if each names a layer that
     * computes (not a source) and has {@code 1 <= rows <= } its height and {@code ns >= 0}.
     */
    static String check(final LayerGraph graph, final int[] layers, final int[] rows, final long[] ns, final int n)
    {
        for (int i = 0; i < n; i++)
        {
            final int id = layers[i];
            if (id < 0 || id >= graph.layerCount() || graph.layer(id).isSource())
            {
                return "sample " + i + " names layer " + id + ", not a computed layer of the " +
                    graph.layerCount() + "-layer graph";
            }
            final Layer layer = graph.layer(id);
            if (rows[i] < 1 || rows[i] > layer.heightRows())
            {
                return "sample " + i + " has " + rows[i] + " rows of layer " + id + " (height " +
                    layer.heightRows() + ")";
            }
            if (ns[i] < 0)
            {
                return "sample " + i + " took " + ns[i] + " ns";
            }
        }
        return null;
    }
}
