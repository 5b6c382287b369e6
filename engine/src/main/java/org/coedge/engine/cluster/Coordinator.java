package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.RowExchange;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Plan;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.ControlAdapter;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.TransportNode;
import org.coedge.transport.sbe.Status;
import org.coedge.planner.policy.AdaptivePlanPolicy;
import org.coedge.planner.policy.ObjectiveSearch;
import org.coedge.planner.policy.PlanObjective;
import org.coedge.planner.policy.PlanPolicy;
import org.coedge.planner.policy.Planners;
import org.coedge.planner.policy.RequestTimes;
import org.coedge.planner.policy.SharePlanPolicy;
import org.coedge.planner.policy.SharePolicy;

/**
 * The coordinator of a cooperative run ({@code coedge run --peers}): device 0 of every plan. It joins the workers
 * ({@link Membership}), calibrates itself, probes each link ({@link LinkProber}), has a {@link PlanPolicy} choose a
 * plan and distributes it ({@link PlanSession}), and then runs requests: it scatters the input rows, computes its
 * own slice, and gathers the output.
 * <p>
 * A worker silent for longer than the peer timeout, or one that reports a failure, fails the request in flight: the
 * coordinator aborts it on the others, plans again without the failed worker (epoch + 1) and runs the same request
 * again, so the caller still gets its result. A failed worker is asked to join again once a second; when it answers,
 * the next request is planned with it.
 * <p>
 * Used by {@code coedge run --peers}, {@code coedge demo} and the testbed. Single-threaded: everything, including
 * polling control messages while it waits for rows, runs on the caller's thread.
 */
public final class Coordinator implements AutoCloseable
{
    /** Fuse depth meaning "choose by estimate". */
    public static final int FUSE_AUTO = org.coedge.planner.policy.SharePlanPolicy.FUSE_AUTO;
    /** A join, plan or request not yet answered is sent again this often (a JVM may stall for seconds). */
    static final long RESEND_NS = TimeUnit.MILLISECONDS.toNanos(500);
    private static final int MAX_ATTEMPTS = 4;
    private static final long JOIN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    private final ModelRef model;
    private final int threads;
    private final int fuse;
    private final long timeoutNs;
    private final long peerTimeoutNs;
    private final PrintWriter log;
    private final SpeedBook speeds;
    private final Membership membership;
    private final PlanSession planning;
    private final LinkProber prober;
    private final LinkWatch linkWatch;

    private String planner = Planners.ADAPTIVE;
    private PlanObjective objective = PlanObjective.LATENCY;
    private DeviceProfiler profiler; // null: the machine's defaults, made at start
    private DeviceProfile selfProfile;
    private PlanPolicy planPolicy;
    private double replanImbalance = SharePlanPolicy.REPLAN_IMBALANCE;
    private double selfFlops;
    private long requestId;
    private int attemptsLastRun;
    private long requestStartNs; // when the last request was sent (the origin of its time line)
    private long lastLatencyNs; // the last request's, from infer's call to its outputs (retries and re-plans in)

    /**
     * @param fuse       fuse depth, or {@link #FUSE_AUTO}.
     * @param timeoutNs  how long a device waits for one row block (a peer's death is found sooner, by heartbeat).
     */
    public Coordinator(
        final TransportNode node, final ClusterKey key, final Path modelFile, final Model model,
        final Map<String, long[]> inputDims, final List<String> peers, final int threads, final int fuse,
        final long timeoutNs, final PrintWriter log)
    {
        this.threads = threads;
        this.fuse = fuse;
        this.timeoutNs = timeoutNs;
        this.peerTimeoutNs = node.context().peerTimeoutNs();
        this.log = log;
        try
        {
            this.model = new ModelRef(modelFile.toAbsolutePath(), ModelRef.sha256(modelFile), model, inputDims);
        }
        catch (final java.io.IOException e)
        {
            throw new IllegalArgumentException("cannot read " + modelFile + ": " + e.getMessage(), e);
        }
        this.speeds = new SpeedBook(peers.size() + 1);
        this.membership = new Membership(node, key, this.model, peers, JOIN_TIMEOUT_NS, speeds, log);
        this.planning = new PlanSession(node, membership, this.model, speeds, threads, timeoutNs, JOIN_TIMEOUT_NS,
            log);
        this.prober = new LinkProber(node, membership, planning.hook(), log);
        this.linkWatch = new LinkWatch(prober::burst, log);
        linkWatch.coordinatorClock(this::stepStartNs);
    }

    /** Sets how this device (device 0) profiles the model at {@link #start}: its memory limit and cache. */
    public Coordinator profiler(final DeviceProfiler profiler)
    {
        this.profiler = profiler;
        return this;
    }

