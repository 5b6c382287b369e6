package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LinkModel;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanChoice;
import org.coedge.planner.PlanSimulator;
import org.coedge.planner.Prediction;
import org.coedge.planner.Step;

/**
 * The {@code adaptive} planner as the coordinator runs it: one {@link LatencyModel} per device, fitted to the
 * profile the device sent at its join (or, without one, to its calibrated rate), a {@link LinkModel} from the
 * data-path probes, and the plan {@link AdaptivePlanner} predicts fastest among those that fit every device's memory.
 * Every request's measured step times refine the models ({@link LatencyModel#observe}; send times set the cost of a
 * message, and waits longer than predicted an extra latency per message), and when a device's measured compute differs from what the plan predicted by more than
 * {@value #DRIFT} for {@value #DRIFT_REQUESTS} requests in a row, it searches again with the refined models and asks
 * for the new plan if that is predicted at least {@value #SWITCH_GAIN} faster than the current plan under the same
 * models (otherwise it keeps the plan and measures drift from its new prediction). Joins, leaves and failures re-plan through the coordinator itself.
 * <p>
 * Models are kept per node id across plans, so what was learnt survives a re-plan; a node whose profile changed (it
 * joined again, perhaps on other hardware) is fitted afresh. Owned by the coordinator's thread.
 */
public final class AdaptivePlanPolicy implements PlanPolicy
{
    static final double DRIFT = 0.20;
    static final int DRIFT_REQUESTS = 3;
    /** How much faster a new plan must be predicted than the current one (under the same models) to replace it. */
    static final double SWITCH_GAIN = 0.10;
    /** Requests measured of a plan before it is compared with another. */
    static final int GUARD_REQUESTS = 4;
    /** What one message costs the sender before any was measured: Aeron's offer plus the copy, a few microseconds. */
    private static final double DEFAULT_SEND_NS = 20_000;
    private static final double DEFAULT_BYTES_PER_SECOND = 1e9 / 8;

    private final PrintWriter log;
    private final Map<Integer, LatencyModel> models = new HashMap<>();
    private final Map<Integer, DeviceProfile> fittedTo = new HashMap<>();
    private LayerGraph graph;
    private int[] outputs;
    private LatencyModel[] planModels;
    private LinkModel planLinks;
    private PlanChoice choice;
    private double sendNsPerMessage = DEFAULT_SEND_NS;
    /** Extra latency per message the waits of requests showed beyond the links' (the median of the last few). */
    private double syncNs;
    private final double[] syncSamples = new double[LatencyModel.WINDOW];
    private int syncCount;
    private int drifting;
    private double driftThreshold = DRIFT;
    private int requestsUnderPlan;
    // the check against one device alone: after a cooperative plan's first requests, the fastest device alone runs a
    // few requests too, and the faster of the two as measured stays (until the devices drift)
    private final RateWindow measuredNs = new RateWindow(GUARD_REQUESTS);
    private Plan pinned; // the plan to return instead of searching, null to search
    private Plan cooperative; // the cooperative plan being checked, and its measured median
    private double cooperativeNs;
    private boolean checking; // the alone plan is running to be measured
    private boolean checked; // the check is done for these devices
    private boolean checkEnabled = true;
    private int checkDevice; // the device that runs alone while checking
    // the guard against a re-plan that made things worse: the plan before a drift re-plan and its measured median;
    // once the new plan has been measured as long, the faster of the two stays and drift no longer re-plans
    private Plan previous;
    private double previousNs;
    private boolean settled;
    private boolean replanningForDrift; // the next plan() follows a drift re-plan, not a change of devices

    public AdaptivePlanPolicy(final PrintWriter log)
    {
        this.log = log;
    }

    /** Sets how far measured compute may stray from the prediction before it counts as drift; for tests. */
    AdaptivePlanPolicy drift(final double threshold)
    {
        driftThreshold = threshold;
        return this;
    }

    /** Turns the measured check against one device alone on or off (on by default); for tests of the rest. */
    AdaptivePlanPolicy checkAlone(final boolean on)
    {
        checkEnabled = on;
        checked = !on;
        return this;
    }

