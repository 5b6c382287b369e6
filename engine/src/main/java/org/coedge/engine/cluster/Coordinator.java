package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.aeron.Publication;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.engine.api.Model;
import org.coedge.engine.exec.RowExchange;
import org.coedge.planner.ClusterModel;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.Step;
import org.coedge.planner.StepCompiler;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.ControlAdapter;
import org.coedge.transport.ControlListener;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.RowBlockPublisher;
import org.coedge.transport.RowBlockReceiver;
import org.coedge.transport.ProbeReceiver;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;
import org.coedge.transport.sbe.ErrorMessageDecoder;
import org.coedge.transport.sbe.HeartbeatDecoder;
import org.coedge.transport.sbe.PlanAckDecoder;
import org.coedge.transport.sbe.ProbeReplyDecoder;
import org.coedge.transport.sbe.ResultDecoder;
import org.coedge.transport.sbe.Status;
import org.coedge.transport.sbe.WelcomeDecoder;

/**
 * The coordinator of a cooperative run ({@code coedge run --peers}): device 0 of every plan. It joins the workers
 * (each loads the model from its own disk and must report the same SHA-256), calibrates itself, probes each link
 * (round trip and bytes per second over the same Aeron channel), plans rows in proportion to calibrated throughput,
 * and then runs requests: it scatters the input rows, computes its own slice, and gathers the output.
 * <p>
 * A worker silent for longer than the peer timeout, or one that reports a failure, fails the request in flight: the
 * coordinator aborts it on the others, plans again without the failed worker (epoch + 1) and runs the same request
 * again, so the caller still gets its result. A failed worker is asked to join again once a second; when it answers,
 * the next request is planned with it.
 * <p>
 * Single-threaded: everything, including polling control messages while it waits for rows, runs on the caller's
 * thread.
 */
public final class Coordinator implements ControlListener, AutoCloseable
{
    /** Fuse depth meaning "choose by estimate". */
    public static final int FUSE_AUTO = 0;
    private static final int MAX_ATTEMPTS = 4;
    private static final int PINGS = 100;
    private static final int PROBE_BLOCK_BYTES = 64 * 1024;
    private static final int PROBE_BURST_BYTES = 2 * 1024 * 1024;
    private static final int PROBE_BURSTS = 3;
    private static final int PROBE_TERM_BYTES = 1024 * 1024;
    private static final int PLAN_SILENCE_FACTOR = 5;
    /** A join, plan or request not yet answered is sent again this often (a JVM may stall for seconds). */
    private static final long RESEND_NS = TimeUnit.MILLISECONDS.toNanos(500);
    /** Joins less often: the first one has the worker hash and load the model, the next ones only answer. */
    private static final long JOIN_RESEND_NS = TimeUnit.SECONDS.toNanos(1);

    private final TransportNode node;
    private final ModelRef model;
    private final ControlAdapter adapter;
    private final ControlProxy proxy;
    private final List<Worker> workers = new ArrayList<>();
    private final Map<Integer, RowBlockReceiver> receivers = new HashMap<>();
    private final int threads;
    private final int fuse;
    private final long timeoutNs;
    private final long peerTimeoutNs;
    private final long joinTimeoutNs;
    private final PrintWriter log;
    private final SecureRandom random = new SecureRandom();
    private final long sessionToken;
    private final WaitHook hook = this::keepWaiting;
    private final org.agrona.concurrent.IdleStrategy controlIdle;

    private double selfFlops;
    private DeviceProfiler profiler; // null: the machine's defaults, made at start
    private DeviceProfile selfProfile;
    private long epoch;
    private long requestId;
    private Plan plan;
    private int fuseDepth;
    private List<DeviceProgram> programs;
    private Worker[] planWorkers = new Worker[0]; // device d (>= 1) is planWorkers[d - 1]
    private DeviceSlot slot;
    private boolean replanNeeded;
    private boolean failureSeen;
    private long probeReplyId = -1;
    private long probeReplyBytes;
    private long probeReplyAtNs;
    private int attemptsLastRun;
    private SharePolicy sharePolicy = SharePolicy.DEFAULT;
    private long requestStartNs; // when the last request was sent (the origin of its time line)
    private final SpeedBook speeds;
    private double[] planShares = new double[0]; // the shares the current plan was made with
    private java.util.function.ToIntFunction<Worker> planMessage; // sends the current plan to a worker
    private double replanImbalance = SpeedBook.REPLAN_IMBALANCE;