    /** @return the profile of device {@code nodeId} (0: this one), or null if it has none (yet). */
    public DeviceProfile profile(final int nodeId)
    {
        final Worker w = nodeId == 0 ? null : membership.worker(nodeId);
        return nodeId == 0 ? selfProfile : w == null ? null : w.profile;
    }

    /** Sets the power model this device states of itself (the text of {@code --power}; "" for none). */
    public Coordinator power(final String power)
    {
        planning.selfPower(power);
        return this;
    }

    /**
     * Sets what the adaptive planner optimises (latency by default); call before {@link #start()}.
     *
     * @throws IllegalArgumentException at {@link #start()} if another planner is chosen with a deadline objective.
     */
    public Coordinator objective(final PlanObjective objective)
    {
        this.objective = objective;
        return this;
    }

    public PlanObjective objective()
    {
        return objective;
    }

    /**
     * @return the joules one request under the current plan is predicted to cost under the devices' stated power
     * models, NaN when the adaptive planner did not plan it or a device that takes part stated none.
     */
    public double predictedJoules()
    {
        return planning.policy() instanceof AdaptivePlanPolicy &&
            ((AdaptivePlanPolicy)planning.policy()).choice() != null ?
            ObjectiveSearch.joules(((AdaptivePlanPolicy)planning.policy()).choice().prediction(), powers()) :
            Double.NaN;
    }

    /** @return the index of the exit the current plan answers from, -1 when it gathers the model's outputs. */
    public int exit()
    {
        return planning.plan() == null || !(planning.policy() instanceof AdaptivePlanPolicy) ? -1 :
            ((AdaptivePlanPolicy)planning.policy()).search().exitOf(planning.plan());
    }

    /** @return per device of the current plan the power model it stated (its text), "" where it stated none. */
    public String[] powers()
    {
        return planning.powers(List.of(planning.planWorkers()));
    }

    /** Chooses how rows are shared by one of the fixed share rules instead of the adaptive planner. */
    public Coordinator sharePolicy(final SharePolicy policy)
    {
        return planner(policy.label());
    }

    /**
     * Chooses the planner by its command-line name ({@link Planners}: {@code adaptive}, the default, or a share
     * rule); call before {@link #start()}.
     */
    public Coordinator planner(final String name)
    {
        this.planner = Planners.canonical(name);
        return this;
    }

    /**
     * Chooses plans with {@code policy} instead of the default ({@link SharePlanPolicy} over the share policy and
     * fuse depth given); call before {@link #start()}.
     */
    public Coordinator planPolicy(final PlanPolicy policy)
    {
        this.planPolicy = policy;
        return this;
    }

    /** Joins every peer, calibrates, probes the links and makes the first plan. */
    public void start()
    {
        membership.joinAll();
        selfFlops = Calibration.flopsPerSecond(threads);
        speeds.calibrated(0, selfFlops);
        selfProfile = (profiler != null ? profiler : DeviceProfiler.defaults(threads))
            .profileOrNull(model, selfFlops, log, "coordinator");
        planning.selfProfile(selfProfile);
        for (final Worker w : membership.workers())
        {
            if (w.alive)
            {
                prober.probe(w);
            }
        }
        final PlanPolicy policy = planPolicy != null ? planPolicy :
            Planners.create(planner, fuse, replanImbalance, log);
        if (planPolicy == null && policy instanceof AdaptivePlanPolicy)
        {
            // requests during which this JVM compiled are not learnt from (a policy given by the caller keeps its own)
            ((AdaptivePlanPolicy)policy).compilerClock(JitClock::compiledMs);
        }
        if (policy instanceof AdaptivePlanPolicy)
        {
            ((AdaptivePlanPolicy)policy).objective(objective);
            if (objective.kind() == PlanObjective.Kind.ACCURACY)
            {
                model.exitsInto(((AdaptivePlanPolicy)policy).search(), log);
            }
        }
        else if (objective.kind() != PlanObjective.Kind.LATENCY)
        {
            throw new IllegalArgumentException("--objective " + objective + " needs the adaptive planner, not " +
                planner);
        }
        planning.policy(policy);
        planning.replan();
    }

