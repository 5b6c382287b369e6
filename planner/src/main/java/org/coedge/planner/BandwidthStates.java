package org.coedge.planner;

/**
 * What the coordinator remembers per link rate: a configuration (a plan, an exit; whatever {@code T} the caller
 * keeps) for each bandwidth state seen before, so that when the link returns to a rate it had, the configuration
 * found for it then is used again without a new search.
 * <p>
 * A state is a bin of rates spaced evenly in the log: bin {@code b} holds {@code [ratio^b, ratio^(b+1))} bytes per
 * second (with the default ratio 2: ..., 4-8 MB/s, 8-16 MB/s, ...), for rates from 1 byte/s to 1 PB/s (outside
 * that, the end bins). The current state has hysteresis: a rate stays in it while it lies within
 * {@code hysteresis} of a bin's width (in the log) outside its edges, so a level that sits on an edge and wanders
 * across it keeps its state; a rate further out moves to the bin it falls in, unless that bin has nothing
 * remembered and the rate is within the hysteresis of a neighbouring bin that has (a link back at the rate it had,
 * measured a little differently, is the state it had). {@link #stateOf}, {@link #lookup} and
 * {@link #remember} all resolve the state that way, so what is remembered for a rate is what a lookup of the same
 * rate finds.
 * <p>
 * Pure: no clock, no I/O. {@link #lookup} allocates nothing. Not thread-safe: the caller's thread (the
 * coordinator's, with {@link BandwidthChangeDetector}).
 */
public final class BandwidthStates<T>
{
    public static final double DEFAULT_RATIO = 2.0;
    public static final double DEFAULT_HYSTERESIS = 0.25;
    private static final double MAX_BYTES_PER_SECOND = 1e15;

    private final double ratio;
    private final double logRatio;
    private final double hysteresis;
    private final Object[] configs;
    private int current = -1;
    private int remembered;

    /** Bins of a factor {@value #DEFAULT_RATIO}, hysteresis {@value #DEFAULT_HYSTERESIS} of a bin. */
    public BandwidthStates()
    {
        this(DEFAULT_RATIO, DEFAULT_HYSTERESIS);
    }

    /**
     * @param ratio      the factor between a bin's edges, in [1.1, 100].
     * @param hysteresis how far past its edges the current state holds, as a fraction of a bin's width in the log,
     *                   in [0, 0.5).
     */
    public BandwidthStates(final double ratio, final double hysteresis)
    {
        if (!(ratio >= 1.1 && ratio <= 100) || !(hysteresis >= 0 && hysteresis < 0.5))
        {
            throw new IllegalArgumentException("bandwidth states need a bin ratio in [1.1, 100] and a hysteresis in " +
                "[0, 0.5): ratio=" + ratio + " hysteresis=" + hysteresis);
        }
        this.ratio = ratio;
        this.logRatio = Math.log(ratio);
        this.hysteresis = hysteresis;
        this.configs = new Object[bin(MAX_BYTES_PER_SECOND) + 1];
    }

    /** @return the bin {@code bytesPerSecond} falls in, without hysteresis (clamped to the range; NaN to bin 0). */
    public int bin(final double bytesPerSecond)
    {
        if (!(bytesPerSecond > 1))
        {
            return 0;
        }
        final double b = Math.floor(Math.log(Math.min(bytesPerSecond, MAX_BYTES_PER_SECOND)) / logRatio);
        return configs == null ? (int)b : Math.min(configs.length - 1, (int)b);
    }

    /**
     * Moves the current state to the one {@code bytesPerSecond} belongs to, with hysteresis.
     *
     * @return the current state (a bin).
     */
    public int stateOf(final double bytesPerSecond)
    {
        final int b = bin(bytesPerSecond);
        final double x = Math.log(Math.max(1, Math.min(bytesPerSecond, MAX_BYTES_PER_SECOND))) / logRatio;
        if (current >= 0 && b != current && near(x, current))
        {
            return current;
        }
        // a rate just past the edge of a remembered state, into one with nothing remembered, is that state again
        final int neighbour = x - b < 0.5 ? b - 1 : b + 1;
        if (configs[b] == null && config(neighbour) != null && near(x, neighbour))
        {
            current = neighbour;
            return current;
        }
        current = b;
        return current;
    }

    /** @return whether {@code x} (a rate's log in bins) lies in {@code state}'s bin or within the hysteresis of it. */
    private boolean near(final double x, final int state)
    {
        return x >= state - hysteresis && x < state + 1 + hysteresis;
    }

    /**
     * @return the configuration remembered for the state of {@code bytesPerSecond} (which becomes the current
     * state), or null when none is.
     */
    public T lookup(final double bytesPerSecond)
    {
        return config(stateOf(bytesPerSecond));
    }

    /** Remembers {@code config} (not null) for the state of {@code bytesPerSecond}, which becomes the current one. */
    public void remember(final double bytesPerSecond, final T config)
    {
        if (config == null)
        {
            throw new IllegalArgumentException("a remembered configuration is not null");
        }
        final int s = stateOf(bytesPerSecond);
        if (configs[s] == null)
        {
            remembered++;
        }
        configs[s] = config;
    }

    /**
     * @return the configuration remembered for the state whose bin is nearest {@code bytesPerSecond} in the log
     * (its middle within a factor {@code maxRatio}), or null; the current state does not move. For rates measured
     * by different means (a probe, a request's transfer) that disagree by more than a bin on the same link.
     */
    public T nearest(final double bytesPerSecond, final double maxRatio)
    {
        final double x = Math.log(Math.max(1, Math.min(bytesPerSecond, MAX_BYTES_PER_SECOND))) / logRatio;
        int best = -1;
        double bestDistance = Math.log(maxRatio) / logRatio;
        for (int b = 0; b < configs.length; b++)
        {
            final double distance = Math.abs(x - (b + 0.5));
            if (configs[b] != null && distance <= bestDistance)
            {
                best = b;
                bestDistance = distance;
            }
        }
        return best < 0 ? null : config(best);
    }

    /** @return the configuration remembered for {@code state}, or null. */
    @SuppressWarnings("unchecked")
    public T config(final int state)
    {
        return state >= 0 && state < configs.length ? (T)configs[state] : null;
    }

    /** @return the current state, -1 before the first rate. */
    public int current()
    {
        return current;
    }

    /** @return how many states have a configuration. */
    public int remembered()
    {
        return remembered;
    }

    /** @return the lowest rate of {@code state}'s bin, bytes per second. */
    public double lowBytesPerSecond(final int state)
    {
        return Math.pow(ratio, state);
    }

    /** @return the rate where {@code state}'s bin ends, bytes per second. */
    public double highBytesPerSecond(final int state)
    {
        return Math.pow(ratio, state + 1);
    }

    /** Forgets every configuration and the current state. */
    public void clear()
    {
        java.util.Arrays.fill(configs, null);
        remembered = 0;
        current = -1;
    }

    public String toString()
    {
        return "BandwidthStates{ratio=" + ratio + ", hysteresis=" + hysteresis + ", current=" + current +
            ", remembered=" + remembered + "}";
    }
}