    /** A worker as the coordinator sees it. */
    public static final class Worker
    {
        final int nodeId;
        final String endpoint;
        final Publication control;
        boolean alive;
        boolean everJoined;
        double flopsPerSecond;
        double measuredFlopsPerSecond;
        long lastHeardNs;
        long lastJoinNs;
        long lastSentNs; // the plan or request now awaiting an answer
        long ackEpoch = -1;
        Status ackStatus;
        String ackError = "";
        long resultRequest = -1;
        Status resultStatus;
        String resultError = "";
        long computeNs;
        long sendNs;
        long awaitNs;
        double rttNs;
        double bytesPerSecond;
        long memoryBytes;
        long requestSentNs;
        long[] stepStartNs = new long[0]; // the last result's time line, from the request's arrival there
        long[] stepDurationNs = new long[0];
        int stepCount;
        DeviceProfile profile; // what its welcome said, checked against the model's graph; null if unusable

        Worker(final int nodeId, final String endpoint, final Publication control)
        {
            this.nodeId = nodeId;
            this.endpoint = endpoint;
            this.control = control;
        }

        public String endpoint()
        {
            return endpoint;
        }

        /** @return the worker's profile of the model (from its welcome), or null if it sent none usable. */
        public DeviceProfile profile()
        {
            return profile;
        }

        /** @return the throughput the worker reported at its join (its calibration). */
        public double flopsPerSecond()
        {
            return flopsPerSecond;
        }

        /** @return the median rate measured during its last requests (FLOPs over compute time), 0 before any. */
        public double measuredFlopsPerSecond()
        {
            return measuredFlopsPerSecond;
        }

        /** @return the probed round trip: a one-block row-block probe over the data path, answered over control. */
        public double rttNs()
        {
            return rttNs;
        }

        /** @return the probed rate of 2 MiB bursts of row blocks over the data path. */
        public double bytesPerSecond()
        {
            return bytesPerSecond;
        }

        public long computeNs()
        {
            return computeNs;
        }

        public long sendNs()
        {
            return sendNs;
        }

        public long awaitNs()
        {
            return awaitNs;
        }

        /** @return bytes the worker holds for its slice of the current plan (arena, weights, buffers). */
        public long memoryBytes()
        {
            return memoryBytes;
        }

        /** @return when the coordinator sent the last request to this worker (its {@code System.nanoTime()}). */
        public long requestSentNs()
        {
            return requestSentNs;
        }

        /** @return steps in the last result's time line. */
        public int stepCount()
        {
            return stepCount;
        }

        /** @return the start of step {@code i} in the last result, from the request's arrival there (-1: not run). */
        public long stepStartNs(final int i)
        {
            return stepStartNs[i];
        }

        /** @return the duration of step {@code i} in the last result. */
        public long stepDurationNs(final int i)
        {
            return stepDurationNs[i];
        }
    }

    /** Chooses how rows are shared; call before {@link #start()}. */
    /** Sets how this device (device 0) profiles the model at {@link #start}: its memory limit and cache. */
    public Coordinator profiler(final DeviceProfiler profiler)
    {
        this.profiler = profiler;
        return this;
    }

    /** @return the profile of device {@code nodeId} (0: this one), or null if it has none (yet). */
    public DeviceProfile profile(final int nodeId)
    {
        final Worker w = nodeId == 0 ? null : worker(nodeId);
        return nodeId == 0 ? selfProfile : w == null ? null : w.profile;
    }

    public Coordinator sharePolicy(final SharePolicy policy)
    {
        this.sharePolicy = policy;
        return this;
    }

