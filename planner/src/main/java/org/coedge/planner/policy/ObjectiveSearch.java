package org.coedge.planner.policy;

import java.io.PrintWriter;
import java.util.Locale;

import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.EnergyChoice;
import org.coedge.planner.EnergyPlanner;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LinkModel;
import org.coedge.planner.PlanChoice;
import org.coedge.planner.PlanEnergy;
import org.coedge.planner.PowerModel;
import org.coedge.planner.Prediction;

/**
 * The adaptive policy's search under its {@link PlanObjective}: the plan predicted fastest ({@link AdaptivePlanner}),
 * the plan of least predicted energy that meets the deadline ({@link EnergyPlanner}, under the power model each
 * device stated), or the most accurate exit whose fastest plan is predicted to meet the deadline (Edgent: the exit
 * and the cut between devices chosen together; none meeting it, the fastest exit, with a warning). Also says
 * whether one prediction is better than another under the objective, for re-planning.
 * <p>
 * Owned by {@link AdaptivePlanPolicy} on the coordinator's thread.
 */
public final class ObjectiveSearch
{
    /** The quantile of a candidate's scores that ranks it under a deadline (0.875: the second worst of 8). */
    static final double DEADLINE_QUANTILE = 0.875;

    private final PlanObjective objective;
    private final PrintWriter log;
    private PowerModel[] power = new PowerModel[0];
    private int[] exitLayers = new int[0];
    private double[] exitTop1 = new double[0];
    private String[] exitNames = new String[0];
    private String lastWarning;
    private PlanChoice latencyChoice; // the fastest plan, which the last energy search compared with
    private final java.util.List<PlanChoice> exitChoices = new java.util.ArrayList<>(); // per exit its fastest plan
    private final double[] ratios = new double[8]; // measured over predicted end-to-end, the plan's last requests
    private int ratioCount;
    private double correction = 1;

    ObjectiveSearch(final PlanObjective objective, final PrintWriter log)
    {
        this.objective = objective;
        this.log = log;
    }

    PlanObjective objective()
    {
        return objective;
    }

    /**
     * Sets the model's exits, for {@link PlanObjective.Kind#ACCURACY}: per exit its planner layer, its measured
     * top-1 accuracy and its output's name.
     *
     * @throws IllegalArgumentException if the arrays differ in length or an accuracy is not in [0, 1].
     */
    public void exits(final int[] layers, final double[] top1, final String[] names)
    {
        if (layers.length != top1.length || layers.length != names.length)
        {
            throw new IllegalArgumentException(layers.length + " exit layers, " + top1.length + " accuracies, " +
                names.length + " names");
        }
        for (final double a : top1)
        {
            if (!(a >= 0 && a <= 1))
            {
                throw new IllegalArgumentException("an exit's accuracy must be in [0, 1], got " + a);
            }
        }
        exitLayers = layers.clone();
        exitTop1 = top1.clone();
        exitNames = names.clone();
    }

    /**
     * Reads the power model every device of {@code view} stated, for {@link PlanObjective.Kind#ENERGY}.
     *
     * @throws IllegalArgumentException naming the first device that stated none or a bad one.
     */
    void devices(final ClusterView view)
    {
        if (objective.kind() != PlanObjective.Kind.ENERGY)
        {
            return;
        }
        final PowerModel[] p = new PowerModel[view.deviceCount()];
        for (int d = 0; d < p.length; d++)
        {
            if (view.power(d).isEmpty())
            {
                throw new IllegalArgumentException("--objective energy needs every device's power model, and " +
                    (d == 0 ? "the coordinator" : "worker node " + view.nodeId(d)) + " stated none (give it --power)");
            }
            p[d] = PowerModel.parse(view.power(d));
        }
        power = p;
    }

    /** @return the plan the objective wants for the devices {@code models} and {@code links} describe. */
    PlanChoice search(final LayerGraph graph, final int[] outputs, final LatencyModel[] models, final LinkModel links,
        final long epoch)
    {
        lastWarning = null;
        switch (objective.kind())
        {
            case ENERGY:
            {
                final EnergyChoice e = EnergyPlanner.plan(graph, outputs, models, links, power,
                    objective.deadlineNs() / correction, epoch);
                lastWarning = e.warning();
                latencyChoice = e.latencyChoice();
                warn();
                return e.choice();
            }
            case ACCURACY:
                return mostAccurateExit(graph, models, links, epoch);
            default:
                return AdaptivePlanner.plan(graph, outputs, models, links, epoch);
        }
    }

