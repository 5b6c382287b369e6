package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.aeron.Publication;
import org.agrona.CloseHelper;
import org.agrona.concurrent.IdleStrategy;
import org.coedge.engine.api.Model;
import org.coedge.engine.exec.RowExchange;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Plan;
import org.coedge.planner.StepCompiler;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.ControlAdapter;
import org.coedge.transport.ControlListener;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.ProbeReceiver;
import org.coedge.transport.RowBlockReceiver;
import org.coedge.transport.TransportCodes;

import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;
import org.coedge.transport.sbe.AbortDecoder;
import org.coedge.transport.sbe.JoinDecoder;
import org.coedge.transport.sbe.LeaveDecoder;
import org.coedge.transport.sbe.PlanMessageDecoder;
import org.coedge.transport.sbe.ProbeDecoder;
import org.coedge.transport.sbe.RequestDecoder;
import org.coedge.transport.sbe.Status;

/**
 * A device of the cluster ({@code coedge worker}). It waits for a coordinator's join, loads the model the join names
 * from its own disk and checks its SHA-256, reports a calibrated throughput, and then executes its steps of every
 * plan and request it is sent, heartbeating all the while.
 * <p>
 * Two threads: the control thread ({@link #run}) polls control messages, answers joins and probes, heartbeats, and
 * hands plans and requests to the compute thread, which prepares each plan's {@link DeviceSlot} and runs its steps.
 * They share only volatile hand-off fields; each sends control messages through its own proxy (lane 0 and 1).
 * <p>
 * The coordinator sends a join, a plan or a request again until it is answered (a JVM may stall for seconds, longer
 * than Aeron keeps an image): a join of the current session is welcomed again, a plan already acknowledged is
 * acknowledged again and one being built is ignored, and a request already run gets its result again, one running
 * is ignored. The compute thread keeps its last acknowledgement and result for that ({@link WorkerReplies}).
 */
public final class WorkerNode implements ControlListener, AutoCloseable
{
    private static final long COMPUTE_IDLE_PARK_NS = TimeUnit.MILLISECONDS.toNanos(100);

    private final TransportNode node;
    private final ClusterKey key;
    private final Path modelDir;
    private final int threads;
    private final DeviceProfiler profiler;
    private final PrintWriter log;
    private final ControlAdapter adapter;
    private final ControlProxy proxy;
    private final ControlProxy computeProxy;
    private final Map<Integer, RowBlockReceiver> receivers = new java.util.concurrent.ConcurrentHashMap<>();
    private final Thread computeThread;
    private final ProbeReceiver probes;
    private volatile boolean running = true;
    private final WorkerReplies replies;

    // control thread state
    private long sessionToken;
    private int nodeId;
    private Publication toCoordinator;
    private String sessionReply;
    private ModelRef modelRef;
    private DeviceProfile profile; // of modelRef on this device, or null if it could not be measured
    private double flopsPerSecond;
    private String power = "";
    private long probeId = -1;
    private int probeCount;
    private long probeBytes;
    private long handedPlanEpoch = -1;
    private long handedEpoch = -1;
    private long handedRequest = -1;


    // hand-offs to the compute thread
    private volatile PlanOrder pendingPlan;
    private volatile long pendingRequest = -1;
    private volatile long pendingRequestAtNs; // when the control thread read the request (for the time line)
    private volatile long pendingEpoch;
    private volatile long abortedRequest = -1;
    private volatile long readyEpoch = -1;
    private volatile long runningRequest = -1;


    /**
     * A worker with the machine's memory limit and the default profile cache.
     *
     * @param modelDir where to find the model a join names (by file name); null to open the path the join gives.
     * @param threads  OpenBLAS threads this device computes with.
     */
    public WorkerNode(
        final TransportNode node, final ClusterKey key, final Path modelDir, final int threads, final PrintWriter log)
    {
        this(node, key, modelDir, threads, DeviceProfiler.defaults(threads), log);
    }

