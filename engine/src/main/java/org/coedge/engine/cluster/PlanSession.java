package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

import org.agrona.CloseHelper;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Plan;
import org.coedge.planner.Step;
import org.coedge.planner.StepCompiler;
import org.coedge.transport.RowBlockReceiver;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;
import org.coedge.transport.sbe.Status;
import org.coedge.planner.policy.ClusterView;
import org.coedge.planner.policy.PlanPolicy;
import org.coedge.planner.policy.RequestTimes;

/**
 * The coordinator's current plan and everything made from it: the epoch, the devices' programs, the workers the plan
 * runs on, and the coordinator's own {@link DeviceSlot} (its prepared slice and the Aeron exchange). To plan, it
 * shows the {@link PlanPolicy} a {@link ClusterView} of the live workers, compiles the plan, sends it to every
 * worker, waits for each to acknowledge it, and connects the data path; a worker that refuses the plan or goes
 * silent is left out and the next epoch is planned without it. After every successful request it takes the
 * devices' step times ({@link RequestTimes}) into the {@link SpeedBook} and hands them to the policy, which may ask
 * for a new plan.
 * <p>
 * Built and driven by {@link Coordinator}; its {@link #hook()} is how every wait of the coordinator's own steps (and
 * of a probe) polls control and notices a dead or failed worker of the plan. Coordinator's thread only.
 */
final class PlanSession implements AutoCloseable
{
    /** Preparing a plan is heavy on a small board: allow a few heartbeats' worth more silence than in a request. */
    private static final int PLAN_SILENCE_FACTOR = 5;

    private final TransportNode node;
    private final Membership membership;
    private final ModelRef model;
    private final SpeedBook speeds;
    private final int threads;
    private final long timeoutNs;
    private final long ackTimeoutNs;
    private final PrintWriter log;
    private final SecureRandom random = new SecureRandom();
    private final Map<Integer, RowBlockReceiver> receivers = new HashMap<>();
    private final WaitHook hook = this::keepWaiting;
    private PlanPolicy policy;

    private long epoch;
    private Plan plan;
    private int fuseDepth;
    private List<DeviceProgram> programs;
    private Worker[] planWorkers = new Worker[0]; // device d (>= 1) is planWorkers[d - 1]
    private DeviceSlot slot;
    private RequestTimes times;
    private ToIntFunction<Worker> planMessage; // sends the current plan to a worker
    private boolean policyWantsReplan;
    private boolean learning = true;
    private DeviceProfile selfProfile;
    private String selfPower = "";
    // what planning costs the coordinator's requests: wall time of the policy's learning and of re-plans
    private long policyNs;
    private long policyMaxNs;
    private int policyCalls;
    private long replanNs;
    private long replanMaxNs;
    private int replans;

    /**
     * @param timeoutNs    how long a device waits for one row block.
     * @param ackTimeoutNs how long a plan may go unacknowledged by a worker that still sends heartbeats.
     */
    PlanSession(
        final TransportNode node, final Membership membership, final ModelRef model, final SpeedBook speeds,
        final int threads, final long timeoutNs, final long ackTimeoutNs, final PrintWriter log)
    {
        this.node = node;
        this.membership = membership;
        this.model = model;
        this.speeds = speeds;
        this.threads = threads;
        this.timeoutNs = timeoutNs;
        this.ackTimeoutNs = ackTimeoutNs;
        this.log = log;
    }

    /** Sets the policy that chooses plans; before the first {@link #replan()}. */
    void policy(final PlanPolicy policy)
    {
        this.policy = policy;
    }

    PlanPolicy policy()
    {
        return policy;
    }

    /** @return true when a worker joined again or the policy asked for a new plan since the last one. */
    boolean replanNeeded()
    {
        return policyWantsReplan || membership.replanNeeded();
    }

    /** Sets the power model the coordinator states of itself (the text of {@code --power}; "" for none). */
    void selfPower(final String power)
    {
        selfPower = power == null ? "" : power;
    }

