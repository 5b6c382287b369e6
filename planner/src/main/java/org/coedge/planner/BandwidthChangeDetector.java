package org.coedge.planner;

/**
 * Online change-point detection on the bandwidth of one link: fed one sample at a time (bytes per second, from a
 * probe or from a transfer observed in a request, tagged with a timestamp or a request index), it says when the
 * link's rate has moved to a new level and what that level is.
 * <p>
 * <b>Method: a two-sided CUSUM on log-bandwidth with clipped scores and a robust running estimate of the noise.</b>
 * Each sample {@code x = ln(bytesPerSecond)} is scored {@code z = clip((x - level) / noise, -clip, clip)}; two sums
 * {@code up = max(0, up + z - allowance)} and {@code down = max(0, down - z - allowance)} alarm when one passes
 * {@code threshold}. Two departures from the textbook CUSUM, both for stalled transfers: a sample within
 * {@code allowance} of the level clears both sums (evidence of a change must come in an unbroken run, as a step's
 * does and scattered stalls do not), and a sample more than {@code clip} units below the level adds nothing to
 * {@code up} (it is as likely a stall as a slower link, so it is no evidence against a rise). Why this and not
 * Bayesian online change-point detection:
 * <ul>
 *     <li><b>The delay for a large step is fixed by construction.</b> A sample adds at most {@code clip - allowance}
 *     (3 with the defaults) to a sum, so with {@code 2 (clip - allowance) < threshold < 3 (clip - allowance)} (6 &lt;
 *     8 &lt; 9) any step of more than {@code clip} noise units (20x is about 17 of them under +-30% noise, 2x about
 *     4) is reported at its third sample, whatever its size.</li>
 *     <li><b>Outliers cannot raise an alarm on their own.</b> A transfer observed while the sender was descheduled
 *     under its CPU quota can look 5x slower; its score is clipped like any other, so one or two such samples in a
 *     row stay under the threshold, and each ordinary sample after them takes {@code allowance} back off. It takes
 *     three clipped samples within a few of each other to alarm: at a few percent of outliers that is rare, and it
 *     is what a real step looks like.</li>
 *     <li><b>The noise estimate is robust.</b> The noise unit is a running mean absolute deviation of the residuals
 *     (each clipped at 3 units, so a stalled transfer moves it little) scaled to a standard deviation, with a floor
 *     ({@code minNoise}, 10% by default) so that a very steady link does not report every 10% wobble.</li>
 *     <li>BOCPD would need a predictive model of the heavy tail (a Student-t or an outlier mixture) and a hazard
 *     rate, and its delay on a given step depends on all of them through a posterior over run lengths; this costs
 *     O(1) per sample, its three numbers say directly what trades delay against false alarms, and no prior over
 *     levels is needed.</li>
 * </ul>
 * The level itself is a running mean of clipped residuals over the current segment (the last 16 samples' worth once
 * the segment is longer), so a slow ramp is followed by the level and shows as a few change points at most. At an
 * alarm the new segment is taken to start at the first of the newest samples that lie nearer the new level than the
 * old (so a pair of outliers just before a step does not pull the change point back), and its level is their median.
 * The first {@value #WARMUP} samples only set the first level (their median) and raise no alarm.
 * <p>
 * Samples that are not finite and {@code > 0} are counted in {@link #rejected()} and ignored. All state is allocated
 * at construction; {@link #onSample} allocates nothing and throws nothing. Not thread-safe: one caller thread (the
 * coordinator's, which owns the link's measurements).
 */
public final class BandwidthChangeDetector
{
    /** Samples that only set the first level. */
    public static final int WARMUP = 5;
    /** Noise units a sample must be off the level to count towards a change (CUSUM's k). */
    public static final double DEFAULT_ALLOWANCE = 1.0;
    /** What a sum must pass to report a change (CUSUM's h). */
    public static final double DEFAULT_THRESHOLD = 8.0;
    /** Noise units a score is clipped to. */
    public static final double DEFAULT_CLIP = 4.0;
    /** The smallest noise unit, in ln(bytes/s): 10%. */
    public static final double DEFAULT_MIN_NOISE = 0.1;
    /** The noise unit before any sample has shown the link's own, in ln(bytes/s): 20%. */
    public static final double DEFAULT_PRIOR_NOISE = 0.2;

    private static final int RING = 32; // the newest samples, for the level and the start of a new segment
    private static final int LEVEL_WINDOW = 16;
    private static final int NOISE_WINDOW = 32;
    private static final int PRIOR_WEIGHT = 4; // the prior noise counts as this many samples
    private static final double NOISE_CLIP = 3.0;
    private static final double LEVEL_CLIP = 2.0;
    private static final double MEAN_ABS_TO_SIGMA = Math.sqrt(Math.PI / 2);