    /**
     * @param profiler profiles each model this worker loads (with its memory limit, which the welcome states).
     */
    public WorkerNode(
        final TransportNode node, final ClusterKey key, final Path modelDir, final int threads,
        final DeviceProfiler profiler, final PrintWriter log)
    {
        this.node = node;
        this.key = key;
        this.modelDir = modelDir;
        this.threads = threads;
        this.profiler = profiler;
        this.log = log;
        this.adapter = new ControlAdapter(node.controlSubscription(), key, this);
        this.probes = new ProbeReceiver(node.addProbeSubscription());
        final long sendTimeoutNs = node.context().sendTimeoutNs();
        this.proxy = new ControlProxy(key, 0, sendTimeoutNs).node(node);
        this.computeProxy = new ControlProxy(key, 1, sendTimeoutNs).node(node);
        this.replies = new WorkerReplies(computeProxy, log);
        this.computeThread = new Thread(this::computeLoop, "coedge-compute");
        this.computeThread.setDaemon(true);
        this.computeThread.start();
    }

    public ControlAdapter adapter()
    {
        return adapter;
    }

    /** @return every drop counter of this node, as the log prints them (cold path). */
    public String counts()
    {
        int foreignImages = 0;
        int earlierImages = 0;
        for (final RowBlockReceiver r : receivers.values())
        {
            foreignImages += r.foreignImages();
            earlierImages += r.earlierPlanImages();
        }
        return "control: malformed=" + adapter.malformed() + " bad-mac=" + adapter.badMac() + " wrong-session=" +
            adapter.wrongSession() + " replayed=" + adapter.replayed() + "; driver: invalid-packets=" +
            node.driverInvalidPackets() + "; rows: dropped-chunks=" + droppedChunks() + " foreign-images=" +
            foreignImages + " (earlier plans' images, not yet timed out: " + earlierImages + ")";
    }

    /** @return row-block chunks dropped on this node's data streams (foreign, stale or malformed). */
    public long droppedChunks()
    {
        long n = 0;
        for (final RowBlockReceiver r : receivers.values())
        {
            n += r.foreignChunks() + r.staleChunks() + r.malformedChunks();
        }
        return n;
    }

    /**
     * Measures this device's throughput now, while it is idle, rather than at a join, when other devices of the
     * same machine may be busy.
     *
     * @return floating-point operations per second.
     */
    public double calibrate()
    {
        flopsPerSecond = Calibration.flopsPerSecond(threads);
        return flopsPerSecond;
    }

    /**
     * Measures a device's throughput before any node runs (its media driver's polls come out of the same CPU
     * budget: under a 0.45-core quota they took 11% of it during the measurement); give it to the node with
     * {@link #calibrated(double)}.
     *
     * @return floating-point operations per second on {@code threads} compute threads.
     */
    public static double calibrateDevice(final int threads)
    {
        return Calibration.flopsPerSecond(threads);
    }

    /** Sets the power model this worker states in its welcome (the text of {@code --power}; "" for none). */
    public void power(final String power)
    {
        this.power = power == null ? "" : power;
    }

    /** Sets the throughput this worker reports, as measured by {@link #calibrateDevice(int)}. */
    public void calibrated(final double flopsPerSecond)
    {
        if (!(flopsPerSecond > 0) || Double.isInfinite(flopsPerSecond))
        {
            throw new IllegalArgumentException("throughput must be finite and > 0: " + flopsPerSecond);
        }
        this.flopsPerSecond = flopsPerSecond;
    }

    /** Runs the control loop on the calling thread until {@link #close()}. */
    public void run()
    {
        final IdleStrategy idle = node.listenIdle();
        final long heartbeatNs = node.context().heartbeatIntervalNs();
        long nextHeartbeat = System.nanoTime();
        long nextCountCheck = nextHeartbeat;
        String lastCounts = counts();
        while (running)
        {
            int work = node.invokeDriver() + adapter.poll(16);
            if (sessionToken != 0)
            {
                work += probes.poll(sessionToken, 16);
                if (probes.burstComplete())
                {
                    proxy.probeReply(toCoordinator, probes.probeId(), probes.blocks(), probes.bytes(), 0);
                }
            }
            final long now = System.nanoTime();
            if (sessionToken != 0 && now >= nextHeartbeat)
            {
                proxy.heartbeat(toCoordinator, now);
                nextHeartbeat = now + heartbeatNs;
            }
            if (now >= nextCountCheck)
            {
                // cold: once a second, and a line only when something was dropped since the last one
                nextCountCheck = now + TimeUnit.SECONDS.toNanos(1);
                final String c = counts();
                if (!c.equals(lastCounts))
                {
                    log.println("worker: dropped " + c);
                    lastCounts = c;
                }
            }
            idle.idle(work);
        }
    }

