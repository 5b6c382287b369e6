package org.coedge.planner;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Predicts one request under a plan by playing the devices' compiled programs ({@link StepCompiler}) against each
 * device's {@link LatencyModel} and the {@link LinkModel}: every device runs its steps in order; a COMPUTE takes
 * the model's time for its rows (through the device's {@link CpuQuota}, stalls included, where it has one); a SEND costs the sender {@link LinkModel#sendNs} and then occupies the sender's
 * uplink and the receiver's downlink for its bytes at their rates, arriving one latency later; an AWAIT waits for
 * its message. This is the engine's runtime exactly as far as ordering goes (each device one thread of steps, FIFO
 * streams), so waits come out of the plan rather than from a formula.
 * <p>
 * The simulation advances one step at a time on the device that is earliest among those that can go on, so links
 * are reserved in the order of time.
 * <p>
 * Called by {@link AdaptivePlanner} for every candidate plan and by the engine for explain; stateless apart from
 * its arguments, so safe on any thread given models no other thread mutates.
 */
public final class PlanSimulator
{
    private PlanSimulator()
    {
    }

    /**
     * @param devices latency model per device of the plan (device 0 is the coordinator).
     * @param links   the network between them, one device per plan device.
     * @param outputs layer ids the coordinator must hold at the end.
     */
    public static Prediction predict(
        final LayerGraph graph,
        final Plan plan,
        final int[] outputs,
        final LatencyModel[] devices,
        final LinkModel links)
    {
        return predict(graph, plan, StepCompiler.compile(graph, plan, outputs), devices, links);
    }

    /** As {@link #predict(LayerGraph, Plan, int[], LatencyModel[], LinkModel)} for programs already compiled. */
    public static Prediction predict(
        final LayerGraph graph,
        final Plan plan,
        final List<DeviceProgram> programs,
        final LatencyModel[] devices,
        final LinkModel links)
    {
        final int n = programs.size();
        if (devices.length != n || links.deviceCount() != n)
        {
            throw new IllegalArgumentException("plan has " + n + " devices, models " + devices.length + ", links " +
                links.deviceCount());
        }
        final double[] clock = new double[n];
        final double[][] quotaUsed = new double[n][];
        for (int d = 0; d < n; d++)
        {
            quotaUsed[d] = new double[]{-1, 0};
        }
        final int[] pc = new int[n];
        final double[] upFree = new double[n];
        final double[] downFree = new double[n];
        final double[][] start = new double[n][];
        final double[][] took = new double[n][];
        final int[][] stages = new int[n][];
        for (int d = 0; d < n; d++)
        {
            start[d] = new double[programs.get(d).steps().size()];
            took[d] = new double[start[d].length];
            stages[d] = stageOfSteps(graph, plan, programs.get(d));
        }
        final Map<Long, Double> arrival = new HashMap<>();
        int left = 0;
        for (final DeviceProgram program : programs)
        {
            left += program.steps().size();
        }
        while (left > 0)
        {
            // one step at a time, of the device that is earliest among those that can go on, so that links are
            // reserved in the order of time
            int d = -1;
            for (int e = 0; e < n; e++)
            {
                final List<Step> steps = programs.get(e).steps();
                if (pc[e] < steps.size() && (d < 0 || clock[e] < clock[d]) &&
                    (steps.get(pc[e]).kind() != Step.Kind.AWAIT ||
                    arrival.containsKey(key(steps.get(pc[e]).peer(), e, steps.get(pc[e]).sequence(), n))))
                {
                    d = e;
                }
            }
            if (d < 0)
            {
                throw new IllegalStateException("programs of " + plan + " wait on each other");
            }
            final Step s = programs.get(d).steps().get(pc[d]);
            final double t0 = clock[d];
            if (s.kind() == Step.Kind.COMPUTE)
            {
                final double workNs = devices[d].predictNs(s);
                final CpuQuota quota = devices[d].quota();
                clock[d] = quota == null ? clock[d] + workNs : quota.run(clock[d], workNs, quotaUsed[d]);
            }
            else if (s.kind() == Step.Kind.SEND)
            {
                clock[d] += links.sendNs(s.bytes());
                final int to = s.peer();
                final double upStart = Math.max(clock[d], upFree[d]);
                final double upDone = upStart + s.bytes() / links.upBytesPerSecond(d) * 1e9;
                upFree[d] = upDone;
                final double downStart = Math.max(upStart, downFree[to]);
                final double downDone = Math.max(upDone, downStart + s.bytes() / links.downBytesPerSecond(to) * 1e9);
                downFree[to] = downDone;
                arrival.put(key(d, to, s.sequence(), n), downDone + links.latencyNs(d, to));
            }
            else
            {
                clock[d] = Math.max(clock[d], arrival.get(key(s.peer(), d, s.sequence(), n)));
            }
            start[d][pc[d]] = t0;
            took[d][pc[d]] = clock[d] - t0;
            pc[d]++;
            left--;
        }
        double end = clock[0];
        for (int d = 1; d < n; d++)
        {
            end = Math.max(end, clock[d] + links.latencyNs(d, 0));
        }
        final long[] memory = new long[n];
        for (int d = 0; d < n; d++)
        {
            memory[d] = memoryBytes(graph, programs.get(d));
        }
        return new Prediction(plan, programs, end, start, took, stages, memory);
    }

