package org.coedge.engine.cluster;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Mode;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanSimulator;
import org.coedge.planner.Prediction;
import org.coedge.planner.Stage;
import org.coedge.planner.Step;

/**
 * The explain table of {@code coedge plan --explain}, {@code coedge run --peers ... --explain}, {@code coedge demo}
 * and the testbed: per stage and device, the predicted compute, send and wait time and, when a request was measured,
 * the measured ones beside them, then the end-to-end latency predicted against measured. Measured step times are
 * filed into stages the way the planner files its predictions ({@link PlanSimulator#stageOfSteps}).
 * <p>
 * Pure formatting over plain data; cold path; any thread.
 */
public final class Explain
{
    private Explain()
    {
    }

    /**
     * Sums measured step times per stage and kind.
     *
     * @param stepNs per device of the plan, the duration of every step of its program in order (null for a
     *               device that did not report).
     * @return {@code [device][stage][0 compute, 1 send, 2 wait]} in nanoseconds; a device without times has null.
     */
    public static double[][][] measuredByStage(
        final LayerGraph graph, final Plan plan, final List<DeviceProgram> programs, final long[][] stepNs)
    {
        final double[][][] out = new double[programs.size()][][];
        for (int d = 0; d < programs.size(); d++)
        {
            final List<Step> steps = programs.get(d).steps();
            if (stepNs == null || stepNs[d] == null || stepNs[d].length != steps.size())
            {
                continue;
            }
            final int[] stage = PlanSimulator.stageOfSteps(graph, plan, programs.get(d));
            out[d] = new double[plan.stages().size()][3];
            for (int i = 0; i < steps.size(); i++)
            {
                final int k = steps.get(i).kind() == Step.Kind.COMPUTE ? 0 : steps.get(i).kind() == Step.Kind.SEND ?
                    1 : 2;
                out[d][stage[i]][k] += stepNs[d][i];
            }
        }
        return out;
    }

    /**
     * Prints the table.
     *
     * @param measured   from {@link #measuredByStage}, or null when nothing was measured.
     * @param measuredMs the measured end-to-end latency, or negative when none.
     */
    public static void print(
        final PrintWriter out,
        final LayerGraph graph,
        final Prediction predicted,
        final String description,
        final double[][][] measured,
        final double measuredMs)
    {
        final Plan plan = predicted.plan();
        out.printf(Locale.ROOT, "plan epoch %d: %s%n", plan.epoch(), description);
        out.printf(Locale.ROOT, "%-6s %-8s %-22s %-7s %21s %21s %21s%n", "stage", "device", "layers", "rows",
            "compute ms pred/meas", "send ms pred/meas", "wait ms pred/meas");
        for (int s = 0; s < plan.stages().size(); s++)
        {
            final Stage stage = plan.stages().get(s);
            final String layers = stage.firstLayer() + "-" + stage.lastLayer() + " " + stage.mode().name()
                .toLowerCase(Locale.ROOT).replace("_device", "");
            for (int d = 0; d < predicted.deviceCount(); d++)
            {
                final boolean works = !stage.deviceRows(d).isEmpty();
                final double[] m = measured == null || measured[d] == null ? null : measured[d][s];
                if (!works && predicted.sendNs(d, s) == 0 && predicted.waitNs(d, s) == 0 &&
                    (m == null || m[0] + m[1] + m[2] == 0))
                {
                    continue;
                }
                out.printf(Locale.ROOT, "%-6d %-8d %-22s %-7s %21s %21s %21s%n", s, d, layers,
                    // a FEATURES stage's ranges are output features of its last layer: marked with an f
                    works ? (stage.mode() == Mode.FEATURES ? "f" : "") + stage.deviceRows(d).start() + "-" +
                    stage.deviceRows(d).end() : "-",
                    pair(predicted.computeNs(d, s), m == null ? -1 : m[0]),
                    pair(predicted.sendNs(d, s), m == null ? -1 : m[1]),
                    pair(predicted.waitNs(d, s), m == null ? -1 : m[2]));
            }
        }
        for (int d = 0; d < predicted.deviceCount(); d++)
        {
            out.printf(Locale.ROOT, "device %d: predicted memory %.1f MiB%n", d, predicted.memoryBytes(d) / 1048576.0);
        }
        if (measuredMs >= 0)
        {
            out.printf(Locale.ROOT, "end to end: predicted %.2f ms, measured %.2f ms (%+.1f%%)%n",
                predicted.endNs() * 1e-6, measuredMs, 100 * (measuredMs / (predicted.endNs() * 1e-6) - 1));
        }
        else
        {
            out.printf(Locale.ROOT, "end to end: predicted %.2f ms%n", predicted.endNs() * 1e-6);
        }
        out.flush();
    }

    private static String pair(final double predictedNs, final double measuredNs)
    {
        return measuredNs < 0 ? String.format(Locale.ROOT, "%.2f", predictedNs * 1e-6) :
            String.format(Locale.ROOT, "%.2f / %.2f", predictedNs * 1e-6, measuredNs * 1e-6);
    }
}
