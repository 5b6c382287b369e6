package org.coedge.planner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measured trials of candidate plans, and drift of the plan they chose: the part of adaptive planning that believes
 * measurements over predictions.
 * <p>
 * {@link #start} takes a few candidates (the plan the models predict fastest, and plans that are robust to the
 * models being wrong: the fastest device alone, rows in proportion to the devices' speeds). Each runs
 * {@code trialRequests} requests in turn (for a few rounds); then the one with the lowest median end-to-end time is
 * chosen and runs from then on. While it runs, every request's end-to-end time and each device's compute time are
 * compared with the medians measured during its trial (its baseline): when the request stays more than
 * {@code drift} slower than its baseline, or a device's compute more than {@code drift} slower or faster, for
 * {@code driftRequests} requests in a row, {@link #drifted()} says so, and the caller searches again (and may start
 * a new trial of the chosen plan against a new candidate) or, with nothing better at hand, {@link #rebase rebases}
 * onto what the devices do now.
 * <p>
 * Pure and deterministic: it sees only the numbers it is given. Not thread-safe; owned by the planning thread.
 */
public final class PlanTrials
{
    private final int trialRequests;
    private final int rounds;
    private final double drift;
    private final int driftRequests;
    private final List<Plan> candidates = new ArrayList<>();
    private final List<String> labels = new ArrayList<>();
    private double[][] trialNs = new double[0][]; // per candidate, its trial's scores (end-to-end times by default)
    private String unit = "ms";
    private double rankQuantile = -1; // below 0: candidates are ranked by their median
    private double printScale = 1e-6;
    private int trialCount; // requests recorded for the candidate being tried, in this round
    private int round;
    private int current;
    private boolean trying;
    // the chosen plan's baselines (end to end, then each device's compute) and the recent requests against them
    private final List<double[]> baselineSamples = new ArrayList<>();
    private double[] baseline = new double[0];
    private int[] above = new int[0];
    private int[] below = new int[0];
    private boolean drifted;
    private String decision = "";

    /**
     * @param trialRequests requests each candidate is measured over ({@code >= 1}).
     * @param drift         relative distance from a baseline that counts as drift ({@code > 0}).
     * @param driftRequests requests in a row that must drift ({@code >= 1}).
     */
    public PlanTrials(final int trialRequests, final double drift, final int driftRequests)
    {
        this(trialRequests, 1, drift, driftRequests);
    }

    /**
     * @param rounds how many times the candidates take turns ({@code >= 1}): on a machine whose speed wanders,
     *               candidates measured in turns, A B C A B C, are compared over the same stretch of time.
     */
    public PlanTrials(final int trialRequests, final int rounds, final double drift, final int driftRequests)
    {
        if (trialRequests < 1 || rounds < 1 || !(drift > 0) || driftRequests < 1)
        {
            throw new IllegalArgumentException("trial requests " + trialRequests + ", rounds " + rounds + ", drift " +
                drift + ", drift requests " + driftRequests + ": each must be positive");
        }
        this.trialRequests = trialRequests;
        this.rounds = rounds;
        this.drift = drift;
        this.driftRequests = driftRequests;
    }

    /**
     * Starts a trial of {@code plans} in order (the first runs next); one plan is chosen at once, without a trial.
     * Plans with the same stages as an earlier one are dropped.
     *
     * @param names what each plan is, for the log.
     * @throws IllegalArgumentException if there is no plan or the names do not match the plans.
     */
    public void start(final List<Plan> plans, final List<String> names)
    {
        if (plans.isEmpty() || plans.size() != names.size())
        {
            throw new IllegalArgumentException(plans.size() + " plans and " + names.size() + " names");
        }
        candidates.clear();
        labels.clear();
        final List<String> seen = new ArrayList<>();
        for (int i = 0; i < plans.size(); i++)
        {
            final String shape = plans.get(i).shape();
            if (!seen.contains(shape))
            {
                seen.add(shape);
                candidates.add(plans.get(i));
                labels.add(names.get(i));
            }
        }
        trialNs = new double[candidates.size()][trialRequests * rounds];
        trialCount = 0;
        round = 0;
        current = 0;
        trying = candidates.size() > 1;
        baselineSamples.clear();
        baseline = new double[0];
        drifted = false;
        decision = trying ? "measuring " + candidates.size() + " plans over " + trialRequests + " requests each" +
            (rounds > 1 ? ", " + rounds + " rounds in turn" : "") + ": " + String.join("; ", labels) : "";
    }

    /** @return the plan to run: the candidate being measured, or the chosen one. */
    public Plan current()
    {
        return candidates.get(current);
    }

    public String currentName()
    {
        return labels.get(current);
    }

    /** @return true while candidates are still being measured. */
    public boolean trying()
    {
        return trying;
    }

    /** @return true once the chosen plan's times have drifted from its baseline ({@link #start} or rebase clears). */
    public boolean drifted()
    {
        return drifted;
    }

    /** @return a line on the last decision (the trial started, a plan chosen, drift seen), empty if none. */
    public String decision()
    {
        return decision;
    }

    /** @return the median end-to-end time the chosen plan measured in its trial (or its baseline); NaN before. */
    public double measuredNs()
    {
        return baseline.length > 0 ? baseline[0] : Double.NaN;
    }

    /**
     * Takes one request run under {@link #current()} (not its first, cold one).
     *
     * @param requestNs end-to-end time of the request.
     * @param computeNs each device's compute time in it.
     * @return true when the next request must run under another plan (the next candidate, or the chosen one).
     */
    public boolean record(final double requestNs, final double[] computeNs)
    {
        return record(requestNs, computeNs, requestNs);
    }

    /**
     * Scores requests by something other than their time (the energy a request cost, under a deadline): the trial
     * keeps the candidate with the lowest median score, and reports scores in {@code unit} after multiplying them by
     * {@code printScale} (the default: nanoseconds printed as ms).
     *
     * @return this.
     */
    public PlanTrials scoredIn(final String unit, final double printScale)
    {
        this.unit = unit;
        this.printScale = printScale;
        return this;
    }

    /**
     * Ranks the candidates by the {@code q} quantile of their scores instead of the median (0.875: the second
     * largest of 8), so a candidate wins only if nearly all its requests score well (a deadline met by nearly
     * every request, not by half).
     *
     * @return this.
     * @throws IllegalArgumentException unless {@code 0 <= q <= 1}.
     */
    public PlanTrials rankedAt(final double q)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new IllegalArgumentException("a quantile is in [0, 1], got " + q);
        }
        rankQuantile = q;
        return this;
    }

    /** @return the {@code q} quantile of {@code values}, the nearest rank at or above it. */
    static double quantile(final double[] values, final double q)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int rank = (int)Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank))];
    }

    /**
     * As {@link #record(double, double[])}, the trial ranking the candidates by {@code score} (lower is better)
     * instead of the request's time; drift is judged on times either way.
     */
    public boolean record(final double requestNs, final double[] computeNs, final double score)
    {
        final double[] sample = new double[computeNs.length + 1];
        sample[0] = requestNs;
        System.arraycopy(computeNs, 0, sample, 1, computeNs.length);
        decision = "";
        if (trying)
        {
            trialNs[current][round * trialRequests + trialCount++] = score;
            collect(sample);
            if (trialCount < trialRequests)
            {
                return false;
            }
            trialCount = 0;
            if (current + 1 < candidates.size() || round + 1 < rounds)
            {
                if (current + 1 == candidates.size())
                {
                    round++;
                }
                current = (current + 1) % candidates.size();
                baselineSamples.clear();
                return true;
            }
            trying = false;
            int best = 0;
            final double[] medians = new double[candidates.size()];
            final StringBuilder sb = new StringBuilder("measured ");
            for (int i = 0; i < candidates.size(); i++)
            {
                medians[i] = rankQuantile < 0 ? median(trialNs[i]) : quantile(trialNs[i], rankQuantile);
                sb.append(i > 0 ? ", " : "").append(String.format(java.util.Locale.ROOT, "%.4g %s (%s)",
                    medians[i] * printScale, unit, labels.get(i)));
                if (medians[i] < medians[best])
                {
                    best = i;
                }
            }
            decision = sb.append("; running ").append(labels.get(best)).toString();
            final boolean change = best != current;
            if (change)
            {
                baselineSamples.clear();
            }
            else
            {
                fixBaseline();
            }
            current = best;
            return change;
        }
        if (baseline.length != sample.length)
        {
            // the chosen plan's first requests after a switch set its baseline (the trial's were another plan's)
            collect(sample);
            if (baselineSamples.size() >= trialRequests)
            {
                fixBaseline();
            }
            return false;
        }
        boolean any = false;
        for (int m = 0; m < sample.length; m++)
        {
            if (!(baseline[m] > 0))
            {
                continue;
            }
            final double r = sample[m] / baseline[m];
            above[m] = r > 1 + drift ? above[m] + 1 : 0;
            // a request faster than its baseline is no reason to search again; a device faster than its is
            below[m] = m > 0 && r < 1 - drift ? below[m] + 1 : 0;
            if (above[m] >= driftRequests || below[m] >= driftRequests)
            {
                if (!drifted)
                {
                    decision = String.format(java.util.Locale.ROOT, "%s measured %s %.0f%% from its baseline " +
                        "(%.2f ms) for %d requests", m == 0 ? "the request" : "device " + (m - 1) + "'s compute",
                        above[m] >= driftRequests ? "over" : "under", drift * 100, baseline[m] * 1e-6, driftRequests);
                }
                any = true;
            }
        }
        drifted |= any;
        return false;
    }

    /** Forgets the baseline: the next {@code trialRequests} requests of the current plan set a new one. */
    public void rebase()
    {
        baselineSamples.clear();
        baseline = new double[0];
        drifted = false;
    }

    private void collect(final double[] sample)
    {
        if (!baselineSamples.isEmpty() && baselineSamples.get(0).length != sample.length)
        {
            baselineSamples.clear();
        }
        baselineSamples.add(sample);
    }

    private void fixBaseline()
    {
        final int metrics = baselineSamples.get(0).length;
        baseline = new double[metrics];
        above = new int[metrics];
        below = new int[metrics];
        final double[] v = new double[baselineSamples.size()];
        for (int m = 0; m < metrics; m++)
        {
            for (int i = 0; i < v.length; i++)
            {
                v[i] = baselineSamples.get(i)[m];
            }
            baseline[m] = median(v);
        }
        baselineSamples.clear();
        drifted = false;
    }

    private static double median(final double[] values)
    {
        return LatencyModel.median(values, values.length);
    }
}
