package org.coedge.planner;

import java.util.Locale;

/**
 * The plan {@link EnergyPlanner} chose for a deadline, with its predicted energy per device, whether it is predicted
 * to meet the deadline (when nothing is, the plan is the latency-optimal one and {@link #warning()} says so), and the
 * latency-optimal plan it was compared with. Immutable; safe on any thread.
 */
public final class EnergyChoice
{
    private final PlanChoice choice;
    private final PlanEnergy energy;
    private final PlanChoice latencyChoice;
    private final PlanEnergy latencyEnergy;
    private final double deadlineNs;
    private final boolean meetsDeadline;

    EnergyChoice(
        final PlanChoice choice,
        final PlanEnergy energy,
        final PlanChoice latencyChoice,
        final PlanEnergy latencyEnergy,
        final double deadlineNs,
        final boolean meetsDeadline)
    {
        this.choice = choice;
        this.energy = energy;
        this.latencyChoice = latencyChoice;
        this.latencyEnergy = latencyEnergy;
        this.deadlineNs = deadlineNs;
        this.meetsDeadline = meetsDeadline;
    }

    /** @return the chosen plan, its programs and prediction, as {@link AdaptivePlanner} returns its own. */
    public PlanChoice choice()
    {
        return choice;
    }

    /** @return the chosen plan's predicted energy per device and in total. */
    public PlanEnergy energy()
    {
        return energy;
    }

    /** @return the latency-optimal plan ({@link AdaptivePlanner}), the fallback and the comparison. */
    public PlanChoice latencyChoice()
    {
        return latencyChoice;
    }

    /** @return the latency-optimal plan's predicted energy. */
    public PlanEnergy latencyEnergy()
    {
        return latencyEnergy;
    }

    public double deadlineNs()
    {
        return deadlineNs;
    }

    /** @return whether the chosen plan is predicted to end within the deadline. */
    public boolean meetsDeadline()
    {
        return meetsDeadline;
    }

    /** @return null when the deadline is met, otherwise one line saying that the fastest plan was taken instead. */
    public String warning()
    {
        if (meetsDeadline)
        {
            return null;
        }
        return String.format(Locale.ROOT, "no plan is predicted to meet the deadline of %.3f ms; taking the fastest " +
            "(%.3f ms predicted, %.4f J)", deadlineNs * 1e-6, choice.prediction().endNs() * 1e-6,
            energy.totalJoules());
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "EnergyChoice{%s, %.3f ms (deadline %.3f ms), %s}", choice.description(),
            choice.prediction().endNs() * 1e-6, deadlineNs * 1e-6, energy);
    }
}