    @Override
    public boolean acceptsSession(final long token, final int templateId)
    {
        return templateId == JoinDecoder.TEMPLATE_ID || (token != 0 && token == sessionToken);
    }

    @Override
    public void onJoin(final JoinDecoder join)
    {
        final long skewMs = Math.abs(System.currentTimeMillis() - join.wallClockMs());
        if (skewMs > node.context().joinClockSkewMs())
        {
            log.println("worker: refused a join " + skewMs + " ms away from this clock (a replay, or clocks apart)");
            return;
        }
        final long token = join.sessionToken();
        final int id = join.nodeId();
        final byte[] expected = new byte[32];
        join.getModelSha256(expected, 0, 32);
        final String reply = join.replyEndpoint();
        final String path = join.modelPath();
        final String shapes = join.inputShapes();
        if (token == 0 || id <= 0 || id >= 1024)
        {
            log.println("worker: refused a join with token 0 or node id " + id);
            return;
        }
        if (token == sessionToken && id == nodeId && reply.equals(sessionReply) && modelRef != null &&
            java.util.Arrays.equals(modelRef.sha256, expected) &&
            ModelRef.formatShapes(modelRef.inputDims).equals(shapes))
        {
            // the coordinator did not hear the welcome yet (or sent the join again before it came): answer again,
            // without hashing and loading the model again
            welcome(toCoordinator, Status.OK, "");
            return;
        }
        final Publication pub;
        try
        {
            pub = node.addControlPublication(reply);
        }
        catch (final RuntimeException e)
        {
            log.println("worker: refused a join answering to '" + reply + "': " + e.getMessage());
            return;
        }
        if (sessionToken != token)
        {
            endSession();
            adapter.resetReplayState();
            handedPlanEpoch = -1;
            handedEpoch = -1;
            handedRequest = -1;
        }
        sessionToken = token;
        nodeId = id;
        toCoordinator = pub;
        sessionReply = reply;
        proxy.session(token, id);
        computeProxy.session(token, id);
        Status status = Status.OK;
        String error = "";
        try
        {
            final Path file = modelDir == null ? Path.of(path) : modelDir.resolve(Path.of(path).getFileName());
            if (!Files.isRegularFile(file))
            {
                status = Status.MODEL_NOT_FOUND;
                error = "no model file " + file;
            }
            else
            {
                final byte[] sha = ModelRef.sha256(file);
                if (!java.util.Arrays.equals(sha, expected))
                {
                    status = Status.MODEL_MISMATCH;
                    error = file + " has SHA-256 " + ModelRef.hex(sha) + ", the coordinator's has " +
                        ModelRef.hex(expected);
                }
                else if (modelRef == null || !java.util.Arrays.equals(modelRef.sha256, sha) ||
                    !ModelRef.formatShapes(modelRef.inputDims).equals(shapes))
                {
                    modelRef = new ModelRef(file, sha, Model.load(file), ModelRef.parseShapes(shapes));
                    profile = null;
                }
            }
            if (status == Status.OK && flopsPerSecond == 0)
            {
                calibrate();
            }
            if (status == Status.OK && profile == null)
            {
                profile = profiler.profileOrNull(modelRef, flopsPerSecond, log, "worker");
            }
        }
        catch (final Exception e)
        {
            status = Status.FAILED;
            error = "cannot load " + path + ": " + e.getMessage();
        }
        log.println("worker: node " + id + " joined session " + Long.toHexString(token) + " (" + status +
            (error.isEmpty() ? "" : ": " + error) + "), " + String.format("%.1f", flopsPerSecond / 1e9) + " GFLOP/s");
        welcome(pub, status, error);
        if (status != Status.OK)
        {
            sessionToken = 0;
            sessionReply = null;
        }
    }

    /** @return the profile of the model loaded last, or null if none was loaded or it could not be measured. */
    public DeviceProfile profile()
    {
        return profile;
    }