    /**
     * @param fuse       fuse depth, or {@link #FUSE_AUTO}.
     * @param timeoutNs  how long a device waits for one row block (a peer's death is found sooner, by heartbeat).
     */
    public Coordinator(
        final TransportNode node, final ClusterKey key, final Path modelFile, final Model model,
        final Map<String, long[]> inputDims, final List<String> peers, final int threads, final int fuse,
        final long timeoutNs, final PrintWriter log)
    {
        this.node = node;
        this.threads = threads;
        this.fuse = fuse;
        this.timeoutNs = timeoutNs;
        this.peerTimeoutNs = node.context().peerTimeoutNs();
        this.joinTimeoutNs = TimeUnit.SECONDS.toNanos(60);
        this.controlIdle = TransportContext.waitIdle(node.context().waitMaxParkNs());
        this.log = log;
        try
        {
            this.model = new ModelRef(modelFile.toAbsolutePath(), ModelRef.sha256(modelFile), model, inputDims);
        }
        catch (final java.io.IOException e)
        {
            throw new IllegalArgumentException("cannot read " + modelFile + ": " + e.getMessage(), e);
        }
        this.adapter = new ControlAdapter(node.controlSubscription(), key, this);
        long token;
        do
        {
            token = random.nextLong();
        }
        while (token == 0);
        this.sessionToken = token;
        this.proxy = new ControlProxy(key, 0, node.context().sendTimeoutNs()).session(token, 0);
        this.speeds = new SpeedBook(peers.size() + 1);
        for (int i = 0; i < peers.size(); i++)
        {
            workers.add(new Worker(i + 1, peers.get(i), node.addControlPublication(peers.get(i))));
        }
    }

    /** Joins every peer, calibrates, probes the links and makes the first plan. */
    public void start()
    {
        final long now = System.nanoTime();
        for (final Worker w : workers)
        {
            sendJoin(w, now);
        }
        final long deadline = now + joinTimeoutNs;
        while (System.nanoTime() < deadline && !allAnswered())
        {
            pollControl();
            final long t = System.nanoTime();
            for (final Worker w : workers)
            {
                if (!w.alive && w.ackError.isEmpty() && t - w.lastJoinNs > JOIN_RESEND_NS)
                {
                    sendJoin(w, t);
                }
            }
        }
        for (final Worker w : workers)
        {
            if (!w.alive)
            {
                log.println("coordinator: worker " + w.nodeId + " at " + w.endpoint + " did not join" +
                    (w.ackError.isEmpty() ? " (no answer)" : ": " + w.ackError) + "; going on without it");
            }
        }
        selfFlops = Calibration.flopsPerSecond(threads);
        speeds.calibrated(0, selfFlops);
        selfProfile = (profiler != null ? profiler : DeviceProfiler.defaults(threads))
            .profileOrNull(model, selfFlops, log, "coordinator");
        for (final Worker w : workers)
        {
            if (w.alive)
            {
                probe(w);
            }
        }
        replan();
    }

    private boolean allAnswered()
    {
        for (final Worker w : workers)
        {
            if (!w.alive && w.ackError.isEmpty())
            {
                return false;
            }
        }
        return true;
    }

    /**
     * Offers a join when the worker's driver answers (a stopped or stalled one does not); the caller sends it again
     * until the worker welcomes it, so neither a refused offer nor one lost with a stalled receiver loses the join.
     */
    private void sendJoin(final Worker w, final long now)
    {
        w.lastJoinNs = now;
        if (w.control.isConnected())
        {
            proxy.join(w.control, w.nodeId, model.sha256, replyEndpoint(w), model.file.toString(),
                ModelRef.formatShapes(model.inputDims));
        }
    }

    private String replyEndpoint(final Worker w)
    {
        final String mine = node.endpoint();
        final String host = mine.substring(0, mine.lastIndexOf(':'));
        if (host.equals("0.0.0.0"))
        {
            return org.coedge.transport.Endpoints.localAddressTowards(w.endpoint) + mine.substring(
                mine.lastIndexOf(':'));
        }
        return mine;
    }

