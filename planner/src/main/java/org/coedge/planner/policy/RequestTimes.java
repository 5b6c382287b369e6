package org.coedge.planner.policy;

import java.util.List;

import org.coedge.planner.DeviceProgram;

/**
 * The measured duration of every step of every device in one request, in program order: device 0's from the
 * coordinator's own step runner, a worker's from the steps of its result. The coordinator's plan session sizes one per plan
 * epoch and fills it after each successful request, before it hands it to {@link PlanPolicy#learn}; it is reused,
 * so a policy copies what it keeps. Coordinator's thread only.
 */
public final class RequestTimes
{
    private final long[][] stepNs; // (device, step)

    /** @param programs the plan's programs: one array of step durations per device, as long as its program. */
    public RequestTimes(final List<DeviceProgram> programs)
    {
        stepNs = new long[programs.size()][];
        for (int d = 0; d < stepNs.length; d++)
        {
            stepNs[d] = new long[programs.get(d).steps().size()];
        }
    }

    public int deviceCount()
    {
        return stepNs.length;
    }

    public int stepCount(final int device)
    {
        return stepNs[device].length;
    }

    /** @return how long {@code device} spent in step {@code step} of its program (0 when it did not report it). */
    public long stepNs(final int device, final int step)
    {
        return stepNs[device][step];
    }

    /** Sets the duration of {@code step} of {@code device}. */
    public void stepNs(final int device, final int step, final long ns)
    {
        stepNs[device][step] = ns;
    }

    /**
     * Takes a worker's reported durations: the first {@code count} of {@code durationsNs}, the rest of the device's
     * steps (a worker that reported fewer) set to 0.
     */
    public void reported(final int device, final long[] durationsNs, final int count)
    {
        final long[] mine = stepNs[device];
        final int n = Math.min(mine.length, Math.min(count, durationsNs.length));
        System.arraycopy(durationsNs, 0, mine, 0, n);
        java.util.Arrays.fill(mine, n, mine.length, 0);
    }
}