    private void welcome(final Publication pub, final Status status, final String error)
    {
        final int sent = WelcomeProfile.send(proxy, pub, status, flopsPerSecond, profiler.memoryBytes(),
            status == Status.OK ? modelRef.sha256 : new byte[32], status == Status.OK ? profile : null, power,
            error);
        if (sent != TransportCodes.OK)
        {
            // the coordinator joins again until it is welcomed
            log.println("worker: could not send the welcome (" + TransportCodes.name(sent) + ", Aeron " +
                proxy.lastResult() + "); waiting for the join again");
        }
    }

    private void endSession()
    {
        if (runningRequest >= 0)
        {
            abortedRequest = runningRequest;
        }
        sessionToken = 0;
    }

    @Override
    public void onPlan(final PlanMessageDecoder plan)
    {
        final long epoch = plan.epoch();
        if (epoch == handedPlanEpoch)
        {
            replies.ackAgain(proxy, toCoordinator, sessionToken, epoch);
            return;
        }
        final int sessionBase = plan.dataSessionBase();
        final int termLength = plan.termLength();
        final long timeoutMs = plan.timeoutMs();
        final int mtu = plan.mtu();
        final PlanMessageDecoder.DevicesDecoder devices = plan.devices();
        final int n = devices.count();
        final int[] nodes = new int[n];
        final String[] endpoints = new String[n];
        int device = -1;
        for (int d = 0; d < n; d++)
        {
            devices.next();
            nodes[d] = devices.nodeId();
            endpoints[d] = devices.endpoint();
            if (nodes[d] == nodeId)
            {
                device = d;
            }
        }
        final Plan p;
        try
        {
            PlanCodec.checkVersion(plan.actingVersion());
            final Plan stages = PlanCodec.readStages(epoch, n, plan.stages());
            if (device < 0)
            {
                throw new IllegalArgumentException("the plan does not name node " + nodeId);
            }
            if (modelRef == null)
            {
                throw new IllegalArgumentException("no model loaded");
            }
            p = stages.withOutputs(PlanCodec.readOutputs(plan.outputs(), modelRef.graph.layerCount()));
        }
        catch (final RuntimeException e)
        {
            proxy.planAck(toCoordinator, epoch, Status.FAILED, 0, "bad plan: " + e.getMessage());
            return;
        }
        readyEpoch = -1;
        handedPlanEpoch = epoch;
        pendingPlan = new PlanOrder(sessionToken, toCoordinator, modelRef, p, device, nodes, endpoints, sessionBase,
            termLength, mtu, TimeUnit.MILLISECONDS.toNanos(timeoutMs));
        LockSupport.unpark(computeThread);
    }

    @Override
    public void onRequest(final RequestDecoder request)
    {
        final long epoch = request.epoch();
        final long id = request.requestId();
        if (epoch == handedEpoch && id <= handedRequest)
        {
            replies.resultAgain(proxy, toCoordinator, sessionToken, epoch, id);
            return;
        }
        handedEpoch = epoch;
        handedRequest = id;
        pendingEpoch = epoch;
        pendingRequestAtNs = System.nanoTime();
        pendingRequest = id;
        LockSupport.unpark(computeThread);
    }

    @Override
    public void onAbort(final AbortDecoder abort)
    {
        abortedRequest = abort.requestId();
    }

    @Override
    public void onProbe(final ProbeDecoder probe)
    {
        if (probe.probeId() != probeId)
        {
            probeId = probe.probeId();
            probeCount = 0;
            probeBytes = 0;
        }
        final int index = probe.index();
        final int count = probe.count();
        final long sentNs = probe.sentNs();
        probeCount++;
        probeBytes += probe.payloadLength();
        if (index == count - 1)
        {
            proxy.probeReply(toCoordinator, probeId, probeCount, probeBytes, sentNs);
        }
    }

    @Override
    public void onLeave(final LeaveDecoder leave)
    {
        log.println("worker: session " + Long.toHexString(sessionToken) + " ended by the coordinator");
        endSession();
    }

