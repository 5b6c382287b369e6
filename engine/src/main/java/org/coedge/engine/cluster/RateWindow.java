package org.coedge.engine.cluster;

import java.util.Arrays;

/**
 * The last few samples of one quantity measured during requests (a device's FLOPs per second of compute, the
 * coordinator's time for the head), and their median: one slow request (a page fault, a preempted core, a GC) moves
 * the median of several not at all, while a device that really got slower (a quota, thermal throttling) moves it
 * within half a window. Owned by the coordinator's thread; allocates nothing after construction.
 */
final class RateWindow
{
    private final double[] samples;
    private final double[] sorted;
    private int count;
    private int next;

    /** @param capacity how many of the latest samples the median is over. */
    RateWindow(final int capacity)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("capacity must be >= 1: " + capacity);
        }
        samples = new double[capacity];
        sorted = new double[capacity];
    }

    /** Adds a sample; a non-finite or negative one (a step that measured nothing) is ignored. */
    void add(final double sample)
    {
        if (!(sample >= 0) || Double.isInfinite(sample))
        {
            return;
        }
        samples[next] = sample;
        next = (next + 1) % samples.length;
        count = Math.min(count + 1, samples.length);
    }

    /** @return how many samples the median is over (at most the capacity). */
    int size()
    {
        return count;
    }

    /** @return the median of the samples held, or {@code fallback} when there are none. */
    double median(final double fallback)
    {
        if (count == 0)
        {
            return fallback;
        }
        System.arraycopy(samples, 0, sorted, 0, count);
        Arrays.sort(sorted, 0, count);
        final int mid = count / 2;
        return count % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
    }

    void clear()
    {
        count = 0;
        next = 0;
    }
}