    @Override
    public Plan plan(final LayerGraph graph, final int[] outputLayers, final ClusterView view, final long epoch)
    {
        this.graph = graph;
        this.outputs = outputLayers.clone();
        final int n = view.deviceCount();
        planModels = new LatencyModel[n];
        for (int d = 0; d < n; d++)
        {
            planModels[d] = modelOf(graph, view, d);
        }
        planLinks = links(view);
        final boolean driftReplan = replanningForDrift;
        replanningForDrift = false;
        drifting = 0;
        measuredNs.clear();
        requestsUnderPlan = 0;
        if (pinned != null && pinned.deviceCount() == n)
        {
            final Plan again = new Plan(epoch, pinned.stages());
            final PlanChoice searched = AdaptivePlanner.plan(graph, outputLayers, planModels, planLinks, epoch);
            choice = new PlanChoice(again, null, PlanSimulator.predict(graph, again, outputLayers, planModels,
                planLinks), checking ? "everything on device " + checkDevice + ", measured against " +
                "the cooperative plan" : "the plan measured faster", searched.candidates(), searched.fastestAloneNs(),
                searched.fastestDevice());
        }
        else
        {
            if (pinned != null)
            {
                checked = !checkEnabled; // other devices: check again
                checking = false;
            }
            settled = false;
            if (!driftReplan)
            {
                previous = null; // the devices changed: what was measured before is of another cluster
            }
            pinned = null;
            choice = AdaptivePlanner.plan(graph, outputLayers, planModels, planLinks, epoch);
        }
        log.printf(Locale.ROOT, "coordinator: adaptive plan epoch %d: %s; predicted %.2f ms (fastest device alone, " +
            "%d: %.2f ms; %d candidates)%n", epoch, choice.description(), choice.prediction().endNs() * 1e-6,
            choice.fastestDevice(), choice.fastestAloneNs() * 1e-6, choice.candidates());
        return choice.plan();
    }

    @Override
    public void learn(final Plan plan, final List<DeviceProgram> programs, final RequestTimes times)
    {
        if (choice == null || plan != choice.plan() || requestsUnderPlan++ == 0)
        {
            // the first request under a plan is cold (new buffers touched, new code paths compiled): it says
            // little of the devices, and taken as drift it made plans follow their own start-up
            return;
        }
        double requestNs = 0;
        for (int i = 0; i < times.stepCount(0); i++)
        {
            requestNs += times.stepNs(0, i);
        }
        measuredNs.add(requestNs);
        boolean drift = false;
        final double[] sends = new double[64];
        int sendCount = 0;
        final double[] waitedNs = new double[programs.size()];
        final int[] awaitCount = new int[programs.size()];
        for (int d = 0; d < programs.size(); d++)
        {
            final List<Step> steps = programs.get(d).steps();
            if (times.stepCount(d) != steps.size())
            {
                continue;
            }
            // a device under a quota is modelled in CPU time and its stalls simulated: its measured wall time is
            // taken as work in the share the prediction gave work in its wall time
            final double workShare = workShare(d, steps);
            double measured = 0;
            double waited = 0;
            int awaits = 0;
            for (int i = 0; i < steps.size(); i++)
            {
                final Step s = steps.get(i);
                final long ns = times.stepNs(d, i);
                if (s.kind() == Step.Kind.COMPUTE)
                {
                    measured += ns;
                    planModels[d].observe(s.layer(), s.rows().rows(), Math.round(ns * workShare));
                }
                else if (s.kind() == Step.Kind.AWAIT)
                {
                    waited += ns;
                    awaits++;
                }
                else if (s.kind() == Step.Kind.SEND && ns > 0 && sendCount < sends.length)
                {
                    sends[sendCount++] = ns;
                }
            }
            planModels[d].endRequest();
            final double predicted = choice.prediction().computeNs(d);
            if (predicted > 0 && measured > 0 && Math.abs(measured / predicted - 1) > driftThreshold)
            {
                drift = true;
            }
            if (awaits > 0)
            {
                waitedNs[d] = waited;
                awaitCount[d] = awaits;
                // waits longer than predicted by a fifth of the request are drift too (the device's time is spent)
                drift |= waited - waitNs(choice.prediction(), d) > driftThreshold * choice.prediction().endNs();
            }
        }
        // devices wait longer than the links explain when messages are late (a partner's sender thread that did not
        // get the core, a quota that ran out between compute and send): the excess per await, measured against the
        // plan re-predicted with the compute just learnt (a partner that computed slowly explains a long wait, and
        // its cost is in its model now), is taken as an extra latency of every message
        final Prediction again = PlanSimulator.predict(graph, choice.plan(), outputs, planModels, planLinks);
        final double[] excess = new double[programs.size()];
        int excessCount = 0;
        for (int d = 0; d < programs.size(); d++)
        {
            if (awaitCount[d] > 0)
            {
                excess[excessCount++] = (waitedNs[d] - waitNs(again, d)) / awaitCount[d];
            }
        }
        if (excessCount > 0)
        {
            Arrays.sort(excess, 0, excessCount);
            syncSamples[syncCount % syncSamples.length] = Math.max(0, syncNs + excess[excessCount / 2]);
            syncCount++;
            final int n = Math.min(syncCount, syncSamples.length);
            final double[] sorted = Arrays.copyOf(syncSamples, n);
            Arrays.sort(sorted);
            syncNs = sorted[n / 2];
        }
        if (sendCount > 0)
        {
            Arrays.sort(sends, 0, sendCount);
            sendNsPerMessage = sends[sendCount / 2];
        }
        drifting = drift ? drifting + 1 : 0;
    }

