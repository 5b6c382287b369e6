package org.coedge.planner;

import java.util.List;
import java.util.Locale;

/**
 * What {@link PlanSimulator} predicts of one request under a plan: per device and step of its program the start and
 * duration, per device and stage the compute, send and wait time, and the end-to-end latency (when the coordinator
 * holds every output and every worker's report has reached it).
 * <p>
 * Immutable once built; safe on any thread.
 */
public final class Prediction
{
    private final Plan plan;
    private final double endNs;
    private final double[][] stepStartNs; // (device, step)
    private final double[][] stepNs;
    private final int[][] stepStage;
    private final double[][] computeNs; // (device, stage)
    private final double[][] sendNs;
    private final double[][] waitNs;
    private final long[] memoryBytes;
    private final Step.Kind[][] kinds;
    private final long[] bytesSent;
    private final long[] bytesReceived;

    /**
     * @param programs the devices' programs the times are of; each step's time is filed under its stage and kind.
     */
    Prediction(
        final Plan plan,
        final List<DeviceProgram> programs,
        final double endNs,
        final double[][] stepStartNs,
        final double[][] stepNs,
        final int[][] stepStage,
        final long[] memoryBytes)
    {
        this.plan = plan;
        this.endNs = endNs;
        this.stepStartNs = stepStartNs;
        this.stepNs = stepNs;
        this.stepStage = stepStage;
        this.memoryBytes = memoryBytes;
        final int devices = stepNs.length;
        final int stages = plan.stages().size();
        computeNs = new double[devices][stages];
        sendNs = new double[devices][stages];
        waitNs = new double[devices][stages];
        kinds = new Step.Kind[devices][];
        bytesSent = new long[devices];
        bytesReceived = new long[devices];
        for (int d = 0; d < devices; d++)
        {
            bytesSent[d] = programs.get(d).bytesSent();
            bytesReceived[d] = programs.get(d).bytesReceived();
            final List<Step> steps = programs.get(d).steps();
            kinds[d] = new Step.Kind[steps.size()];
            for (int i = 0; i < steps.size(); i++)
            {
                final Step.Kind kind = steps.get(i).kind();
                kinds[d][i] = kind;
                final double[][] byKind = kind == Step.Kind.COMPUTE ? computeNs :
                    kind == Step.Kind.SEND ? sendNs : waitNs;
                byKind[d][stepStage[d][i]] += stepNs[d][i];
            }
        }
    }

    public Plan plan()
    {
        return plan;
    }

    /** @return predicted end-to-end latency of one request, in nanoseconds. */
    public double endNs()
    {
        return endNs;
    }

    public int deviceCount()
    {
        return stepNs.length;
    }

    public int stageCount()
    {
        return plan.stages().size();
    }

    public int stepCount(final int device)
    {
        return stepNs[device].length;
    }

    public double stepStartNs(final int device, final int step)
    {
        return stepStartNs[device][step];
    }

    public double stepNs(final int device, final int step)
    {
        return stepNs[device][step];
    }

    public Step.Kind stepKind(final int device, final int step)
    {
        return kinds[device][step];
    }

    /** @return the stage a step of a device's program belongs to ({@link PlanSimulator#stageOfSteps}). */
    public int stepStage(final int device, final int step)
    {
        return stepStage[device][step];
    }

    public double computeNs(final int device, final int stage)
    {
        return computeNs[device][stage];
    }

    public double sendNs(final int device, final int stage)
    {
        return sendNs[device][stage];
    }

    public double waitNs(final int device, final int stage)
    {
        return waitNs[device][stage];
    }

    /** @return predicted compute time of a device over all stages. */
    public double computeNs(final int device)
    {
        double s = 0;
        for (final double v : computeNs[device])
        {
            s += v;
        }
        return s;
    }

    /**
     * @return predicted time the device's core is busy with its computes and sends, in nanoseconds: their wall time,
     * so a device under a CPU quota (an emulated slower core) is busy for longer than its model's CPU time.
     */
    public double busyNs(final int device)
    {
        double ns = 0;
        for (int i = 0; i < stepNs[device].length; i++)
        {
            ns += kinds[device][i] == Step.Kind.AWAIT ? 0 : stepNs[device][i];
        }
        return ns;
    }

    /** @return payload bytes the device sends per request (its SEND steps). */
    public long bytesSent(final int device)
    {
        return bytesSent[device];
    }

    /** @return payload bytes the device receives per request (its AWAIT steps). */
    public long bytesReceived(final int device)
    {
        return bytesReceived[device];
    }

    /** @return the bytes the device needs for the plan: weights of the layers it computes and its row buffers. */
    public long memoryBytes(final int device)
    {
        return memoryBytes[device];
    }

    public String toString()
    {
        return String.format(Locale.ROOT, "Prediction{%.3f ms, %s}", endNs * 1e-6, plan);
    }
}
