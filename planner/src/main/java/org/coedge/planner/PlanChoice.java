package org.coedge.planner;

import java.util.List;

/**
 * The plan {@link AdaptivePlanner} chose, its compiled programs, what it predicts of a request, a one-line account
 * of its shape, and how many candidate plans the search predicted to get there. Immutable; safe on any thread.
 */
public final class PlanChoice
{
    private final Plan plan;
    private final List<DeviceProgram> programs;
    private final Prediction prediction;
    private final String description;
    private final int candidates;
    private final double fastestAloneNs;
    private final int fastestDevice;

    /** Also for a policy that keeps a plan under a new prediction. */
    public PlanChoice(
        final Plan plan,
        final List<DeviceProgram> programs,
        final Prediction prediction,
        final String description,
        final int candidates,
        final double fastestAloneNs,
        final int fastestDevice)
    {
        this.plan = plan;
        this.programs = programs;
        this.prediction = prediction;
        this.description = description;
        this.candidates = candidates;
        this.fastestAloneNs = fastestAloneNs;
        this.fastestDevice = fastestDevice;
    }

    public Plan plan()
    {
        return plan;
    }

    public List<DeviceProgram> programs()
    {
        return programs;
    }

    public Prediction prediction()
    {
        return prediction;
    }

    /** @return e.g. {@code rows over devices [0, 1, 2] (per-layer) to layer 41, then layers 42-44 on device 0}. */
    public String description()
    {
        return description;
    }

    public int candidates()
    {
        return candidates;
    }

    /** @return the predicted latency of the whole model on the device predicted fastest alone. */
    public double fastestAloneNs()
    {
        return fastestAloneNs;
    }

    public int fastestDevice()
    {
        return fastestDevice;
    }

    public String toString()
    {
        return "PlanChoice{" + description + ", " + prediction + "}";
    }
}
