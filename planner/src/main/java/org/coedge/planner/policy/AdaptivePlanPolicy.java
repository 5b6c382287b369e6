package org.coedge.planner.policy;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LinkModel;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanChoice;
import org.coedge.planner.PlanSimulator;
import org.coedge.planner.PlanTrials;
import org.coedge.planner.Prediction;
import org.coedge.planner.Step;

/**
 * The {@code adaptive} planner as the coordinator runs it: one {@link LatencyModel} per device, fitted to the
 * profile the device sent at its join (or, without one, to its calibrated rate), a {@link LinkModel} from the
 * data-path probes, and the plan {@link AdaptivePlanner} predicts fastest among those that fit every device's memory.
 * <p>
 * Predictions choose the candidates; measurements choose the plan ({@link PlanTrials}). When the devices change (the
 * first plan, a join, a leave, a failure) three plans run {@value #TRIAL_REQUESTS} requests each, in turn for
 * {@value #TRIAL_ROUNDS} rounds: the one predicted fastest, the device predicted fastest alone, and rows of every
 * layer in proportion to the devices' predicted speeds; the one with the lowest measured median stays. Every
 * request's step times refine the models ({@link LatencyModel#observe}; send times set the cost of a message, and
 * waits longer than predicted an extra latency per message). When the chosen plan's end-to-end time or a device's
 * compute stays more than {@value #DRIFT} from what it measured in its trial for {@value #DRIFT_REQUESTS} requests,
 * the search runs again on the refined models, and a plan predicted at least {@value #SWITCH_GAIN} faster than the
 * current one is measured against it; without one, the current plan's baseline becomes what it does now.
 * <p>
 * What a search optimises is its {@link PlanObjective} ({@link ObjectiveSearch}): under the energy objective the trial
 * scores requests by the joules they cost, under the accuracy objective every exit's fastest plan takes part and
 * requests score their exit's accuracy when on time, and under either deadline three learnt requests in a row over it
 * re-plan. A measured change of a
 * link's rate ({@link #linksChanged}) takes, without a trial, the plan chosen before at that rate or a new search's.
 * <p>
 * Models are kept per node id across plans ({@link NodeModels}), so what was learnt survives a re-plan; a node whose
 * profile changed (it joined again, perhaps on other hardware) is fitted afresh. Owned by the coordinator's thread.
 */
public final class AdaptivePlanPolicy implements PlanPolicy
{
    static final double DRIFT = 0.20;
    /**
     * How many times faster or slower a link must measure than the rate a plan was made with before it is a change
     * of link state (the coordinator's link watch filters by it, and states remembered within it are the same).
     */
    public static final double LINK_CHANGE = 3;
    static final int DRIFT_REQUESTS = 3;
    /**
     * Learnt requests after a re-plan for missed deadlines before misses may re-plan again: when no plan meets the
     * deadline, misses go on whatever runs, and re-planning after each few of them only added the switches' costs.
     */
    static final int DEADLINE_COOLDOWN = 16;
    /** How much faster a new plan must be predicted than the current one (under the same models) to be tried. */
    static final double SWITCH_GAIN = 0.10;
    /** Requests each candidate plan is measured over. */
    static final int TRIAL_REQUESTS = 4;
    /** Times the candidates take turns: a shared machine's speed wanders, and turns compare over the same time. */
    static final int TRIAL_ROUNDS = 2;
    /** A plan's requests during which the coordinator's JIT compiled for longer than this are cold, up to a few. */
    static final long JIT_QUIET_MS = 2;
    static final double JIT_QUIET_SHARE = 0.02;
    public static final int MAX_COMPILED_IN_ROW = 6;

    private final PrintWriter log;
    private final NodeModels models;
    private LayerGraph graph;
    private int[] outputs;
    private LatencyModel[] planModels;
    private LinkModel planLinks;
    private PlanChoice choice;
    private MessageCosts costs = new MessageCosts();
    private ObjectiveSearch search;
    private int lateInRow; // learnt requests in a row that missed the objective's deadline
    private int sinceDeadlinePlan = Integer.MAX_VALUE / 2; // learnt requests since deadline misses last re-planned
    /** Per state of the links (the slowest link's rate), the plan chosen there, for the devices of the trials. */
    private final org.coedge.planner.BandwidthStates<PlanChoice> states = new org.coedge.planner.BandwidthStates<>();
    private double driftThreshold = DRIFT;
    private int requestsUnderPlan;
    private java.util.function.LongSupplier compiledMs = () -> 0; // none: the JIT is not watched
    private long lastCompiledMs;
    private int compiledInRow;
    private PlanTrials trials;
    private boolean trialsEnabled = true;
    private int[] trialNodes; // the node ids the trials are of; other devices start new trials
    private boolean switchPlan; // the trials want the next request under another plan
    private ClusterView lastView; // the devices as last seen, for the links
    private final Map<String, Learnt> learntUnder = new HashMap<>(); // by candidate shape, during a trial

