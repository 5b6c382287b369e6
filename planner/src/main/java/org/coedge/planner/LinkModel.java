package org.coedge.planner;

import java.util.Arrays;

/**
 * What the planner assumes about the network between the devices of a plan: each device's link into the switch,
 * one rate each way in bytes per second (a device's sends share its uplink, its receives its downlink, as on a
 * switched LAN or the testbed's rate-limited veths), a one-way latency per pair of devices, and what sending costs
 * the sender's CPU (a fixed cost per message plus a cost per byte: the copy into the transport's buffers).
 * <p>
 * Built by the engine's coordinator from its data-path probes (and by tests); {@link #observeTransfer} refines a
 * device's rate from transfers measured in requests. Mutated only by the coordinator's thread; {@link #copy} for
 * another.
 */
public final class LinkModel
{
    private final double[] upBytesPerSecond;
    private final double[] downBytesPerSecond;
    private final double[][] latencyNs;
    private double sendNsPerMessage;
    private double sendNsPerByte;

    private LinkModel(final int devices)
    {
        upBytesPerSecond = new double[devices];
        downBytesPerSecond = new double[devices];
        latencyNs = new double[devices][devices];
    }

    /**
     * Every device with the same link: {@code bytesPerSecond} each way and {@code latencyNs} one way between any
     * two; sending costs {@code sendNsPerMessage} of the sender's CPU per message and nothing per byte.
     */
    public static LinkModel uniform(
        final int devices, final double bytesPerSecond, final double latencyNs, final double sendNsPerMessage)
    {
        if (devices < 1)
        {
            throw new IllegalArgumentException("need at least one device: " + devices);
        }
        final LinkModel m = new LinkModel(devices);
        for (int d = 0; d < devices; d++)
        {
            m.device(d, bytesPerSecond, bytesPerSecond);
            for (int e = 0; e < devices; e++)
            {
                m.latency(d, e, d == e ? 0 : latencyNs);
            }
        }
        m.sendCost(sendNsPerMessage, 0);
        return m;
    }

    /** Sets device {@code d}'s link rates, each finite and {@code > 0}. */
    public LinkModel device(final int d, final double upBytesPerSecond, final double downBytesPerSecond)
    {
        check("up rate of device " + d, upBytesPerSecond, false);
        check("down rate of device " + d, downBytesPerSecond, false);
        this.upBytesPerSecond[d] = upBytesPerSecond;
        this.downBytesPerSecond[d] = downBytesPerSecond;
        return this;
    }

    /** Sets the one-way latency between {@code a} and {@code b} (both ways), finite and {@code >= 0}. */
    public LinkModel latency(final int a, final int b, final double ns)
    {
        check("latency " + a + "-" + b, ns, true);
        latencyNs[a][b] = ns;
        latencyNs[b][a] = ns;
        return this;
    }

    /** Sets what a send costs the sender's CPU. */
    public LinkModel sendCost(final double nsPerMessage, final double nsPerByte)
    {
        check("send cost per message", nsPerMessage, true);
        check("send cost per byte", nsPerByte, true);
        sendNsPerMessage = nsPerMessage;
        sendNsPerByte = nsPerByte;
        return this;
    }

    public int deviceCount()
    {
        return upBytesPerSecond.length;
    }

    public double upBytesPerSecond(final int d)
    {
        return upBytesPerSecond[d];
    }

    public double downBytesPerSecond(final int d)
    {
        return downBytesPerSecond[d];
    }

    public double latencyNs(final int a, final int b)
    {
        return latencyNs[a][b];
    }

    /** @return what sending one message of {@code bytes} costs the sender's CPU. */
    public double sendNs(final long bytes)
    {
        return sendNsPerMessage + sendNsPerByte * bytes;
    }

    /**
     * Takes one transfer measured in a request: {@code bytes} from {@code from} reached {@code to} after
     * {@code ns} (from the send to the arrival, less the latency). Moves both devices' rates a quarter of the way
     * towards what it shows, when it shows a slower link than assumed (a transfer can look slow because the
     * receiver was busy, never fast, so faster measurements only come from probes).
     */
    public void observeTransfer(final int from, final int to, final long bytes, final long ns)
    {
        if (bytes < 64 * 1024 || ns <= 0 || from == to)
        {
            return;
        }
        final double seen = bytes / (Math.max(1, ns - latencyNs[from][to]) * 1e-9);
        if (seen < upBytesPerSecond[from] && seen < downBytesPerSecond[to])
        {
            upBytesPerSecond[from] += 0.25 * (seen - upBytesPerSecond[from]);
            downBytesPerSecond[to] += 0.25 * (seen - downBytesPerSecond[to]);
        }
    }

    /** @return an independent copy. */
    public LinkModel copy()
    {
        final LinkModel m = new LinkModel(deviceCount());
        System.arraycopy(upBytesPerSecond, 0, m.upBytesPerSecond, 0, deviceCount());
        System.arraycopy(downBytesPerSecond, 0, m.downBytesPerSecond, 0, deviceCount());
        for (int d = 0; d < deviceCount(); d++)
        {
            System.arraycopy(latencyNs[d], 0, m.latencyNs[d], 0, deviceCount());
        }
        m.sendNsPerMessage = sendNsPerMessage;
        m.sendNsPerByte = sendNsPerByte;
        return m;
    }

    /** @return a model of the devices {@code devices[i]} of this one, as devices {@code 0..n-1}. */
    public LinkModel select(final int[] devices)
    {
        final LinkModel m = new LinkModel(devices.length);
        for (int i = 0; i < devices.length; i++)
        {
            m.upBytesPerSecond[i] = upBytesPerSecond[devices[i]];
            m.downBytesPerSecond[i] = downBytesPerSecond[devices[i]];
            for (int j = 0; j < devices.length; j++)
            {
                m.latencyNs[i][j] = latencyNs[devices[i]][devices[j]];
            }
        }
        m.sendNsPerMessage = sendNsPerMessage;
        m.sendNsPerByte = sendNsPerByte;
        return m;
    }

    private static void check(final String what, final double v, final boolean zeroAllowed)
    {
        if (Double.isNaN(v) || Double.isInfinite(v) || v < 0 || (!zeroAllowed && v == 0))
        {
            throw new IllegalArgumentException(what + " must be finite and " + (zeroAllowed ? ">= 0" : "> 0") +
                ": " + v);
        }
    }

    public String toString()
    {
        return "LinkModel{up=" + Arrays.toString(upBytesPerSecond) + " down=" + Arrays.toString(downBytesPerSecond) +
            " sendNsPerMessage=" + sendNsPerMessage + "}";
    }
}
