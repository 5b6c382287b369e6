package org.coedge.planner;

import java.util.Arrays;

/**
 * What the planner assumes about the devices and the network when it estimates a plan's latency: per device a
 * compute rate in FLOP/s, and for every link between devices one bandwidth in bytes per second and one fixed cost per
 * message in nanoseconds. Links are taken to be alike and independent (a switched LAN), so a device's exchange time
 * depends only on what it receives.
 * <p>
 * Values are validated once by {@link #of}; built by the engine's coordinator from its measurements (and by tests);
 * immutable, so safe on any thread.
 */
public final class ClusterModel
{
    private final double[] flopsPerSecond;
    private final double linkBytesPerSecond;
    private final double messageLatencyNs;

    private ClusterModel(final double[] flopsPerSecond, final double linkBytesPerSecond, final double messageLatencyNs)
    {
        this.flopsPerSecond = flopsPerSecond;
        this.linkBytesPerSecond = linkBytesPerSecond;
        this.messageLatencyNs = messageLatencyNs;
    }

    /**
     * @param flopsPerSecond     compute rate per device, each finite and {@code > 0}; at least one device. Copied.
     * @param linkBytesPerSecond bandwidth of every link, finite and {@code > 0}.
     * @param messageLatencyNs   fixed cost of every message, finite and {@code >= 0} (0 for an in-process exchange).
     * @throws IllegalArgumentException naming the first value out of range.
     */
    public static ClusterModel of(
        final double[] flopsPerSecond, final double linkBytesPerSecond, final double messageLatencyNs)
    {
        if (flopsPerSecond == null || flopsPerSecond.length == 0)
        {
            throw new IllegalArgumentException("cluster needs at least one device, got " +
                (flopsPerSecond == null ? "null" : "0") + " flopsPerSecond values");
        }
        for (int d = 0; d < flopsPerSecond.length; d++)
        {
            if (!(flopsPerSecond[d] > 0) || Double.isInfinite(flopsPerSecond[d]))
            {
                throw new IllegalArgumentException("flopsPerSecond of device " + d + " must be finite and > 0: " +
                    flopsPerSecond[d]);
            }
        }
        if (!(linkBytesPerSecond > 0) || Double.isInfinite(linkBytesPerSecond))
        {
            throw new IllegalArgumentException("linkBytesPerSecond must be finite and > 0: " + linkBytesPerSecond);
        }
        if (!(messageLatencyNs >= 0) || Double.isInfinite(messageLatencyNs))
        {
            throw new IllegalArgumentException("messageLatencyNs must be finite and >= 0: " + messageLatencyNs);
        }
        return new ClusterModel(flopsPerSecond.clone(), linkBytesPerSecond, messageLatencyNs);
    }

    /**
     * A cluster of {@code deviceCount} devices that all compute at {@code flopsPerSecond}; as {@link #of}.
     */
    public static ClusterModel uniform(
        final int deviceCount, final double flopsPerSecond, final double linkBytesPerSecond,
        final double messageLatencyNs)
    {
        if (deviceCount < 1)
        {
            throw new IllegalArgumentException("deviceCount must be >= 1: " + deviceCount);
        }
        final double[] rates = new double[deviceCount];
        Arrays.fill(rates, flopsPerSecond);
        return of(rates, linkBytesPerSecond, messageLatencyNs);
    }

    public int deviceCount()
    {
        return flopsPerSecond.length;
    }

    public double flopsPerSecond(final int device)
    {
        return flopsPerSecond[device];
    }

    public double linkBytesPerSecond()
    {
        return linkBytesPerSecond;
    }

    public double messageLatencyNs()
    {
        return messageLatencyNs;
    }

    public String toString()
    {
        return "ClusterModel{flopsPerSecond=" + Arrays.toString(flopsPerSecond) + " linkBytesPerSecond=" +
            linkBytesPerSecond + " messageLatencyNs=" + messageLatencyNs + "}";
    }
}