    /**
     * @return the stage each step of {@code program} belongs to: a COMPUTE or SEND that of its layer's stage; an
     * AWAIT that of the next COMPUTE (what it waits for), or the last stage when none follows (the final gather).
     * The engine files measured step times the same way.
     */
    public static int[] stageOfSteps(final LayerGraph graph, final Plan plan, final DeviceProgram program)
    {
        final int[] stageOfLayer = new int[graph.layerCount()];
        final List<Stage> stages = plan.stages();
        for (int s = 0; s < stages.size(); s++)
        {
            for (int id = stages.get(s).firstLayer(); id <= stages.get(s).lastLayer(); id++)
            {
                stageOfLayer[id] = s;
            }
        }
        final List<Step> steps = program.steps();
        final int[] out = new int[steps.size()];
        int next = stages.size() - 1;
        for (int i = steps.size() - 1; i >= 0; i--)
        {
            final Step s = steps.get(i);
            if (s.kind() == Step.Kind.AWAIT)
            {
                out[i] = next;
            }
            else
            {
                out[i] = stageOfLayer[s.layer()];
                if (s.kind() == Step.Kind.COMPUTE)
                {
                    next = out[i];
                }
            }
        }
        return out;
    }

    /**
     * @return what a device needs for its program: the weights of every layer it computes rows of (of a layer split
     * by output features, only its slice's share of them: {@link #weightBytes}), and a buffer for each layer's window
     * of rows it holds (computed or received), without the engine's buffer reuse, so an upper bound on its arena.
     */
    public static long memoryBytes(final LayerGraph graph, final DeviceProgram program)
    {
        long bytes = 0;
        for (int id = 0; id < graph.layerCount(); id++)
        {
            final Layer l = graph.layer(id);
            bytes += weightBytes(l, program);
            bytes += (long)program.window(id).rows() * l.bytesPerRow();
        }
        return bytes;
    }

    /**
     * @return bytes of {@code layer}'s weights that a device with {@code program} holds: all of them if it computes
     * any rows, the slice's share (rounded up) if it computes a slice of the output features, none otherwise.
     */
    public static long weightBytes(final Layer layer, final DeviceProgram program)
    {
        final int id = layer.id();
        if (!program.computes(id))
        {
            return 0;
        }
        if (!program.computesFeatures(id))
        {
            return layer.weightBytes();
        }
        final long features = program.computed(id).rows();
        final long all = Math.max(1, layer.channels());
        return (layer.weightBytes() * features + all - 1) / all;
    }

    private static long key(final int from, final int to, final int sequence, final int devices)
    {
        return ((long)(from * devices + to) << 32) | (sequence & 0xffffffffL);
    }
}