    public AdaptivePlanPolicy(final PrintWriter log)
    {
        this.log = log;
        this.models = new NodeModels(log);
        this.search = new ObjectiveSearch(PlanObjective.LATENCY, log);
    }

    /** @return the prediction of {@code plan} on the current models, for the layers it gathers. */
    private Prediction predict(final Plan plan)
    {
        return PlanSimulator.predict(graph, plan, plan.outputsOr(outputs), planModels, planLinks);
    }

    /** Sets what the searches optimise (latency by default); call before the first plan. */
    public AdaptivePlanPolicy objective(final PlanObjective objective)
    {
        search = new ObjectiveSearch(objective, log);
        return this;
    }

    /** @return what the searches optimise, with the exits, power models and warning of the last one. */
    public ObjectiveSearch search()
    {
        return search;
    }

    /** Sets how far measured times may stray from their baseline before they count as drift; for tests. */
    AdaptivePlanPolicy drift(final double threshold)
    {
        driftThreshold = threshold;
        trials = null;
        return this;
    }

    /**
     * Sets what tells how long the JIT compiler has worked (ms): requests during which it compiled are not learnt
     * from. None by default (a pure policy does not read its JVM); the coordinator gives its JVM's, tests a fake.
     */
    public AdaptivePlanPolicy compilerClock(final java.util.function.LongSupplier ms)
    {
        compiledMs = ms;
        lastCompiledMs = ms.getAsLong();
        return this;
    }

    /** Turns the measured trial of candidate plans on or off (on by default); off runs the predicted-fastest plan. */
    AdaptivePlanPolicy trial(final boolean on)
    {
        trialsEnabled = on;
        return this;
    }

    @Override
    public Plan plan(final LayerGraph graph, final int[] outputLayers, final ClusterView view, final long epoch)
    {
        this.graph = graph;
        this.outputs = outputLayers.clone();
        final int n = view.deviceCount();
        planModels = new LatencyModel[n];
        final int[] nodes = new int[n];
        for (int d = 0; d < n; d++)
        {
            planModels[d] = models.of(graph, view, d);
            nodes[d] = view.nodeId(d);
        }
        lastView = view;
        planLinks = links(view);
        requestsUnderPlan = 0;
        search.newPlan();
        switchPlan = false;
        if (trials != null && Arrays.equals(nodes, trialNodes))
        {
            // the same devices: the plan the trials run now
            final Plan again = trials.current().withEpoch(epoch);
            choice = new PlanChoice(again, null, predict(again), trials.currentName(), choice.candidates(),
                choice.fastestAloneNs(), choice.fastestDevice());
        }
        else
        {
            search.devices(view);
            final PlanChoice searched = search.search(graph, outputLayers, planModels, planLinks, epoch);
            choice = searched;
            trials = search.newTrials(TRIAL_REQUESTS, TRIAL_ROUNDS, driftThreshold, DRIFT_REQUESTS);
            trialNodes = nodes;
            states.clear();
            final List<Plan> candidates = new ArrayList<>(List.of(searched.plan()));
            final List<String> names = new ArrayList<>(List.of(searched.description()));
            if (trialsEnabled && n > 1)
            {
                for (final PlanChoice atExit : search.exitChoices())
                {
                    // under the accuracy objective every exit's fastest plan is measured: the most accurate one
                    // that meets the deadline in nearly every request wins
                    addIfFits(atExit.plan(), atExit.description(), candidates, names);
                }
                if (search.latencyChoice() != null)
                {
                    addIfFits(search.latencyChoice().plan(), search.latencyChoice().description() + " (fastest)",
                        candidates, names);
                }
                if (search.objective().kind() != PlanObjective.Kind.ACCURACY)
                {
                    addRobustCandidates(searched, epoch, candidates, names);
                }
            }
            trials.start(candidates, names);
            logDecision();
        }
        log.printf(Locale.ROOT, "coordinator: adaptive plan epoch %d: %s; predicted %.2f ms (fastest device alone, " +
            "%d: %.2f ms; %d candidates)%n", epoch, choice.description(), choice.prediction().endNs() * 1e-6,
            choice.fastestDevice(), choice.fastestAloneNs() * 1e-6, choice.candidates());
        return choice.plan();
    }