    /** @return the predicted CPU work of device {@code d}'s compute steps over their predicted wall time; 1 without a quota. */
    private double workShare(final int d, final List<Step> steps)
    {
        if (planModels[d].quota() == null)
        {
            return 1;
        }
        double work = 0;
        for (final Step s : steps)
        {
            if (s.kind() == Step.Kind.COMPUTE)
            {
                work += planModels[d].predictNs(s.layer(), s.rows().rows());
            }
        }
        final double wall = choice.prediction().computeNs(d);
        return work > 0 && wall > 0 ? Math.min(1, work / wall) : 1;
    }

    private static double waitNs(final Prediction prediction, final int device)
    {
        double ns = 0;
        for (int st = 0; st < prediction.stageCount(); st++)
        {
            ns += prediction.waitNs(device, st);
        }
        return ns;
    }

    @Override
    public boolean wantsReplan(final ClusterView now)
    {
        if (previous != null && !checking && measuredNs.size() >= GUARD_REQUESTS)
        {
            final double median = measuredNs.median(0);
            final Plan before = previous;
            previous = null;
            if (median > previousNs)
            {
                log.printf(Locale.ROOT, "coordinator: the new plan measured %.2f ms, the plan before it %.2f ms: " +
                    "back to that one, and no more re-plans on drift until the devices change%n", median * 1e-6,
                    previousNs * 1e-6);
                pinned = before;
                settled = true;
                checked = true;
                return true;
            }
        }
        if (!checked && measuredNs.size() >= GUARD_REQUESTS && drifting < DRIFT_REQUESTS)
        {
            return checkAgainstAlone();
        }
        if (drifting < DRIFT_REQUESTS || settled || checking ||
            previous != null && measuredNs.size() < GUARD_REQUESTS)
        {
            // a check against one device alone runs to its end (the alone plan drifts from the cooperative plan's
            // models by design), and a plan that follows a drift re-plan is measured as long as the guard needs
            return false;
        }
        drifting = 0;
        // the devices changed: judge from what they do now, not from the medians of before
        for (final LatencyModel m : planModels)
        {
            m.keepLatest(DRIFT_REQUESTS);
        }
        // re-plan only for a plan predicted clearly faster than the current one under the same models, so that
        // noise around two close plans cannot make them take turns (each switch costs a plan's distribution)
        planLinks = links(now);
        final Prediction current = PlanSimulator.predict(graph, choice.plan(), outputs, planModels, planLinks);
        final PlanChoice better = AdaptivePlanner.plan(graph, outputs, planModels, planLinks, choice.plan().epoch());
        if (better.prediction().endNs() < (1 - SWITCH_GAIN) * current.endNs())
        {
            // the devices changed enough for another plan: search (and check against one device alone) again,
            // and keep this plan's measure to go back to if the new one measures slower
            previous = choice.plan();
            previousNs = measuredNs.size() > 0 ? measuredNs.median(0) : Double.MAX_VALUE;
            replanningForDrift = true;
            pinned = null;
            checked = !checkEnabled;
            checking = false;
            log.printf(Locale.ROOT, "coordinator: measured compute differs from the plan's prediction by more than " +
                "%.0f%% for %d requests, and a plan predicted %.2f ms instead of %.2f ms is at hand; planning again%n",
                DRIFT * 100, DRIFT_REQUESTS, better.prediction().endNs() * 1e-6, current.endNs() * 1e-6);
            return true;
        }
        // keep the plan, and measure drift from its new prediction
        choice = new PlanChoice(choice.plan(), choice.programs(), current, choice.description(), choice.candidates(),
            choice.fastestAloneNs(), choice.fastestDevice());
        return false;
    }

