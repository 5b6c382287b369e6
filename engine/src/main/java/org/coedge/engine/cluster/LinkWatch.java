package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.coedge.planner.BandwidthChangeDetector;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Step;
import org.coedge.planner.policy.AdaptivePlanPolicy;
import org.coedge.planner.policy.RequestTimes;

/**
 * Watches the rate of each worker's link during requests and says when it changed: one
 * {@link BandwidthChangeDetector} per worker, fed one sample per request.
 * <p>
 * A sample is what a request's own transfer showed: the worker's first wait for input rows from the coordinator
 * (the scatter, sent as the request starts), its bytes over the longer of that wait and the time from the
 * coordinator's send to the wait's end on the coordinator's clock (rows that arrive while the worker is still starting
 * are not waited for), when it carries at
 * least {@value #MIN_SAMPLE_BYTES} bytes (a token bucket lets a few kilobytes through at line rate). A worker that
 * received no such rows (the plan gives it nothing, or only rows in the middle of the model) is probed instead, at
 * the request boundary, with one burst of {@value #PROBE_BYTES} bytes on the data path ({@link LinkProber#burst}),
 * so a link that got faster again is seen while the plan does not use it; as often as keeps the probes under a
 * quarter of the stream's time ({@value #QUOTA_PROBE_BUDGET} of it when the coordinator runs under a CPU quota), and
 * their cost is counted ({@link #probeNs()}).
 * <p>
 * A probe's sample is the better of it and the previous probe (a sender that ran out of its CPU quota mid-burst
 * makes a link look slow, never fast). For the same reason a request's sample whose transfer is short against the
 * coordinator's quota stalls counts only when it is not slower than the level known ({@link #sampleStands}): with two
 * 0.45-core devices on loopback (no rate limit), the detector had reported worker 1's link changed from 41.3 to
 * 9.9 MB/s, and the plan followed it. On a change to {@value #MIN_CHANGE} times the rate the plan was made with, or
 * further, the worker's link rate becomes the detector's new level ({@link Worker#bytesPerSecond}), so the next
 * plan is made for it. A new plan shape starts every detector afresh: how fast a request's transfer goes depends on
 * the plan (how many rows a worker gets, which other workers receive over the coordinator's link at the same time).
 * Owned by the coordinator's thread; called after every successful request.
 */
final class LinkWatch
{
    static final long MIN_SAMPLE_BYTES = 64 * 1024;
    static final int PROBE_BYTES = 128 * 1024;
    /** How many times faster or slower than planned with a link must become to be planned for again. */
    static final double MIN_CHANGE = org.coedge.planner.policy.AdaptivePlanPolicy.LINK_CHANGE;
    /** The most of a stream's time probes may take. */
    static final double PROBE_BUDGET = 0.25;
    /**
     * The most under a CPU quota below a core: each probe then comes out of the budget the compute needs (four
     * 0.45-core devices, ResNet-18 over two of them, the other two probed: 0.74x of one device alone with 0.25,
     * 1.14x with 0.03, one run each).
     */
    static final double QUOTA_PROBE_BUDGET = 0.03;
    /** System property: the share of a stream's time probes may take instead (for measuring what probing costs). */
    static final String PROBE_BUDGET_PROP = "coedge.probe.budget";
    /** How many of the coordinator's longest quota stalls a transfer must outlast to be believed when slow. */
    static final double SAMPLE_STALLS = 2;

    private final java.util.function.ToDoubleBiFunction<Worker, Integer> burst;
    private java.util.function.IntToLongFunction coordinatorStepStartNs; // null: the waits alone
    private final PrintWriter log;
    private final long maxStallNs;
    private final double probeShare;
    private int stallSuspects;
    private final Map<Integer, Link> links = new HashMap<>(); // by node id
    private long requests;
    private String shape = "";
    private long probeNs;
    private int probes;
    private int changes;

    /** @param burst probes a worker's link with one burst of the given bytes ({@link LinkProber#burst}). */
    LinkWatch(final java.util.function.ToDoubleBiFunction<Worker, Integer> burst, final PrintWriter log)
    {
        this(burst, log, maxStallNs(DeviceFacts.cpuCores(), DeviceFacts.cpuPeriodUs()));
    }

    /**
     * @param maxStallNs the longest the coordinator's CPU quota can stop it ({@link #maxStallNs(double, long)}); 0
     *                   without a quota.
     */
    LinkWatch(final java.util.function.ToDoubleBiFunction<Worker, Integer> burst, final PrintWriter log,
        final long maxStallNs)
    {
        this.burst = burst;
        this.log = log;
        this.maxStallNs = Math.max(0, maxStallNs);
        this.probeShare = probeShare(maxStallNs > 0 ? QUOTA_PROBE_BUDGET : PROBE_BUDGET);
    }