    /** Sets what the coordinator measured of itself on the model, for the policy's view of device 0. */
    void selfProfile(final DeviceProfile profile)
    {
        selfProfile = profile;
    }

    /** Plans over the coordinator and the live workers (epoch + 1), until every worker of the plan is ready. */
    void replan()
    {
        final long t0 = System.nanoTime();
        try
        {
            replanLive();
        }
        finally
        {
            final long ns = System.nanoTime() - t0;
            replanNs += ns;
            replanMaxNs = Math.max(replanMaxNs, ns);
            replans++;
        }
    }

    private void replanLive()
    {
        final List<Worker> live = membership.live();
        while (true)
        {
            epoch++;
            membership.epoch(epoch);
            final int[] nodes = new int[live.size() + 1];
            final String[] endpoints = new String[nodes.length];
            endpoints[0] = live.isEmpty() ? node.endpoint() : membership.replyEndpoint(live.get(0));
            for (int i = 0; i < live.size(); i++)
            {
                nodes[i + 1] = live.get(i).nodeId;
                endpoints[i + 1] = live.get(i).endpoint;
            }
            plan = policy.plan(model.graph, model.outputLayers, view(live), epoch);
            if (plan.deviceCount() != nodes.length || plan.epoch() != epoch)
            {
                throw new IllegalStateException("plan policy " + policy.getClass().getSimpleName() + " returned a " +
                    "plan for " + plan.deviceCount() + " device(s) of epoch " + plan.epoch() + ", asked for " +
                    nodes.length + " of epoch " + epoch);
            }
            fuseDepth = policy.fuseDepth();
            programs = StepCompiler.compile(model.graph, plan, plan.outputsOr(model.outputLayers));
            planWorkers = live.toArray(new Worker[0]);
            final int termLength = termLength(programs);
            final int sessionBase = 4096 + random.nextInt(1 << 28);
            final int mtu = node.context().mtuLength();
            final int[][] layers = PlanCodec.stageLayers(plan);
            final int[][] rows = PlanCodec.stageRows(plan);
            final long planEpoch = epoch;
            final int[] gathered = plan.outputs();
            planMessage = w -> membership.proxy().plan(w.control, planEpoch, sessionBase, termLength,
                TimeUnit.NANOSECONDS.toMillis(timeoutNs), mtu, nodes, endpoints, layers, rows, gathered);
            for (final Worker w : planWorkers)
            {
                w.ackEpoch = -1;
                w.lastSentNs = System.nanoTime();
                planMessage.applyAsInt(w);
            }
            // the old slot's weights, arena and scratch are freed before the new slot packs its own
            CloseHelper.quietClose(slot);
            slot = null;
            final AeronExchange exchange = new AeronExchange(node, 0, programs, nodes, endpoints,
                membership.sessionToken(), epoch, sessionBase, termLength, mtu, timeoutNs, hook, receivers);
            try
            {
                slot = new DeviceSlot(epoch, model.model, model.inputDims, programs, 0, threads, exchange);
            }
            catch (final RuntimeException | Error e)
            {
                CloseHelper.quietClose(exchange);
                throw e;
            }
            membership.clearFailure();
            final Worker failed = awaitAcks();
            if (failed == null && exchange.awaitConnected(System.nanoTime() + TimeUnit.SECONDS.toNanos(10)))
            {
                membership.clearReplanNeeded();
                policyWantsReplan = false;
                times = new RequestTimes(programs);
                return;
            }
            if (failed != null)
            {
                log.println("coordinator: worker " + failed.nodeId + " cannot take plan epoch " + epoch + ": " +
                    failed.ackError);
                failed.alive = false;
                live.remove(failed);
            }
        }
    }