    /**
     * Probes the link to a worker over the data path, as a plan's rows travel: row blocks on the worker's probe
     * stream ({@link org.coedge.transport.ProbeReceiver}), each burst answered by a probe reply. The round trip is the
     * best of {@value #PINGS} one-block probes (the first ones also warm both JVMs' code paths up); the rate is the
     * best of {@value #PROBE_BURSTS} bursts of {@value #PROBE_BURST_BYTES} bytes, long enough that a token bucket's
     * burst allowance or a socket buffer does not flatter it. Cold path.
     */
    private void probe(final Worker w)
    {
        final UnsafeBuffer payload = new UnsafeBuffer(BufferUtil.allocateDirectAligned(PROBE_BLOCK_BYTES, 64));
        final int sessionId = 4096 + random.nextInt(1 << 28);
        try (RowBlockPublisher rows = new RowBlockPublisher(
            node.addProbePublication(w.endpoint, sessionId, PROBE_TERM_BYTES), node))
        {
            final long connectBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!rows.publication().isConnected())
            {
                if (System.nanoTime() > connectBy)
                {
                    log.println("coordinator: no data path to worker " + w.nodeId + " for a probe");
                    return;
                }
                pollControl();
            }
            final long sendTimeoutNs = TimeUnit.SECONDS.toNanos(5);
            double best = Double.MAX_VALUE;
            for (int i = 0; i < PINGS; i++)
            {
                final long id = random.nextLong() & Long.MAX_VALUE;
                final long t0 = System.nanoTime();
                if (rows.send(sessionToken, ProbeReceiver.PROBE_EPOCH, id, 0, -1, 0, 1, payload, 0, 64,
                    sendTimeoutNs, hook) != TransportCodes.OK || !awaitProbeReply(id, t0 + TimeUnit.SECONDS.toNanos(2)))
                {
                    log.println("coordinator: worker " + w.nodeId + " did not answer a probe");
                    return;
                }
                best = Math.min(best, probeReplyAtNs - t0);
            }
            w.rttNs = best;
            final int count = PROBE_BURST_BYTES / PROBE_BLOCK_BYTES;
            for (int burst = 0; burst < PROBE_BURSTS; burst++)
            {
                final long id = random.nextLong() & Long.MAX_VALUE;
                final long t0 = System.nanoTime();
                boolean sent = true;
                for (int i = 0; i < count && sent; i++)
                {
                    sent = rows.send(sessionToken, ProbeReceiver.PROBE_EPOCH, id, i, -1, 0, count, payload, 0,
                        PROBE_BLOCK_BYTES, sendTimeoutNs, hook) == TransportCodes.OK;
                }
                if (sent && awaitProbeReply(id, t0 + TimeUnit.SECONDS.toNanos(30)))
                {
                    w.bytesPerSecond = Math.max(w.bytesPerSecond,
                        probeReplyBytes / Math.max(1e-9, (probeReplyAtNs - t0 - best / 2) * 1e-9));
                }
            }
        }
    }

    private boolean awaitProbeReply(final long id, final long deadline)
    {
        while (probeReplyId != id)
        {
            if (System.nanoTime() > deadline)
            {
                return false;
            }
            pollControl();
        }
        return true;
    }

    /** Reads every control message queued; idles (backing off to a park) when there was none. */
    private int pollControl()
    {
        int total = node.invokeDriver();
        int n;
        while ((n = adapter.poll(64)) > 0)
        {
            total += n;
        }
        controlIdle.idle(total);
        return total;
    }

    /** Plans rows over the coordinator and the live workers, in proportion to calibrated throughput. */
    private void replan()
    {
        final List<Worker> live = new ArrayList<>();
        for (final Worker w : workers)
        {
            if (w.alive)
            {
                live.add(w);
            }
        }
        while (true)
        {
            epoch++;
            final int[] nodes = new int[live.size() + 1];
            final String[] endpoints = new String[nodes.length];
            endpoints[0] = live.isEmpty() ? node.endpoint() : replyEndpoint(live.get(0));
            double bytesPerSecond = Double.MAX_VALUE;
            double latencyNs = 0;
            for (int i = 0; i < live.size(); i++)
            {
                final Worker w = live.get(i);
                nodes[i + 1] = w.nodeId;
                endpoints[i + 1] = w.endpoint;
                if (w.bytesPerSecond > 0)
                {
                    bytesPerSecond = Math.min(bytesPerSecond, w.bytesPerSecond);
                    latencyNs = Math.max(latencyNs, w.rttNs / 2);
                }
            }
            if (bytesPerSecond == Double.MAX_VALUE)
            {
                bytesPerSecond = 1e9 / 8;
            }
            final double[] flops = speeds.estimates(nodes);
            final double[] shares = sharePolicy.shares(flops, model.graph, speeds.headSeconds());
            planShares = shares;
            fuseDepth = fuse != FUSE_AUTO ? fuse : Planner.autoFuse(model.graph, shares,
                ClusterModel.of(flops, bytesPerSecond, latencyNs), 8, epoch).fuseDepth();
            plan = Planner.proportional(model.graph, shares, fuseDepth, epoch);
            programs = StepCompiler.compile(model.graph, plan, model.outputLayers);
            planWorkers = live.toArray(new Worker[0]);
            final int termLength = termLength(programs);
            final int sessionBase = 4096 + random.nextInt(1 << 28);
            final int mtu = node.context().mtuLength();
            final int[][] layers = PlanCodec.stageLayers(plan);
            final int[][] rows = PlanCodec.stageRows(plan);
            planMessage = w -> proxy.plan(w.control, epoch, sessionBase, termLength,
                TimeUnit.NANOSECONDS.toMillis(timeoutNs), mtu, nodes, endpoints, layers, rows);
            for (final Worker w : planWorkers)
            {
                w.ackEpoch = -1;
                w.lastSentNs = System.nanoTime();
                planMessage.applyAsInt(w);
            }
            CloseHelper.quietClose(slot);
            slot = null;
            final AeronExchange exchange = new AeronExchange(node, 0, programs, nodes, endpoints, sessionToken, epoch,
                sessionBase, termLength, mtu, timeoutNs, hook, receivers);
            slot = new DeviceSlot(epoch, model.model, model.inputDims, programs, 0, threads, exchange);
            failureSeen = false;
            final Worker failed = awaitAcks();
            if (failed == null && exchange.awaitConnected(System.nanoTime() + TimeUnit.SECONDS.toNanos(10)))
            {
                replanNeeded = false;
                speeds.planned(false);
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

    /**
     * Takes this request's compute times (the coordinator's own per step, the workers' as they reported them) into
     * the speed estimates, and asks for a new plan (from the next request) when the current one is predicted to
     * finish more than {@link SpeedBook#REPLAN_IMBALANCE} times later than one made with them.
     */
    private void learnFromRequest()
    {
        final List<Step> steps = programs.get(0).steps();
        long headNs = 0;
        long spatialNs = 0;
        for (int i = 0; i < steps.size(); i++)
        {
            if (steps.get(i).kind() == Step.Kind.COMPUTE)
            {
                if (steps.get(i).layer() >= model.graph.firstGlobalLayer())
                {
                    headNs += slot.runner.stepNs(i);
                }
                else
                {
                    spatialNs += slot.runner.stepNs(i);
                }
            }
        }
        final int[] nodes = new int[planWorkers.length + 1];
        final long[] computeNs = new long[nodes.length];
        computeNs[0] = spatialNs;
        for (int i = 0; i < planWorkers.length; i++)
        {
            nodes[i + 1] = planWorkers[i].nodeId;
            computeNs[i + 1] = planWorkers[i].computeNs;
        }
        speeds.learn(model.graph, programs, nodes, computeNs, headNs);
        for (final Worker w : planWorkers)
        {
            w.measuredFlopsPerSecond = speeds.measured(w.nodeId);
        }
        if (planWorkers.length == 0 || !speeds.enoughSincePlan())
        {
            return;
        }
        final double imbalance = SpeedBook.imbalance(planShares, sharePolicy.shares(speeds.estimates(nodes), model.graph, speeds.headSeconds()));
        if (imbalance > replanImbalance)
        {
            replanNeeded = true;
            speeds.planned(true);
            log.printf("coordinator: measured rates predict plan epoch %d finishes %.2fx later than it could " +
                "(head %.2f ms); planning again%n", epoch, imbalance, speeds.headSeconds() * 1e3);
        }
    }

    /** @return the first worker of the plan that refused it or went silent, or null when all are ready. */
    private Worker awaitAcks()
    {
        final long deadline = System.nanoTime() + joinTimeoutNs;
        while (true)
        {
            pollControl();
            boolean all = true;
            final long now = System.nanoTime();
            for (final Worker w : planWorkers)
            {
                if (w.ackEpoch == epoch && w.ackStatus != Status.OK)
                {
                    return w;
                }
                // preparing a plan is heavy on a small board: allow a few heartbeats' worth more than in a request
                if (now - w.lastHeardNs > PLAN_SILENCE_FACTOR * peerTimeoutNs)
                {
                    w.ackError = "silent for " + TimeUnit.NANOSECONDS.toMillis(now - w.lastHeardNs) + " ms";
                    return w;
                }
                if (w.ackEpoch != epoch && now - w.lastSentNs > RESEND_NS)
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
     * Runs one request cooperatively: inputs (NCHW) in, outputs (NCHW) out. A worker failure is handled by planning
     * again and running the same request again.
     *
     * @throws IllegalStateException if the request fails {@value #MAX_ATTEMPTS} times.
     */
    public void infer(final List<float[]> inputs, final List<float[]> outputs)
    {
        String lastFailure = "";
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++)
        {
            attemptsLastRun = attempt;
            rejoinFailedWorkers();
            if (replanNeeded)
            {
                replan();
            }
            for (int i = 0; i < inputs.size(); i++)
            {
                slot.setInput(i, inputs.get(i));
            }
            requestId++;
            failureSeen = false;
            requestStartNs = System.nanoTime();
            for (final Worker w : planWorkers)
            {
                w.requestSentNs = System.nanoTime();
                w.lastSentNs = w.requestSentNs;
                proxy.request(w.control, epoch, requestId);
            }
            slot.runner.resetTimes();
            final int code = slot.runner.run(requestId);
            final String failure = code == RowExchange.OK ? awaitResults() : describeFailure(code);
            if (failure == null)
            {
                for (int i = 0; i < outputs.size(); i++)
                {
                    slot.outputInto(i, outputs.get(i));
                }
                learnFromRequest();
                return;
            }
            lastFailure = failure;
            log.println("coordinator: request " + requestId + " (plan epoch " + epoch + ") failed: " + failure +
                "; planning again");
            abortAndSettle();
            replan();
        }
        throw new IllegalStateException("request failed " + MAX_ATTEMPTS + " times; last: " + lastFailure);
    }

    private String describeFailure(final int code)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Worker w : planWorkers)
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
            sb.append(slot.runner.failure());
        }
        return sb.toString();
    }

    /** @return null when every worker of the plan reported success, else what failed. */
    private String awaitResults()
    {
        final long deadline = System.nanoTime() + timeoutNs;
        while (true)
        {
            pollControl();
            if (!keepWaiting())
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
                    proxy.request(w.control, epoch, requestId);
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
        for (final Worker w : planWorkers)
        {
            if (w.alive)
            {
                proxy.abort(w.control, epoch, requestId);
            }
        }
        final long deadline = System.nanoTime() + 2 * peerTimeoutNs;
        while (System.nanoTime() < deadline)
        {
            pollControl();
            checkLiveness();
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

    private void rejoinFailedWorkers()
    {
        final long now = System.nanoTime();
        pollControl();
        for (final Worker w : workers)
        {
            if (!w.alive && now - w.lastJoinNs > TimeUnit.SECONDS.toNanos(1))
            {
                sendJoin(w, now);
            }
        }
    }

    /** Called from every wait of the coordinator's own steps: polls control and checks the workers' liveness. */
    private boolean keepWaiting()
    {
        node.invokeDriver();
        adapter.poll(16);
        return checkLiveness() && !failureSeen;
    }

    private boolean checkLiveness()
    {
        final long now = System.nanoTime();
        boolean ok = true;
        for (final Worker w : planWorkers)
        {
            if (w.alive && now - w.lastHeardNs > peerTimeoutNs)
            {
                // drain what is queued before judging: a busy coordinator may simply not have read it yet
                pollControl();
                if (System.nanoTime() - w.lastHeardNs > peerTimeoutNs)
                {
                    w.alive = false;
                }
            }
            ok &= w.alive;
        }
        return ok;
    }

    private Worker worker(final int nodeId)
    {
        return nodeId >= 1 && nodeId <= workers.size() ? workers.get(nodeId - 1) : null;
    }

    @Override
    public boolean acceptsSession(final long token, final int templateId)
    {
        return token == sessionToken;
    }

    @Override
    public void onWelcome(final WelcomeDecoder welcome)
    {
        final Worker w = worker(welcome.senderNode());
        if (w == null)
        {
            return;
        }
        final Status status = welcome.status();
        final double flops = welcome.flopsPerSecond();
        final byte[] sha = new byte[32];
        welcome.getModelSha256(sha, 0, 32);
        final WelcomeProfile sent = WelcomeProfile.decode(welcome); // before anything after it in the message
        final String error = sent.errorText();
        w.lastHeardNs = System.nanoTime();
        if (status == Status.OK && java.util.Arrays.equals(sha, model.sha256) && flops > 0 &&
            !Double.isInfinite(flops))
        {
            if (!w.alive && w.everJoined)
            {
                log.println("coordinator: worker " + w.nodeId + " joined again");
                replanNeeded = true;
                speeds.forget(w.nodeId);
            }
            speeds.calibrated(w.nodeId, flops);
            if (!w.alive)
            {
                w.profile = sent.toProfile(model.graph, flops, welcome.memoryBytes(), log, "worker " + w.nodeId);
            }
            w.alive = true;
            w.everJoined = true;
            w.flopsPerSecond = flops;
            w.ackError = "";
        }
        else
        {
            w.ackError = status + (error.isEmpty() ? "" : ": " + error);
        }
    }

    @Override
    public void onPlanAck(final PlanAckDecoder ack)
    {
        final Worker w = worker(ack.senderNode());
        if (w != null && ack.epoch() == epoch)
        {
            w.lastHeardNs = System.nanoTime();
            w.ackStatus = ack.status();
            w.memoryBytes = ack.memoryBytes();
            w.ackError = ack.errorText();
            w.ackEpoch = ack.epoch();
        }
    }

    @Override
    public void onResult(final ResultDecoder result)
    {
        final Worker w = worker(result.senderNode());
        if (w != null && result.epoch() == epoch)
        {
            w.lastHeardNs = System.nanoTime();
            final long id = result.requestId();
            w.resultStatus = result.status();
            w.computeNs = result.computeNs();
            w.sendNs = result.sendNs();
            w.awaitNs = result.awaitNs();
            final ResultDecoder.StepsDecoder steps = result.steps();
            final int n = steps.count();
            if (w.stepStartNs.length < n)
            {
                w.stepStartNs = new long[n];
                w.stepDurationNs = new long[n];
            }
            for (int i = 0; i < n; i++)
            {
                steps.next();
                w.stepStartNs[i] = steps.startNs();
                w.stepDurationNs[i] = steps.durationNs();
            }
            w.stepCount = n;
            w.resultError = result.errorText();
            w.resultRequest = id;
            if (id == requestId && w.resultStatus != Status.OK && w.resultStatus != Status.ABORTED)
            {
                failureSeen = true;
            }
        }
    }

    @Override
    public void onHeartbeat(final HeartbeatDecoder heartbeat)
    {
        final Worker w = worker(heartbeat.senderNode());
        if (w != null)
        {
            w.lastHeardNs = System.nanoTime();
        }
    }

    @Override
    public void onProbeReply(final ProbeReplyDecoder reply)
    {
        probeReplyBytes = reply.receivedBytes();
        probeReplyAtNs = System.nanoTime();
        probeReplyId = reply.probeId();
    }

    @Override
    public void onError(final ErrorMessageDecoder error)
    {
        log.println("coordinator: node " + error.senderNode() + " reports error " + error.code() + ": " +
            error.text());
    }

    /**
     * @param imbalance plan again when the current plan is predicted to finish this many times later than one made
     *                  with the measured rates; infinity to keep plans (tests that need them fixed).
     */
    void replanImbalance(final double imbalance)
    {
        this.replanImbalance = imbalance;
    }

    /** @return this session's token (tests forge messages of the session with it). */
    long sessionToken()
    {
        return sessionToken;
    }

    public Plan plan()
    {
        return plan;
    }

    public int fuseDepth()
    {
        return fuseDepth;
    }

    public List<DeviceProgram> programs()
    {
        return programs;
    }

    /** @return the workers of the current plan: device {@code d >= 1} is element {@code d - 1}. */
    public List<Worker> planWorkers()
    {
        return List.of(planWorkers);
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
        return epoch;
    }

    /** @return attempts the last {@link #infer} took (1 unless a worker failed). */
    public int attemptsLastRun()
    {
        return attemptsLastRun;
    }

    public long computeNs()
    {
        return slot.runner.computeNs();
    }

    /** @return the coordinator's time in step {@code i} of its program in the last request. */
    public long stepNs(final int i)
    {
        return slot.runner.stepNs(i);
    }

    /** @return {@code System.nanoTime()} at the start of the coordinator's step {@code i} in the last request. */
    public long stepStartNs(final int i)
    {
        return slot.runner.stepStartNs(i);
    }

    /** @return {@code System.nanoTime()} when the last request was sent to the workers. */
    public long requestStartNs()
    {
        return requestStartNs;
    }

    public SharePolicy sharePolicy()
    {
        return sharePolicy;
    }

    public long sendNs()
    {
        return slot.runner.sendNs();
    }

    public long awaitNs()
    {
        return slot.runner.awaitNs();
    }

    public ControlAdapter adapter()
    {
        return adapter;
    }

    /** @return bytes of the coordinator's arena, weights and scratch. */
    public long memoryBytes()
    {
        return slot.memoryBytes();
    }

    @Override
    public void close()
    {
        for (final Worker w : workers)
        {
            if (w.alive)
            {
                proxy.leave(w.control);
            }
        }
        CloseHelper.quietClose(slot);
    }
}