    private final double allowance;
    private final double threshold;
    private final double clip;
    private final double minNoise;
    private final double priorNoise;
    private final double[] ringLog = new double[RING];
    private final long[] ringTag = new long[RING];
    private final double[] picked = new double[RING];

    private long samples;
    private long rejected;
    private int changes;
    private double level;         // ln(bytes/s) of the current segment
    private double meanAbs;       // running mean absolute residual, ln units
    private int segmentSamples;
    private double up;
    private double down;
    private long changeTag;
    private long detectedTag;

    /** With the defaults ({@value #DEFAULT_ALLOWANCE}, {@value #DEFAULT_THRESHOLD}, {@value #DEFAULT_CLIP}, ...). */
    public BandwidthChangeDetector()
    {
        this(DEFAULT_ALLOWANCE, DEFAULT_THRESHOLD, DEFAULT_CLIP, DEFAULT_MIN_NOISE, DEFAULT_PRIOR_NOISE);
    }

    /**
     * @param allowance  noise units a sample must be off the level to count towards a change, {@code >= 0}.
     * @param threshold  what a sum must pass to report a change, {@code > clip - allowance} (so one sample never
     *                   does).
     * @param clip       noise units a score is clipped to, {@code > allowance}.
     * @param minNoise   the smallest noise unit in ln(bytes/s), {@code > 0}.
     * @param priorNoise the noise unit assumed at first, in ln(bytes/s), {@code > 0}.
     */
    public BandwidthChangeDetector(
        final double allowance, final double threshold, final double clip, final double minNoise,
        final double priorNoise)
    {
        if (!(allowance >= 0) || !(clip > allowance) || !(threshold > clip - allowance) || !(minNoise > 0) ||
            !(priorNoise > 0) || Double.isInfinite(threshold) || Double.isInfinite(clip) ||
            Double.isInfinite(minNoise) || Double.isInfinite(priorNoise))
        {
            throw new IllegalArgumentException("a change detector needs allowance >= 0, clip > allowance, " +
                "threshold > clip - allowance and noise > 0, all finite: allowance=" + allowance + " threshold=" +
                threshold + " clip=" + clip + " minNoise=" + minNoise + " priorNoise=" + priorNoise);
        }
        this.allowance = allowance;
        this.threshold = threshold;
        this.clip = clip;
        this.minNoise = minNoise;
        this.priorNoise = priorNoise;
        reset();
    }

    /** Forgets every sample: the next {@value #WARMUP} set a first level again. */
    public void reset()
    {
        samples = 0;
        rejected = 0;
        changes = 0;
        level = 0;
        meanAbs = priorNoise / MEAN_ABS_TO_SIGMA;
        segmentSamples = 0;
        up = 0;
        down = 0;
        changeTag = 0;
        detectedTag = 0;
    }

    /**
     * Takes one sample.
     *
     * @param tag            a timestamp or request index, non-decreasing; reported back by {@link #changeTag()}.
     * @param bytesPerSecond what the sample measured; ignored unless finite and {@code > 0}.
     * @return whether this sample completed a change point: {@link #levelBytesPerSecond()} is then the new level.
     */
    public boolean onSample(final long tag, final double bytesPerSecond)
    {
        if (!(bytesPerSecond > 0) || bytesPerSecond == Double.POSITIVE_INFINITY)
        {
            rejected++;
            return false;
        }
        final double x = Math.log(bytesPerSecond);
        final int slot = (int)(samples % RING);
        ringLog[slot] = x;
        ringTag[slot] = tag;
        samples++;
        if (samples <= WARMUP)
        {
            segmentSamples = (int)samples;
            level = medianOfNewest(segmentSamples);
            if (samples == 1)
            {
                changeTag = tag;
                detectedTag = tag;
            }
            return false;
        }

        final double sigma = noise();
        final double residual = x - level;
        final double score = residual / sigma;
        final double z = Math.max(-clip, Math.min(clip, score));
        if (Math.abs(score) < allowance)
        {
            up = 0;
            down = 0;
        }
        else
        {
            // a sample far below the level is as likely a stalled sender as a slower link: no evidence against a rise
            up = Math.max(0, up + (score < -clip ? 0 : z) - allowance);
            down = Math.max(0, down - z - allowance);
        }
        if (up > threshold || down > threshold)
        {
            startSegment(tag);
            return true;
        }

        segmentSamples++;
        level += sigma * Math.max(-LEVEL_CLIP, Math.min(LEVEL_CLIP, z)) / Math.min(segmentSamples, LEVEL_WINDOW);
        if (Math.abs(z) <= NOISE_CLIP)
        {
            // a stalled transfer, or the first samples of a step, would widen the noise and hide the step
            meanAbs += (Math.abs(residual) - meanAbs) / Math.min(samples - WARMUP + PRIOR_WEIGHT, NOISE_WINDOW);
        }
        return false;
    }