    private void computeLoop()
    {
        DeviceSlot slot = null;
        long[] stepStarts = new long[0]; // the last request's time line, sized on a new plan
        long[] stepDurations = new long[0];
        long slotSession = 0;
        // between requests (plan set-up) only a shutdown stops a wait; during one, an abort of that request does
        final WaitHook hook = () -> running && (runningRequest < 0 || abortedRequest != runningRequest);
        while (running)
        {
            final PlanOrder order = pendingPlan;
            if (order != null)
            {
                pendingPlan = null;
                // no request runs now; aborts named by an earlier plan or session must not match the next ids
                abortedRequest = -1;
                CloseHelper.quietClose(slot);
                slot = null;
                slot = buildSlot(order, hook);
                slotSession = order.sessionToken;
                continue;
            }
            final long request = pendingRequest;
            if (request >= 0)
            {
                pendingRequest = -1;
                final long epoch = pendingEpoch;
                final long arrivedNs = pendingRequestAtNs;
                if (slot == null || slot.epoch != epoch || readyEpoch != epoch)
                {
                    replies.sendResult(toCoordinator, slotSession, epoch, request, Status.FAILED,
                        RowExchange.BAD_PEER, 0, 0, 0, stepStarts, stepDurations, 0,
                        "worker node " + nodeId + " has no plan of epoch " + epoch);
                    continue;
                }
                runningRequest = request;
                slot.runner.resetTimes();
                final int code = slot.runner.run(request);
                runningRequest = -1;
                final Status status = code == RowExchange.OK ? Status.OK :
                    code == RowExchange.ABORTED ? Status.ABORTED : Status.FAILED;
                final int steps = slot.runner.stepCount();
                if (stepStarts.length < steps)
                {
                    stepStarts = new long[steps];
                    stepDurations = new long[steps];
                }
                for (int i = 0; i < steps; i++)
                {
                    final long start = slot.runner.stepStartNs(i);
                    stepStarts[i] = start == 0 ? -1 : start - arrivedNs;
                    stepDurations[i] = slot.runner.stepNs(i);
                }
                replies.sendResult(toCoordinator, slotSession, epoch, request, status, code,
                    slot.runner.computeNs(), slot.runner.sendNs(), slot.runner.awaitNs(), stepStarts, stepDurations,
                    steps, code == RowExchange.OK ? "" : slot.runner.failure());
                continue;
            }
            // the control thread unparks this one for every plan and request; the timeout is only a safety net
            LockSupport.parkNanos(this, COMPUTE_IDLE_PARK_NS);
        }
        CloseHelper.quietClose(slot);
    }


    private DeviceSlot buildSlot(final PlanOrder order, final WaitHook hook)
    {
        AeronExchange exchange = null;
        try
        {
            final ModelRef m = order.model;
            final Plan plan = order.plan.validate(m.graph);
            final List<DeviceProgram> programs = StepCompiler.compile(m.graph, plan, plan.outputsOr(m.outputLayers));
            exchange = new AeronExchange(node, order.device, programs, order.nodes, order.endpoints,
                order.sessionToken, plan.epoch(), order.sessionBase, order.termLength, order.mtu, order.timeoutNs,
                hook, receivers);
            final DeviceSlot slot = new DeviceSlot(plan.epoch(), m.model, m.inputDims, programs, order.device,
                threads, exchange);
            if (!exchange.awaitConnected(System.nanoTime() + TimeUnit.SECONDS.toNanos(10)))
            {
                slot.close();
                replies.sendAck(order.toCoordinator, order.sessionToken, plan.epoch(), Status.FAILED, 0,
                    "node " + nodeId + " could not connect to its peers");
                return null;
            }
            readyEpoch = plan.epoch();
            replies.sendAck(order.toCoordinator, order.sessionToken, plan.epoch(), Status.OK, slot.memoryBytes(), "");
            log.println("worker: node " + nodeId + " ready for plan epoch " + plan.epoch() + " as device " +
                order.device + " (" + programs.get(order.device).steps().size() + " steps, " +
                slot.memoryBytes() / (1 << 20) + " MiB; peak RSS so far " + DeviceFacts.peakRss() + ")");
            return slot;
        }
        catch (final RuntimeException | OutOfMemoryError e)
        {
            CloseHelper.quietClose(exchange);
            replies.sendAck(order.toCoordinator, order.sessionToken, order.plan.epoch(), Status.FAILED, 0,
                "node " + nodeId + " cannot run the plan: " + e.getMessage());
            return null;
        }
    }

    @Override
    public void close()
    {
        running = false;
        LockSupport.unpark(computeThread);
        try
        {
            computeThread.join(5000);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

}