    /**
     * Runs one request cooperatively: inputs (NCHW) in, outputs (NCHW) out. A worker failure is handled by planning
     * again and running the same request again.
     *
     * @throws IllegalStateException if the request fails {@value #MAX_ATTEMPTS} times.
     */
    public void infer(final List<float[]> inputs, final List<float[]> outputs)
    {
        final long inferStartNs = System.nanoTime();
        String lastFailure = "";
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)
        {
            attemptsLastRun = attempt;
            membership.rejoinFailed();
            if (planning.replanNeeded())
            {
                planning.replan();
            }
            final DeviceSlot slot = planning.slot();
            for (int i = 0; i < inputs.size(); i++)
            {
                slot.setInput(i, inputs.get(i));
            }
            requestId++;
            membership.requestId(requestId);
            membership.clearFailure();
            requestStartNs = System.nanoTime();
            final ControlProxy proxy = membership.proxy();
            final Worker[] planWorkers = planning.planWorkers();
            for (int i = 0; i < planWorkers.length; i++)
            {
                final Worker w = planWorkers[i];
                w.requestSentNs = System.nanoTime();
                w.lastSentNs = w.requestSentNs;
                if (planning.programs().get(i + 1).steps().isEmpty())
                {
                    // nothing to do in this plan (everything on another device): not woken, its part done
                    w.idle(requestId);
                }
                else
                {
                    proxy.request(w.control, planning.epoch(), requestId);
                }
            }
            slot.runner.resetTimes();
            final int code = slot.runner.run(requestId);
            final String failure = code == RowExchange.OK ? awaitResults() : describeFailure(code);
            if (failure == null)
            {
                final int[] gathered = planning.plan().outputs();
                for (int i = 0; i < outputs.size(); i++)
                {
                    if (gathered == null || contains(gathered, model.outputLayers[i]))
                    {
                        slot.outputInto(i, outputs.get(i));
                    }
                    else
                    {
                        // an output of another exit than the plan's: not computed, and not to be mistaken for one
                        java.util.Arrays.fill(outputs.get(i), Float.NaN);
                    }
                }
                lastLatencyNs = System.nanoTime() - inferStartNs;
                planning.learn();
                // warm-up requests (a JIT compiling on the device's budget) say nothing of the links either
                if (planning.learning() && linkWatch.afterRequest(planning.programs(), planning.times(),
                    planning.planWorkers(), planning.plan().shape(), lastLatencyNs))
                {
                    planning.linksChanged();
                }
                return;
            }
            lastFailure = failure;
            log.println("coordinator: request " + requestId + " (plan epoch " + planning.epoch() + ") failed: " +
                failure + "; planning again");
            abortAndSettle();
            planning.replan();
        }
        throw new IllegalStateException("request failed " + MAX_ATTEMPTS + " times; last: " + lastFailure);
    }

    private static boolean contains(final int[] values, final int v)
    {
        for (final int x : values)
        {
            if (x == v)
            {
                return true;
            }
        }
        return false;
    }

    private String describeFailure(final int code)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Worker w : planning.planWorkers())
        {
            if (!w.alive)
            {
                sb.append("worker ").append(w.nodeId).append(" silent for over ")
                    .append(TimeUnit.NANOSECONDS.toMillis(peerTimeoutNs)).append(" ms; ");
            }
            else if (w.resultRequest == requestId && w.resultStatus != Status.OK)
            {
                sb.append("worker ").append(w.nodeId).append(": ").append(w.resultError).append("; ");
            }
        }
        // the coordinator's own step failure, unless it only gave up because of a worker named above
        if (sb.length() == 0 || code != RowExchange.ABORTED)
        {
            sb.append(planning.slot().runner.failure());
        }
        return sb.toString();
    }

    /** @return null when every worker of the plan reported success, else what failed. */
    private String awaitResults()
    {
        final long deadline = System.nanoTime() + timeoutNs;
        final Worker[] planWorkers = planning.planWorkers();
        while (true)
        {
            membership.pollControl();
            if (!planning.keepWaiting())
            {
                return describeFailure(RowExchange.ABORTED);
            }
            boolean all = true;
            final long now = System.nanoTime();
            for (final Worker w : planWorkers)
            {
                all &= w.resultRequest == requestId;
                if (w.resultRequest != requestId && now - w.lastSentNs > Math.max(RESEND_NS, peerTimeoutNs))
                {
                    // lost either way: the worker runs a request it has not seen, or sends its result again
                    w.lastSentNs = now;
                    membership.proxy().request(w.control, planning.epoch(), requestId);
                }
            }
            if (all)
            {
                return null;
            }
            if (System.nanoTime() > deadline)
            {
                return "no result within " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms";
            }
        }
    }

    /** Stops the request on every live worker and waits until each has answered or is found dead. */
    private void abortAndSettle()
    {
        final Worker[] planWorkers = planning.planWorkers();
        for (final Worker w : planWorkers)
        {
            if (w.alive)
            {
                membership.proxy().abort(w.control, planning.epoch(), requestId);
            }
        }
        final long deadline = System.nanoTime() + 2 * peerTimeoutNs;
        while (System.nanoTime() < deadline)
        {
            membership.pollControl();
            membership.checkLiveness(planWorkers);
            boolean settled = true;
            for (final Worker w : planWorkers)
            {
                settled &= !w.alive || w.resultRequest == requestId;
            }
            if (settled)
            {
                return;
            }
        }
    }

    /**
     * @param imbalance plan again when the current plan is predicted to finish this many times later than one made
     *                  with the measured rates; infinity to keep plans (tests that need them fixed). Applies to the
     *                  default plan policy; call before {@link #start()}.
     */
    void replanImbalance(final double imbalance)
    {
        this.replanImbalance = imbalance;
    }

    /** @return this session's token (tests forge messages of the session with it). */
    long sessionToken()
    {
        return membership.sessionToken();
    }

    public Plan plan()
    {
        return planning.plan();
    }

    /** @return the fuse depth the plan policy reports for the current plan (0 when it has no single depth). */
    public int fuseDepth()
    {
        return planning.fuseDepth();
    }

    /** @return the planner's view of the model. */
    public org.coedge.planner.LayerGraph graph()
    {
        return model.graph;
    }

    public List<DeviceProgram> programs()
    {
        return planning.programs();
    }

    /** @return the workers of the current plan: device {@code d >= 1} is element {@code d - 1}. */
    public List<Worker> planWorkers()
    {
        return List.of(planning.planWorkers());
    }

    /** @return the plan policy in use (set by {@link #start()} when none was given). */
    public PlanPolicy planPolicy()
    {
        return planning.policy() != null ? planning.policy() : planPolicy;
    }

    /**
     * @return every device's step durations in the last successful request (reused by the next one), or null
     * before the first plan.
     */
    public RequestTimes requestTimes()
    {
        return planning.times();
    }

    public double selfFlopsPerSecond()
    {
        return selfFlops;
    }

    /** @return the coordinator's median rate measured during its last requests, 0 before any. */
    public double selfMeasuredFlopsPerSecond()
    {
        return speeds.measured(0);
    }

    /** @return the median time of the head over the last requests, or -1 before any. */
    public double headSeconds()
    {
        return speeds.headSeconds();
    }

    public long epoch()
    {
        return planning.epoch();
    }

    /** @return attempts the last {@link #infer} took (1 unless a worker failed). */
    public int attemptsLastRun()
    {
        return attemptsLastRun;
    }

    public long computeNs()
    {
        return planning.slot().runner.computeNs();
    }

    /** @return the coordinator's time in step {@code i} of its program in the last request. */
    public long stepNs(final int i)
    {
        return planning.slot().runner.stepNs(i);
    }

    /** @return {@code System.nanoTime()} at the start of the coordinator's step {@code i} in the last request. */
    public long stepStartNs(final int i)
    {
        return planning.slot().runner.stepStartNs(i);
    }

    /** @return {@code System.nanoTime()} when the last request was sent to the workers. */
    public long requestStartNs()
    {
        return requestStartNs;
    }

    /** @return the planner's command-line name ({@code adaptive} unless told otherwise). */
    public String planner()
    {
        return planPolicy != null ? planPolicy.getClass().getSimpleName() : planner;
    }

    public long sendNs()
    {
        return planning.slot().runner.sendNs();
    }

    public long awaitNs()
    {
        return planning.slot().runner.awaitNs();
    }

    public ControlAdapter adapter()
    {
        return membership.adapter();
    }

    /** @return the coordinator's slot of the current plan epoch (this package's tests: what a re-plan frees). */
    DeviceSlot slot()
    {
        return planning.slot();
    }

    /** @return bytes of the coordinator's arena, weights and scratch. */
    public long memoryBytes()
    {
        return planning.slot().memoryBytes();
    }

    /** @return true while the plan policy still measures plans against each other ({@link PlanPolicy#exploring}). */
    public boolean exploring()
    {
        return planning.policy().exploring();
    }

    /** @return one line on what planning cost the requests so far (the policy's learning, the re-plans). */
    public String planningOverhead()
    {
        return planning.overhead() + String.format(java.util.Locale.ROOT, ", link probes %.1f ms in %d, %d link " +
            "change(s), %d transfer sample(s) left out as stalled", linkWatch.probeNs() * 1e-6, linkWatch.probes(),
            linkWatch.changes(), linkWatch.stallSuspects());
    }

    /**
     * @return the last request's latency: from the call of {@link #infer} to its outputs, a re-plan or a retry it
     * needed included, but not what follows its answer (the policy's learning, a link probe between requests).
     */
    public long lastLatencyNs()
    {
        return lastLatencyNs;
    }

    /** Warm-up requests call this with false: they run and answer, but refine no rate or model (see PlanSession). */
    public void learning(final boolean on)
    {
        planning.learning(on);
    }

    @Override
    public void close()
    {
        membership.leaveAll();
        prober.close();
        planning.close();
    }
}
