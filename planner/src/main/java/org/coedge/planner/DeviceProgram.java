package org.coedge.planner;

import java.util.Collections;
import java.util.List;

/**
 * One device's compiled part of a {@link Plan}: the fixed list of {@link Step}s it executes per inference, in order,
 * and for every layer the rows of its output the device holds at some point (its window: rows it computes, plus
 * halo and redistributed rows it receives), so that its memory can be planned for those rows only.
 * <p>
 * Built by {@link StepCompiler}; immutable, so safe on any thread.
 */
public final class DeviceProgram
{
    private final int device;
    private final List<Step> steps;
    private final RowRange[] windows;
    private final boolean[] computes;
    private final RowRange[] computed; // units of each layer this device computes: rows, or features
    private final boolean[] features;
    private final long[] bytesToPeer;
    private final long[] bytesFromPeer;
    private final int[] messagesToPeer;
    private final int[] messagesFromPeer;

    DeviceProgram(final int device, final int devices, final List<Step> steps, final RowRange[] windows)
    {
        this.device = device;
        this.steps = Collections.unmodifiableList(steps);
        this.windows = windows.clone();
        this.computes = new boolean[windows.length];
        this.computed = new RowRange[windows.length];
        this.features = new boolean[windows.length];
        java.util.Arrays.fill(computed, RowRange.EMPTY);
        this.bytesToPeer = new long[devices];
        this.bytesFromPeer = new long[devices];
        this.messagesToPeer = new int[devices];
        this.messagesFromPeer = new int[devices];
        for (final Step s : steps)
        {
            switch (s.kind())
            {
                case COMPUTE:
                    computes[s.layer()] = true;
                    computed[s.layer()] = computed[s.layer()].hull(s.rows());
                    features[s.layer()] = s.features();
                    break;
                case SEND:
                    bytesToPeer[s.peer()] += s.bytes();
                    messagesToPeer[s.peer()]++;
                    break;
                case AWAIT:
                    bytesFromPeer[s.peer()] += s.bytes();
                    messagesFromPeer[s.peer()]++;
                    break;
                default:
                    throw new IllegalStateException("unknown step " + s);
            }
        }
    }

    public int device()
    {
        return device;
    }

    public List<Step> steps()
    {
        return steps;
    }

    /** @return rows of layer {@code layer}'s output this device holds (computed or received); may be empty. */
    public RowRange window(final int layer)
    {
        return windows[layer];
    }

    /** @return whether this device computes any rows of layer {@code layer} (so needs its weights). */
    public boolean computes(final int layer)
    {
        return computes[layer];
    }

    /**
     * @return the units of layer {@code layer} this device computes: rows, or output features where
     * {@link #computesFeatures} says so; empty if it computes none.
     */
    public RowRange computed(final int layer)
    {
        return computed[layer];
    }

    /**
     * @return whether this device computes a slice of layer {@code layer}'s output features (a FEATURES stage): it
     * then needs only that slice of the layer's weights.
     */
    public boolean computesFeatures(final int layer)
    {
        return features[layer];
    }

    /** @return payload bytes this device sends to {@code peer} per inference. */
    public long bytesTo(final int peer)
    {
        return bytesToPeer[peer];
    }

    /** @return payload bytes this device receives from {@code peer} per inference. */
    public long bytesFrom(final int peer)
    {
        return bytesFromPeer[peer];
    }

    /** @return payload bytes this device sends per inference, to all its peers. */
    public long bytesSent()
    {
        long sum = 0;
        for (final long b : bytesToPeer)
        {
            sum += b;
        }
        return sum;
    }

    /** @return payload bytes this device receives per inference, from all its peers. */
    public long bytesReceived()
    {
        long sum = 0;
        for (final long b : bytesFromPeer)
        {
            sum += b;
        }
        return sum;
    }

    public int messagesTo(final int peer)
    {
        return messagesToPeer[peer];
    }

    public int messagesFrom(final int peer)
    {
        return messagesFromPeer[peer];
    }

    /** @return payload bytes received per inference for {@code purpose}. */
    public long bytesReceived(final Step.Purpose purpose)
    {
        long sum = 0;
        for (final Step s : steps)
        {
            if (s.kind() == Step.Kind.AWAIT && s.purpose() == purpose)
            {
                sum += s.bytes();
            }
        }
        return sum;
    }

    /**
     * @return a program for the same device and windows with {@code newSteps} instead (for tests that plant ordering
     * bugs, and for tools).
     */
    public DeviceProgram withSteps(final List<Step> newSteps)
    {
        return new DeviceProgram(device, bytesToPeer.length, new java.util.ArrayList<>(newSteps), windows);
    }

    @Override
    public String toString()
    {
        return "DeviceProgram{device " + device + ", " + steps.size() + " steps}";
    }
}