    /**
     * @return how long a quota of {@code cores} over periods of {@code periodUs} stops a process that used up its
     * budget: the rest of the period, {@code (1 - cores) x period}; 0 without a quota (NaN) or at a whole core or more.
     */
    static long maxStallNs(final double cores, final long periodUs)
    {
        return cores > 0 && cores < 1 ? Math.round((1 - cores) * periodUs * 1000) : 0;
    }

    /**
     * @return whether a request's transfer sample of {@code rate} bytes per second, {@code bytes} long, may stand for
     * the link: a transfer no longer than {@link #SAMPLE_STALLS} of the coordinator's quota stalls can look several
     * times slower than the link because the coordinator was stopped as it sent (its budget spent by the work between
     * requests), never faster; such a sample counts only if it shows the link at least as fast as the level known.
     */
    boolean sampleStands(final double rate, final long bytes, final double levelBytesPerSecond)
    {
        final double ns = bytes / rate * 1e9;
        return ns > SAMPLE_STALLS * maxStallNs || !(levelBytesPerSecond > 0) || rate >= levelBytesPerSecond;
    }

    /**
     * Takes the samples of one request run under {@code programs} (device {@code d >= 1} is
     * {@code workers[d - 1]}).
     *
     * @return true if a worker's link changed rate: the caller plans again.
     */
    boolean afterRequest(final List<DeviceProgram> programs, final RequestTimes times, final Worker[] workers,
        final String planShape, final long requestNs)
    {
        requests++;
        if (!planShape.equals(shape))
        {
            // what a request's transfer shows depends on the plan (how much each worker gets, who else receives at
            // the same time over the coordinator's link): samples of another plan start a new level
            for (final Link link : links.values())
            {
                link.detector.reset();
            }
            shape = planShape;
        }
        boolean changed = false;
        for (int d = 1; d < programs.size() && d <= workers.length; d++)
        {
            final Worker w = workers[d - 1];
            final Link link = links.computeIfAbsent(w.nodeId, k -> new Link());
            final List<Step> steps = programs.get(d).steps();
            double sample = scatterRate(steps, times, d, arrivalAfterSendNs(programs.get(0).steps(), w, d, steps));
            if (sample > 0 && !sampleStands(sample, steps.get(scatterStep(steps)).bytes(),
                link.detector.levelBytesPerSecond()))
            {
                stallSuspects++;
                continue;
            }
            if (sample <= 0 && !link.probeDue(requestNs, probeShare))
            {
                continue;
            }
            if (sample <= 0)
            {
                final long t0 = System.nanoTime();
                final double probed = burst.applyAsDouble(w, PROBE_BYTES);
                link.probed(probed, System.nanoTime() - t0);
                probeNs += link.lastProbeNs;
                probes++;
                // a sender that ran out of its CPU quota mid-burst makes the link look slow, never fast: the
                // better of this probe and the one before
                sample = link.previousProbe < 0 ? probed : Math.max(probed, link.previousProbe);
            }
            else
            {
                link.lastProbe = -1;
            }
            if (sample <= 0)
            {
                continue;
            }
            final BandwidthChangeDetector detector = link.detector;
            final double before = detector.levelBytesPerSecond();
            if (!detector.onSample(requests, sample))
            {
                continue;
            }
            final double level = detector.levelBytesPerSecond();
            if (w.bytesPerSecond > 0 && Math.abs(Math.log(level / w.bytesPerSecond)) < Math.log(MIN_CHANGE))
            {
                // a change the plan need not follow: under a CPU quota a sender's stalls shift what transfers show
                // by up to a few times; a link that lost or gained more than that is planned for again
                log.printf(Locale.ROOT, "coordinator: worker %d's link moved from %.1f to %.1f MB/s, within %.0fx " +
                    "of the %.1f MB/s planned with; the plan stays%n", w.nodeId, before / 1e6, level / 1e6,
                    MIN_CHANGE, w.bytesPerSecond / 1e6);
                continue;
            }
            changes++;
            log.printf(Locale.ROOT, "coordinator: worker %d's link changed from %.1f to %.1f MB/s (change point at " +
                "request %d, seen at %d)%n", w.nodeId, w.bytesPerSecond / 1e6, level / 1e6, detector.changeTag(),
                requests);
            w.bytesPerSecond = level;
            changed = true;
        }
        return changed;
    }

    /**
     * @return the bytes per second of the worker's first wait for scatter rows from the coordinator, if it carried
     * at least {@value #MIN_SAMPLE_BYTES} bytes and took time; 0 otherwise.
     */
    static double scatterRate(final List<Step> steps, final RequestTimes times, final int device)
    {
        return scatterRate(steps, times, device, 0);
    }