    private PlanChoice mostAccurateExit(final LayerGraph graph, final LatencyModel[] models, final LinkModel links,
        final long epoch)
    {
        if (exitLayers.length == 0)
        {
            throw new IllegalArgumentException("--objective accuracy needs a multi-exit model: no exits are known " +
                "(measure them with coedge exits, which writes the model's sidecar)");
        }
        final Integer[] order = new Integer[exitLayers.length];
        for (int i = 0; i < order.length; i++)
        {
            order[i] = i;
        }
        // most accurate first; ties to the earlier exit, which computes less
        java.util.Arrays.sort(order, (a, b) -> exitTop1[a] != exitTop1[b] ? Double.compare(exitTop1[b], exitTop1[a]) :
            Integer.compare(a, b));
        PlanChoice fastest = null;
        PlanChoice chosen = null;
        int fastestExit = -1;
        exitChoices.clear();
        for (final int e : order)
        {
            final PlanChoice c = AdaptivePlanner.plan(graph, new int[]{ exitLayers[e] }, models, links, epoch);
            final PlanChoice atExit = new PlanChoice(c.plan().withOutputs(new int[]{ exitLayers[e] }), c.programs(),
                c.prediction(), c.description() + "; exit " + e + " (" + exitNames[e] + ", top-1 " +
                String.format(Locale.ROOT, "%.4f", exitTop1[e]) + ")", c.candidates(), c.fastestAloneNs(),
                c.fastestDevice());
            exitChoices.add(atExit);
            if (c.prediction().endNs() * correction <= objective.deadlineNs() && chosen == null)
            {
                chosen = atExit;
            }
            if (fastest == null || c.prediction().endNs() < fastest.prediction().endNs())
            {
                fastest = atExit;
                fastestExit = e;
            }
        }
        if (chosen != null)
        {
            return chosen;
        }
        lastWarning = String.format(Locale.ROOT, "no exit is predicted to meet the deadline of %.2f ms; taking the " +
            "fastest, exit %d (%.2f ms, %.2f with what requests measured beyond the prediction)",
            objective.deadlineNs() * 1e-6, fastestExit, fastest.prediction().endNs() * 1e-6,
            fastest.prediction().endNs() * correction * 1e-6);
        warn();
        return fastest;
    }

    private void warn()
    {
        if (lastWarning != null)
        {
            log.println("coordinator: warning: " + lastWarning);
        }
    }

    /**
     * @return whether {@code candidate} is better than {@code current} under the objective by more than
     * {@code gain} (a fraction): faster; or, under a deadline, meeting it where the current does not, or (energy)
     * spending less, or (accuracy) answering from a more accurate exit.
     */
    boolean better(final Prediction candidate, final Prediction current, final double gain)
    {
        if (objective.kind() == PlanObjective.Kind.LATENCY)
        {
            return candidate.endNs() < (1 - gain) * current.endNs();
        }
        final boolean candidateMeets = candidate.endNs() * correction <= objective.deadlineNs();
        final boolean currentMeets = current.endNs() * correction <= objective.deadlineNs();
        if (candidateMeets != currentMeets)
        {
            return candidateMeets;
        }
        if (!candidateMeets)
        {
            return candidate.endNs() < (1 - gain) * current.endNs();
        }
        if (objective.kind() == PlanObjective.Kind.ENERGY)
        {
            return joules(candidate) < (1 - gain) * joules(current);
        }
        final double a = top1(candidate.plan());
        final double b = top1(current.plan());
        return a != b ? a > b : candidate.endNs() < (1 - gain) * current.endNs();
    }

    /** @return the trials of candidates, scored as {@link #score} scores requests. */
    org.coedge.planner.PlanTrials newTrials(final int requests, final int rounds, final double drift,
        final int driftRequests)
    {
        final org.coedge.planner.PlanTrials t = new org.coedge.planner.PlanTrials(requests, rounds, drift,
            driftRequests);
        // under a deadline a candidate is judged by its second worst of 8 requests: it must meet the deadline in
        // nearly all of them, not in half
        return objective.kind() == PlanObjective.Kind.ENERGY ? t.scoredIn("J", 1).rankedAt(DEADLINE_QUANTILE) :
            objective.kind() == PlanObjective.Kind.ACCURACY ? t.scoredIn("score", 1).rankedAt(DEADLINE_QUANTILE) : t;
    }