    /** @return the devices of a plan over {@code workers} as the policy sees them now. */
    private ClusterView view(final List<Worker> workers)
    {
        final int n = workers.size() + 1;
        final int[] nodes = new int[n];
        final double[] calibrated = new double[n];
        final double[] measured = new double[n];
        final long[] memory = new long[n];
        final double[] rttNs = new double[n];
        final double[] bytesPerSecond = new double[n];
        final DeviceProfile[] profiles = new DeviceProfile[n];
        profiles[0] = selfProfile;
        calibrated[0] = speeds.calibrated(0);
        measured[0] = speeds.measured(0);
        memory[0] = selfProfile != null ? selfProfile.memoryBytes() : Runtime.getRuntime().maxMemory();
        for (int i = 0; i < workers.size(); i++)
        {
            final Worker w = workers.get(i);
            nodes[i + 1] = w.nodeId;
            calibrated[i + 1] = speeds.calibrated(w.nodeId);
            measured[i + 1] = speeds.measured(w.nodeId);
            memory[i + 1] = w.memoryLimitBytes;
            rttNs[i + 1] = w.rttNs;
            bytesPerSecond[i + 1] = w.bytesPerSecond;
            profiles[i + 1] = w.profile;
        }
        return new ClusterView(nodes, calibrated, measured, speeds.estimates(nodes), memory, rttNs, bytesPerSecond,
            speeds.headSeconds(), profiles).withPowers(powers(workers));
    }

    /**
     * Whether requests refine the rates and models from now on (true by default). Warm-up requests should not: in a
     * fresh JVM under a CPU quota the JIT compiles for tens of requests on the device's own budget, and a policy
     * that learnt from them re-planned after the compiler rather than after the devices.
     */
    void learning(final boolean on)
    {
        learning = on;
    }

    /**
     * Takes the times of the request that just succeeded: every device's step durations into {@link #times()}, the
     * compute rates and the head's time into the speed book, then all of it to the policy, which may ask for a new
     * plan from the next request on.
     */
    void learn()
    {
        final List<Step> steps = programs.get(0).steps();
        long headNs = 0;
        long spatialNs = 0;
        for (int i = 0; i < steps.size(); i++)
        {
            final long ns = slot.runner.stepNs(i);
            times.stepNs(0, i, ns);
            if (steps.get(i).kind() == Step.Kind.COMPUTE)
            {
                if (steps.get(i).layer() >= model.graph.firstGlobalLayer())
                {
                    headNs += ns;
                }
                else
                {
                    spatialNs += ns;
                }
            }
        }
        final int[] nodes = new int[planWorkers.length + 1];
        final long[] computeNs = new long[nodes.length];
        computeNs[0] = spatialNs;
        for (int i = 0; i < planWorkers.length; i++)
        {
            final Worker w = planWorkers[i];
            nodes[i + 1] = w.nodeId;
            computeNs[i + 1] = w.computeNs;
            times.reported(i + 1, w.stepDurationNs, w.stepCount);
        }
        if (!learning)
        {
            return; // a warm-up request: its times are kept for the trace, not learnt from
        }
        speeds.learn(model.graph, programs, nodes, computeNs, headNs);
        for (final Worker w : planWorkers)
        {
            w.measuredFlopsPerSecond = speeds.measured(w.nodeId);
        }
        final long t0 = System.nanoTime();
        policy.learn(plan, programs, times);
        if (policy.wantsReplan(view(List.of(planWorkers))))
        {
            policyWantsReplan = true;
        }
        final long ns = System.nanoTime() - t0;
        policyNs += ns;
        policyMaxNs = Math.max(policyMaxNs, ns);
        policyCalls++;
    }

    /** @return whether requests refine the rates and models ({@link #learning(boolean)}). */
    boolean learning()
    {
        return learning;
    }

    /** @return per device of a plan over {@code workers} the power model it stated (its text), "" for none. */
    String[] powers(final List<Worker> workers)
    {
        final String[] powers = new String[workers.size() + 1];
        powers[0] = selfPower;
        for (int i = 0; i < workers.size(); i++)
        {
            powers[i + 1] = workers.get(i).power;
        }
        return powers;
    }