    /**
     * Adds the plans that do not stand on the models being right: the device predicted fastest alone, and rows of
     * every spatial layer over every device in proportion to its predicted speed alone (exchange per layer, the head
     * on the coordinator), each where it fits every device's memory.
     */
    private void addRobustCandidates(final PlanChoice searched, final long epoch, final List<Plan> candidates,
        final List<String> names)
    {
        final int n = planModels.length;
        final int fastest = searched.fastestDevice();
        final double[] unit = new double[n];
        unit[fastest] = 1;
        addIfFits(org.coedge.planner.Planner.hybrid(graph, unit, 1, -1, fastest, epoch, false),
            "everything on device " + fastest, candidates, names);
        final double[] speeds = new double[n];
        for (int d = 0; d < n; d++)
        {
            final double[] only = new double[n];
            only[d] = 1;
            final Plan alone = org.coedge.planner.Planner.hybrid(graph, only, 1, -1, d, epoch, false);
            speeds[d] = 1 / PlanSimulator.predict(graph, alone, outputs, planModels, planLinks).endNs();
        }
        addIfFits(org.coedge.planner.Planner.proportional(graph, speeds, 1, epoch),
            "rows of every layer over all devices in proportion to their speeds", candidates, names);
    }

    private void addIfFits(final Plan plan, final String name, final List<Plan> candidates, final List<String> names)
    {
        final Prediction p = predict(plan);
        for (int d = 0; d < planModels.length; d++)
        {
            if (p.memoryBytes(d) > planModels[d].memoryBytes())
            {
                return;
            }
        }
        candidates.add(plan);
        names.add(name);
    }

    private void logDecision()
    {
        if (!trials.decision().isEmpty())
        {
            log.println("coordinator: " + trials.decision());
        }
    }