    /**
     * @return what a measured request scores under the objective, lower being better: its time; under the energy
     * objective the joules its measured times cost under the devices' power models ({@link MeasuredEnergy}), plus
     * a joule per 1% a request over the deadline is late (a plan that misses the deadline loses to one that meets
     * it, whatever it spends); under the accuracy objective minus its exit's accuracy when it met the deadline,
     * else more than 1.
     */
    double score(final org.coedge.planner.Plan plan, final java.util.List<org.coedge.planner.DeviceProgram> programs,
        final long[] computeNs, final long[] sendNs, final double requestNs)
    {
        if (objective.kind() == PlanObjective.Kind.ACCURACY)
        {
            // meeting the deadline: minus the exit's accuracy (the more accurate, the lower); late: above any of them
            return requestNs <= objective.deadlineNs() ? -top1(plan) : 1 + requestNs / objective.deadlineNs();
        }
        if (objective.kind() != PlanObjective.Kind.ENERGY || power.length != programs.size())
        {
            return requestNs;
        }
        final double joules = MeasuredEnergy.of(power, programs, computeNs, sendNs, Math.round(requestNs));
        final double late = Math.max(0, requestNs / objective.deadlineNs() - 1);
        return joules + 100 * late;
    }

    /** @return per exit, most accurate first, the fastest plan the last accuracy search found for it. */
    java.util.List<PlanChoice> exitChoices()
    {
        return java.util.List.copyOf(exitChoices);
    }

    /** @return the fastest plan the last energy search compared with, or null. */
    PlanChoice latencyChoice()
    {
        return latencyChoice;
    }

    /** @return predicted joules of one request under {@code p}, NaN unless the objective is energy. */
    double joules(final Prediction p)
    {
        return power.length == p.deviceCount() ? PlanEnergy.of(p, power).totalJoules() : Double.NaN;
    }

    /** @return the index of the exit a plan gathers, or -1 when it gathers the model's outputs. */
    public int exitOf(final org.coedge.planner.Plan plan)
    {
        final int[] outs = plan.outputs();
        for (int e = 0; outs != null && outs.length == 1 && e < exitLayers.length; e++)
        {
            if (exitLayers[e] == outs[0])
            {
                return e;
            }
        }
        return -1;
    }

    /** @return the accuracy of the exit a plan gathers, or -1 when it gathers the model's outputs. */
    private double top1(final org.coedge.planner.Plan plan)
    {
        final int e = exitOf(plan);
        return e < 0 ? -1 : exitTop1[e];
    }

    /**
     * @param powers per device the power model it stated (text), "" for none.
     * @return the joules {@code p} predicts under them, NaN if a device that takes part stated none.
     */
    public static double joules(final Prediction p, final String[] powers)
    {
        final PowerModel[] power = powers.length == p.deviceCount() ?
            MeasuredEnergy.models(powers, d -> p.stepCount(d) > 0) : null;
        return power == null ? Double.NaN : PlanEnergy.of(p, power).totalJoules();
    }

    /**
     * Takes one learnt request's measured end-to-end time and what the models (refined by it) predict for it. Under
     * a deadline, predictions are judged against it multiplied by the second largest ratio of measured to predicted
     * over the current plan's last 8 requests (at least 1): what a plan costs beyond its steps (inputs in and outputs
     * out, the coordinator's work between steps, a CPU quota's stalls) comes on top of the prediction, and a deadline
     * that nearly every request must meet is met by the slow ones too.
     */
    void measured(final double requestNs, final double predictedNs)
    {
        if (!(predictedNs > 0) || !(requestNs > 0))
        {
            return;
        }
        ratios[ratioCount % ratios.length] = requestNs / predictedNs;
        ratioCount++;
        final double[] sorted = java.util.Arrays.copyOf(ratios, Math.min(ratioCount, ratios.length));
        java.util.Arrays.sort(sorted);
        // the second largest of the last 8 (the largest of fewer than 3): a deadline is met by nearly every request
        // only if plans are judged by what their slow requests take, one outlier (a collection, a compile) aside
        correction = Math.min(4, Math.max(1, sorted[sorted.length < 3 ? sorted.length - 1 : sorted.length - 2]));
    }

    /** A new plan runs: its own requests say how its predictions come out. */
    void newPlan()
    {
        ratioCount = 0;
    }

    /** @return the last search's warning (nothing met the deadline), or null. */
    String warning()
    {
        return lastWarning;
    }
}