    /**
     * A change was detected at the newest sample. The new level is first taken to be the median of the newest three;
     * walking back from the newest sample, the new segment takes every sample nearer that level than the old one and
     * not more than {@code clip} noise units above it (a stall makes a sample look slower, never faster), and stops
     * at two in a row that do not belong (one alone is a stalled transfer within the new segment). It starts at the
     * oldest sample it took; its level is the median of those it took, less any more than {@code clip} noise units
     * below the fastest of them (stalls).
     */
    private void startSegment(final long tag)
    {
        final double provisional = medianOfNewest(3);
        final double mid = 0.5 * (level + provisional);
        final boolean rising = provisional > level;
        final double spread = clip * noise();
        // a stall makes a sample slower, never faster: nothing far above the new level belongs to it (a sample from
        // before a rise, a stalled one from before a fall)
        final double ceiling = provisional + spread;
        final int available = (int)Math.min(samples, RING);
        int taken = 0;
        int oldest = 0;
        int gap = 0;
        for (int back = 0; back < available && gap < 2; back++)
        {
            final double v = ringLog[(int)((samples - 1 - back) % RING)];
            if ((rising ? v > mid : v < mid) && v <= ceiling)
            {
                picked[taken++] = v;
                oldest = back;
                gap = 0;
            }
            else
            {
                gap++;
            }
        }
        // at least two of the newest three lie on the median's side of the midpoint and under the ceiling
        double highest = picked[0];
        for (int i = 1; i < taken; i++)
        {
            highest = Math.max(highest, picked[i]);
        }
        int kept = 0;
        for (int i = 0; i < taken; i++)
        {
            if (picked[i] >= highest - spread)
            {
                picked[kept++] = picked[i];
            }
        }
        level = median(picked, kept);
        segmentSamples = taken;
        changeTag = ringTag[(int)((samples - 1 - oldest) % RING)];
        detectedTag = tag;
        up = 0;
        down = 0;
        changes++;
    }

    /** @return the median of the newest {@code n} samples' logs ({@code 1 <= n <= min(samples, RING)}). */
    private double medianOfNewest(final int n)
    {
        for (int i = 0; i < n; i++)
        {
            picked[i] = ringLog[(int)((samples - 1 - i) % RING)];
        }
        return median(picked, n);
    }

    /** @return the median of {@code values[0..n)}, which it sorts ({@code n >= 1}). */
    private static double median(final double[] values, final int n)
    {
        for (int i = 1; i < n; i++)
        {
            final double v = values[i];
            int j = i - 1;
            while (j >= 0 && values[j] > v)
            {
                values[j + 1] = values[j];
                j--;
            }
            values[j + 1] = v;
        }
        return (n & 1) == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }

    /** @return the current segment's level, bytes per second (0 before the first sample). */
    public double levelBytesPerSecond()
    {
        return samples == 0 ? 0 : Math.exp(level);
    }

    /** @return the noise unit, a standard deviation in ln(bytes/s) (about the relative noise of a sample). */
    public double noise()
    {
        return Math.max(minNoise, MEAN_ABS_TO_SIGMA * meanAbs);
    }

    /** @return the tag of the first sample of the current segment (the estimated change point). */
    public long changeTag()
    {
        return changeTag;
    }

    /** @return the tag of the sample at which the current segment was detected. */
    public long detectedTag()
    {
        return detectedTag;
    }

    /** @return change points reported since the start (or {@link #reset()}). */
    public int changes()
    {
        return changes;
    }

    /** @return samples taken (not counting rejected ones). */
    public long samples()
    {
        return samples;
    }

    /** @return samples ignored because they were not finite and {@code > 0}. */
    public long rejected()
    {
        return rejected;
    }

    /** @return samples in the current segment so far. */
    public int segmentSamples()
    {
        return segmentSamples;
    }

    /** @return whether the first level is set (the warm-up is over) and changes can be reported. */
    public boolean ready()
    {
        return samples >= WARMUP;
    }

    public String toString()
    {
        return "BandwidthChangeDetector{level=" + levelBytesPerSecond() + " B/s, noise=" + noise() + ", up=" + up +
            ", down=" + down + ", changes=" + changes + ", samples=" + samples + "}";
    }
}