    /** Tells the policy a link's rate changed ({@link LinkWatch}); it may ask for a new plan from the next request. */
    void linksChanged()
    {
        if (policy.linksChanged(view(List.of(planWorkers))))
        {
            policyWantsReplan = true;
        }
    }

    /** @return one line on what planning cost the requests so far: the policy's learning and the re-plans. */
    String overhead()
    {
        return String.format(java.util.Locale.ROOT, "policy %.2f ms over %d requests (at most %.2f ms), %d plan(s) " +
            "made in %.1f ms (at most %.1f ms)", policyNs * 1e-6, policyCalls, policyMaxNs * 1e-6, replans,
            replanNs * 1e-6, replanMaxNs * 1e-6);
    }

    /** @return the first worker of the plan that refused it or went silent, or null when all are ready. */
    private Worker awaitAcks()
    {
        final long peerTimeoutNs = membership.peerTimeoutNs();
        final long deadline = System.nanoTime() + ackTimeoutNs;
        while (true)
        {
            membership.pollControl();
            boolean all = true;
            final long now = System.nanoTime();
            for (final Worker w : planWorkers)
            {
                if (w.ackEpoch == epoch && w.ackStatus != Status.OK)
                {
                    return w;
                }
                if (now - w.lastHeardNs > PLAN_SILENCE_FACTOR * peerTimeoutNs)
                {
                    w.ackError = "silent for " + TimeUnit.NANOSECONDS.toMillis(now - w.lastHeardNs) + " ms";
                    return w;
                }
                if (w.ackEpoch != epoch && now - w.lastSentNs > Coordinator.RESEND_NS)
                {
                    // the worker answers a plan it already has with its ack again, and ignores one it is building
                    w.lastSentNs = now;
                    planMessage.applyAsInt(w);
                }
                all &= w.ackEpoch == epoch;
            }
            if (all)
            {
                return null;
            }
            if (now > deadline)
            {
                for (final Worker w : planWorkers)
                {
                    if (w.ackEpoch != epoch)
                    {
                        w.ackError = "no answer to the plan";
                        return w;
                    }
                }
            }
        }
    }

    /** A term holds twice the most one stream carries per request, so no send waits for a slow reader. */
    private static int termLength(final List<DeviceProgram> programs)
    {
        long most = 0;
        for (final DeviceProgram p : programs)
        {
            final Map<Integer, Long> perPeer = new HashMap<>();
            for (final Step s : p.steps())
            {
                if (s.kind() == Step.Kind.SEND)
                {
                    perPeer.merge(s.peer(), s.bytes() + 2048L, Long::sum);
                }
            }
            for (final long b : perPeer.values())
            {
                most = Math.max(most, b);
            }
        }
        final long wanted = Math.max(TransportContext.MIN_TERM_LENGTH, 2 * most);
        return (int)Math.min(TransportContext.MAX_TERM_LENGTH, Long.highestOneBit(wanted - 1) << 1);
    }

    /**
     * Called from every wait of the coordinator's own steps and probes: polls control and checks that every worker
     * of the plan is alive and none reported the request failed.
     */
    boolean keepWaiting()
    {
        membership.pollBriefly();
        return membership.checkLiveness(planWorkers) && !membership.failureSeen();
    }

    WaitHook hook()
    {
        return hook;
    }

    long epoch()
    {
        return epoch;
    }

    Plan plan()
    {
        return plan;
    }

    int fuseDepth()
    {
        return fuseDepth;
    }

    List<DeviceProgram> programs()
    {
        return programs;
    }

    /** @return the workers of the plan: device {@code d >= 1} is element {@code d - 1} (the array itself). */
    Worker[] planWorkers()
    {
        return planWorkers;
    }

    DeviceSlot slot()
    {
        return slot;
    }

    /** @return the step times of the last successful request (of this epoch, once one ran). */
    RequestTimes times()
    {
        return times;
    }

    @Override
    public void close()
    {
        CloseHelper.quietClose(slot);
    }
}