    /**
     * @param arrivalNs how long after the coordinator began sending them the rows were in, on the coordinator's
     *                  clock (0 when unknown): the transfer is the longer of it and the worker's wait, since rows
     *                  that arrive while the worker is still starting are not waited for (with 1 MB receiver windows a
     *                  300 KB slice on a 1 Gbit/s link was mostly in before the worker waited, and its wait alone
     *                  read 1134 MB/s).
     * @return the scatter's bytes per second, as {@link #scatterRate(List, RequestTimes, int)}.
     */
    static double scatterRate(final List<Step> steps, final RequestTimes times, final int device, final long arrivalNs)
    {
        final int i = scatterStep(steps);
        if (times.stepCount(device) != steps.size() || i < 0)
        {
            return 0;
        }
        final long bytes = steps.get(i).bytes();
        final long ns = Math.max(times.stepNs(device, i), arrivalNs);
        return bytes >= MIN_SAMPLE_BYTES && ns > 0 ? bytes / (ns * 1e-9) : 0;
    }

    /** Sets where the coordinator's step start times are read ({@code System.nanoTime()} of step i, 0 if not run). */
    void coordinatorClock(final java.util.function.IntToLongFunction stepStartNs)
    {
        coordinatorStepStartNs = stepStartNs;
    }

    /**
     * @return when worker {@code d}'s scatter wait ended after the coordinator began sending it those rows, on the
     * coordinator's clock (the worker's times count from the request's arrival there, half a round trip after it was
     * sent); 0 when a time is missing.
     */
    private long arrivalAfterSendNs(final List<Step> mine, final Worker w, final int d, final List<Step> theirs)
    {
        final int wait = scatterStep(theirs);
        if (coordinatorStepStartNs == null || wait < 0 || w.stepCount() <= wait || w.stepStartNs(wait) < 0)
        {
            return 0;
        }
        for (int j = 0; j < mine.size(); j++)
        {
            final Step s = mine.get(j);
            if (s.kind() == Step.Kind.SEND && s.purpose() == Step.Purpose.SCATTER && s.peer() == d)
            {
                final long sentAt = coordinatorStepStartNs.applyAsLong(j);
                final long arrivedAt = w.requestSentNs() + (long)(w.rttNs() / 2) + w.stepStartNs(wait) +
                    w.stepDurationNs(wait);
                return sentAt == 0 ? 0 : Math.max(0, arrivedAt - sentAt);
            }
        }
        return 0;
    }

    /** @return {@value #PROBE_BUDGET_PROP} if set to a share in (0, 1], else {@code byDefault}. */
    private static double probeShare(final double byDefault)
    {
        try
        {
            final double share = Double.parseDouble(System.getProperty(PROBE_BUDGET_PROP, "" + byDefault));
            return share > 0 && share <= 1 ? share : byDefault;
        }
        catch (final NumberFormatException e)
        {
            return byDefault;
        }
    }

    /** @return the index of the worker's first wait for scatter rows from the coordinator, -1 if it has none. */
    static int scatterStep(final List<Step> steps)
    {
        for (int i = 0; i < steps.size(); i++)
        {
            final Step s = steps.get(i);
            if (s.kind() == Step.Kind.AWAIT && s.purpose() == Step.Purpose.SCATTER && s.peer() == 0)
            {
                return i;
            }
        }
        return -1;
    }

    /** What is watched of one worker's link. */
    private static final class Link
    {
        final BandwidthChangeDetector detector = new BandwidthChangeDetector();
        double lastProbe = -1; // the rate the last probe measured; below 0 when a request's own transfer came since
        double previousProbe = -1; // the one before it, likewise
        long lastProbeNs = -1; // how long the last probe took; below 0 before the first
        long sinceProbe; // requests since it that needed a probe

        void probed(final double rate, final long ns)
        {
            previousProbe = lastProbe;
            lastProbe = rate;
            lastProbeNs = ns;
            sinceProbe = 0;
        }

        /**
         * @return whether the link is due a probe: its last probe took at most {@code share} of the
         * requests run since (of {@code requestNs} each), so probing costs a stream of requests at most that share
         * of its time (a 128 KiB burst takes 21 ms at 50 Mbit/s: every other request of ResNet-18 alone; 1 ms at
         * 1 Gbit/s: every few of a 0.3 ms model).
         */
        boolean probeDue(final long requestNs, final double share)
        {
            sinceProbe++;
            return lastProbeNs < 0 || sinceProbe * (double)requestNs * share >= lastProbeNs;
        }
    }

    /** @return time the probes between requests took, in nanoseconds. */
    long probeNs()
    {
        return probeNs;
    }

    int probes()
    {
        return probes;
    }

    int changes()
    {
        return changes;
    }

    /** @return request samples left out as slower than the link only by the coordinator's quota stalls. */
    int stallSuspects()
    {
        return stallSuspects;
    }
}