    @Override
    public void learn(final Plan plan, final List<DeviceProgram> programs, final RequestTimes times)
    {
        final long compiledNow = compiledMs.getAsLong();
        final long jitMs = compiledNow - lastCompiledMs;
        lastCompiledMs = compiledNow;
        if (choice == null || plan != choice.plan())
        {
            return;
        }
        double requestNs = 0;
        for (int i = 0; i < times.stepCount(0); i++)
        {
            requestNs += times.stepNs(0, i);
        }
        if (requestsUnderPlan++ == 0)
        {
            // the first request under a plan is cold (new buffers touched, new code paths compiled): it says
            // little of the devices, and taken as drift it made plans follow their own start-up
            return;
        }
        if (jitMs > Math.max(JIT_QUIET_MS, JIT_QUIET_SHARE * requestNs * 1e-6) && compiledInRow < MAX_COMPILED_IN_ROW)
        {
            // so are requests during which the coordinator's compiler worked (a plan's first requests on new row
            // counts recompile kernels, and under a quota on the compute's budget): measured in a trial or taken
            // as drift, they chose plans after the compiler; a compiler that never rests is believed after a while
            compiledInRow++;
            return;
        }
        compiledInRow = 0;
        final double[] computeNs = new double[programs.size()];
        final double[] sends = new double[64];
        final long[] sentNs = new long[programs.size()];
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
            double waited = 0;
            int awaits = 0;
            for (int i = 0; i < steps.size(); i++)
            {
                final Step s = steps.get(i);
                final long ns = times.stepNs(d, i);
                if (s.kind() == Step.Kind.COMPUTE)
                {
                    computeNs[d] += ns;
                    planModels[d].observe(s, Math.round(ns * workShare));
                }
                else if (s.kind() == Step.Kind.AWAIT)
                {
                    waited += ns;
                    awaits++;
                }
                else if (s.kind() == Step.Kind.SEND && ns > 0)
                {
                    sentNs[d] += ns;
                    if (sendCount < sends.length)
                    {
                        sends[sendCount++] = ns;
                    }
                }
            }
            planModels[d].endRequest();
            if (awaits > 0)
            {
                waitedNs[d] = waited;
                awaitCount[d] = awaits;
            }
        }
        final Prediction again = predict(choice.plan());
        costs.waits(again, waitedNs, awaitCount);
        search.measured(requestNs, again.endNs());
        costs.sends(sends, sendCount);
        final long deadlineNs = search.objective().deadlineNs();
        lateInRow = deadlineNs > 0 && requestNs > deadlineNs ? lateInRow + 1 : 0;
        sinceDeadlinePlan++;
        final boolean wasTrying = trials.trying();
        final long[] computedNs = new long[computeNs.length];
        for (int d = 0; d < computedNs.length; d++)
        {
            computedNs[d] = Math.round(computeNs[d]);
        }
        final boolean turnOver = trials.record(requestNs, computeNs,
            search.score(choice.plan(), programs, computedNs, sentNs, requestNs));
        switchPlan |= turnOver;
        logDecision();
        if (wasTrying && (turnOver || !trials.trying()))
        {
            // what each candidate's own requests taught, as its turn ends: the plan chosen goes on from that, not
            // from what the others' did to the models (a slow fused plan's waits taught a per-message latency the
            // plan chosen over it does not pay)
            learntUnder.put(choice.plan().shape(), new Learnt());
            if (!trials.trying())
            {
                final Learnt chosen = learntUnder.get(trials.current().shape());
                learntUnder.clear();
                if (chosen != null)
                {
                    chosen.restore();
                }
                if (!switchPlan)
                {
                    choice = new PlanChoice(choice.plan(), choice.programs(), predict(choice.plan()),
                        choice.description(), choice.candidates(), choice.fastestAloneNs(), choice.fastestDevice());
                }
            }
        }
    }

    /** The models and message costs as one candidate's requests left them. */
    private final class Learnt
    {
        private final LatencyModel[] learnt = new LatencyModel[planModels.length];
        private final MessageCosts learntCosts = costs.copy();

        Learnt()
        {
            for (int d = 0; d < learnt.length; d++)
            {
                learnt[d] = planModels[d].copy();
            }
        }

        void restore()
        {
            for (int d = 0; d < learnt.length && d < planModels.length; d++)
            {
                planModels[d] = learnt[d].copy();
                models.put(trialNodes[d], planModels[d]);
            }
            costs = learntCosts.copy();
            planLinks = links(lastView);
        }
    }

    /**
     * @return the predicted CPU work of device {@code d}'s compute steps over their predicted wall time, at least
     * its quota's share; 1 without a quota.
     */
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
                work += planModels[d].predictNs(s);
            }
        }
        final double wall = choice.prediction().computeNs(d);
        // at least the quota's share: a prediction gone wrong must not shrink what is learnt without bound
        final double floor = Math.min(1, planModels[d].quota().cores());
        return work > 0 && wall > 0 ? Math.max(floor, Math.min(1, work / wall)) : 1;
    }

    @Override
    public boolean wantsReplan(final ClusterView now)
    {
        if (switchPlan)
        {
            switchPlan = false;
            return true;
        }
        // a trial's candidates may miss the deadline: that is what it measures
        final boolean late = trials != null && !trials.trying() && missedDeadline();
        if (trials == null || !trials.drifted() && !late)
        {
            return false;
        }
        if (late)
        {
            log.printf(Locale.ROOT, "coordinator: %d requests in a row missed the deadline of %.2f ms; planning " +
                "again on what they measured%n", DRIFT_REQUESTS, search.objective().deadlineNs() * 1e-6);
        }
        else if (search.objective().kind() == PlanObjective.Kind.ACCURACY)
        {
            // an exit that meets its deadline stays: a re-plan on drift switches exits and code paths (the JIT
            // compiles on the device's budget), and cost more missed deadlines than the drift
            trials.rebase();
            return false;
        }
        // the devices changed: judge from what they do now, not from the medians of before
        for (final LatencyModel m : planModels)
        {
            m.keepLatest(DRIFT_REQUESTS);
        }
        lastView = now;
        planLinks = links(now);
        final Prediction current = predict(choice.plan());
        final PlanChoice better = search.search(graph, outputs, planModels, planLinks, choice.plan().epoch());
        final String drift = late ? "missed deadlines" : trials.decision();
        if (search.better(better.prediction(), current, SWITCH_GAIN) &&
            !better.plan().shape().equals(choice.plan().shape()))
        {
            // measure the new plan against the current one (which runs on first: no re-plan for it)
            log.printf(Locale.ROOT, "coordinator: %s, and a plan predicted %.2f ms instead of %.2f ms is at hand%n",
                drift, better.prediction().endNs() * 1e-6, current.endNs() * 1e-6);
            trials.start(List.of(choice.plan(), better.plan()), List.of(choice.description(), better.description()));
            learntUnder.clear();
            logDecision();
            choice = new PlanChoice(choice.plan(), choice.programs(), current, choice.description(),
                better.candidates(), better.fastestAloneNs(), better.fastestDevice());
            requestsUnderPlan = 1; // warm: its next request counts
            return false;
        }
        log.printf(Locale.ROOT, "coordinator: %s; no plan is predicted %.0f%% faster, keeping this one%n", drift,
            SWITCH_GAIN * 100);
        trials.rebase();
        choice = new PlanChoice(choice.plan(), choice.programs(), current, choice.description(), choice.candidates(),
            choice.fastestAloneNs(), choice.fastestDevice());
        return false;
    }

    /**
     * @return whether the objective has a deadline and the last {@value #DRIFT_REQUESTS} requests under the current
     * plan all missed it (the prediction that chose the plan was wrong: plan again on the models the requests
     * refined); counts from there again.
     */
    private boolean missedDeadline()
    {
        if (lateInRow < DRIFT_REQUESTS || sinceDeadlinePlan < DEADLINE_COOLDOWN)
        {
            return false;
        }
        lateInRow = 0;
        sinceDeadlinePlan = 0;
        return true;
    }

    /**
     * A link's rate changed: the plan for the new rates is the one remembered for them (a rate seen before) or a new
     * search's, taken at once, without a trial (the change is measured, and a trial would run requests under plans
     * made for the old rates); it becomes the baseline drift is judged against.
     */
    @Override
    public boolean linksChanged(final ClusterView now)
    {
        if (choice == null)
        {
            return false;
        }
        // the plan in force is what the trials or the search chose for the rates before the change
        final double before = bottleneck(lastView);
        final double level = bottleneck(now);
        if (before <= 0 || level <= 0)
        {
            return false;
        }
        states.remember(before, choice);
        lastView = now;
        planLinks = links(now);
        // rates seen by a probe and by a request's transfer can differ by a few times on one link: a remembered
        // state within the change that makes a re-plan is the same state
        PlanChoice known = states.lookup(level);
        known = known != null ? known : states.nearest(level, LINK_CHANGE + 1);
        final PlanChoice searched = known == null ?
            search.search(graph, outputs, planModels, planLinks, choice.plan().epoch()) :
            new PlanChoice(known.plan().withEpoch(choice.plan().epoch()), null, predict(known.plan()),
                known.description() + " (as before at this link rate)", known.candidates(), known.fastestAloneNs(),
                known.fastestDevice());
        final Prediction current = predict(choice.plan());
        trials.rebase();
        learntUnder.clear();
        if (searched.plan().shape().equals(choice.plan().shape()) ||
            !search.better(searched.prediction(), current, SWITCH_GAIN))
        {
            log.printf(Locale.ROOT, "coordinator: links changed; the plan stays (predicted %.2f ms)%n",
                current.endNs() * 1e-6);
            states.remember(level, choice);
            choice = new PlanChoice(choice.plan(), choice.programs(), current, choice.description(),
                choice.candidates(), choice.fastestAloneNs(), choice.fastestDevice());
            return false;
        }
        states.remember(level, searched);
        log.printf(Locale.ROOT, "coordinator: links changed; switching to %s (predicted %.2f ms, the current plan " +
            "%.2f ms)%n", searched.description(), searched.prediction().endNs() * 1e-6, current.endNs() * 1e-6);
        trials.start(List.of(searched.plan()), List.of(searched.description()));
        choice = searched;
        return true;
    }

    /** @return the slowest worker link's rate in {@code view} (what a state of the links is known by), 0 alone. */
    private static double bottleneck(final ClusterView view)
    {
        double min = Double.POSITIVE_INFINITY;
        for (int d = 1; d < view.deviceCount(); d++)
        {
            min = Math.min(min, view.bytesPerSecond(d) > 0 ? view.bytesPerSecond(d) :
                MessageCosts.DEFAULT_BYTES_PER_SECOND);
        }
        return Double.isInfinite(min) ? 0 : min;
    }

    @Override
    public boolean exploring()
    {
        return trials != null && trials.trying();
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

    private LinkModel links(final ClusterView view)
    {
        return costs.links(view);
    }
}