    /**
     * The measured check that cooperation pays: a cooperative plan measured over {@value #GUARD_REQUESTS} requests
     * is followed by the fastest device alone for as many; the faster of the two as measured is kept.
     *
     * @return true when the next request should run under the other plan.
     */
    private boolean checkAgainstAlone()
    {
        final double median = measuredNs.median(0);
        if (!checking)
        {
            if (choice.plan().stages().size() == 1)
            {
                checked = true; // already one device alone
                return false;
            }
            cooperative = choice.plan();
            cooperativeNs = median;
            final int fastest = choice.fastestDevice();
            checkDevice = fastest;
            final double[] unit = new double[choice.plan().deviceCount()];
            unit[fastest] = 1;
            pinned = org.coedge.planner.Planner.hybrid(graph, unit, 1, -1, fastest, choice.plan().epoch(), false);
            checking = true;
            log.printf(Locale.ROOT, "coordinator: the cooperative plan measured %.2f ms (median of %d); measuring " +
                "device %d alone%n", median * 1e-6, GUARD_REQUESTS, fastest);
            return true;
        }
        checking = false;
        checked = true;
        if (median <= cooperativeNs)
        {
            log.printf(Locale.ROOT, "coordinator: device alone measured %.2f ms, the cooperative plan %.2f ms: " +
                "keeping the device alone%n", median * 1e-6, cooperativeNs * 1e-6);
            return false;
        }
        log.printf(Locale.ROOT, "coordinator: device alone measured %.2f ms, the cooperative plan %.2f ms: back to " +
            "the cooperative plan%n", median * 1e-6, cooperativeNs * 1e-6);
        pinned = cooperative;
        return true;
    }

    /** @return the last plan's choice (its prediction and description), or null before the first plan. */
    public PlanChoice choice()
    {
        return choice;
    }

    /** @return the models the last plan was made with, one per device of it (refined by every request since). */
    public LatencyModel[] models()
    {
        return planModels.clone();
    }

    public LinkModel links()
    {
        return planLinks;
    }

    private LatencyModel modelOf(final LayerGraph graph, final ClusterView view, final int d)
    {
        final int node = view.nodeId(d);
        DeviceProfile profile = view.profile(d);
        if (profile == null)
        {
            final double rate = view.calibratedFlopsPerSecond(d) > 0 ? view.calibratedFlopsPerSecond(d) : 1e10;
            final long memory = view.memoryBytes(d) > 0 ? view.memoryBytes(d) : Long.MAX_VALUE;
            profile = DeviceProfile.calibratedOnly("node " + node, rate, memory);
        }
        final LatencyModel known = models.get(node);
        final DeviceProfile before = fittedTo.get(node);
        if (known != null && before != null && (before == profile || sameProfile(before, profile)))
        {
            return known;
        }
        LatencyModel fitted;
        try
        {
            fitted = LatencyModel.fit(graph, profile);
        }
        catch (final IllegalArgumentException e)
        {
            log.println("coordinator: ignoring the profile of node " + node + ": " + e.getMessage());
            fitted = LatencyModel.fit(graph, DeviceProfile.calibratedOnly("node " + node,
                Math.max(1e9, view.calibratedFlopsPerSecond(d)), profile.memoryBytes()));
        }
        fitted.quota(DeviceFacts.quotaOf(profile.deviceKey()));
        models.put(node, fitted);
        fittedTo.put(node, profile);
        return fitted;
    }

    private static boolean sameProfile(final DeviceProfile a, final DeviceProfile b)
    {
        if (a.sampleCount() != b.sampleCount() || a.memoryBytes() != b.memoryBytes() ||
            a.calibratedFlopsPerSecond() != b.calibratedFlopsPerSecond())
        {
            return false;
        }
        for (int i = 0; i < a.sampleCount(); i++)
        {
            if (a.layer(i) != b.layer(i) || a.rows(i) != b.rows(i) || a.ns(i) != b.ns(i))
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Each worker's link at its probed rate (both ways) and half its round trip as the latency to the coordinator;
     * between two workers the sum of their halves; the coordinator's own link as fast as its fastest worker's. Every
     * pair also gets the extra latency per message that the requests' waits showed ({@link #learn}).
     */
    private LinkModel links(final ClusterView view)
    {
        final int n = view.deviceCount();
        final LinkModel m = LinkModel.uniform(n, DEFAULT_BYTES_PER_SECOND, 0, sendNsPerMessage);
        final double[] half = new double[n];
        double fastest = 0;
        for (int d = 1; d < n; d++)
        {
            final double rate = view.bytesPerSecond(d) > 0 ? view.bytesPerSecond(d) : DEFAULT_BYTES_PER_SECOND;
            m.device(d, rate, rate);
            fastest = Math.max(fastest, rate);
            half[d] = view.rttNs(d) / 2;
        }
        if (fastest > 0)
        {
            m.device(0, fastest, fastest);
        }
        for (int a = 0; a < n; a++)
        {
            for (int b = a + 1; b < n; b++)
            {
                m.latency(a, b, half[a] + half[b] + syncNs);
            }
        }
        return m;
    }
}
