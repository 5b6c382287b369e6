package org.coedge.planner.policy;

import java.util.List;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.PlanEnergy;
import org.coedge.planner.PowerModel;

/**
 * The energy one measured request cost its devices under the power models they stated, by the planner's formula
 * ({@link PlanEnergy#measured}): each device's busy time is its measured compute and send time (wall time: the
 * device's core is busy for it), its bytes are those its program sends and receives, and a device that takes part
 * draws its idle power for the request's measured latency. There is no power meter: this is the stated models
 * applied to measured times. Stateless; any thread.
 */
public final class MeasuredEnergy
{
    private static final PowerModel NONE = PowerModel.of(0, 0, 0, 0);

    private MeasuredEnergy()
    {
    }

    /**
     * @param powers    per device the power model it stated (text, "" for none).
     * @param programs  per device its program in the request.
     * @param computeNs per device its measured compute time.
     * @param sendNs    per device its measured send time.
     * @param latencyNs the request's measured end-to-end time.
     * @return joules, or NaN when a device that took part stated no power model or the arrays do not match.
     */
    public static double of(final String[] powers, final List<DeviceProgram> programs, final long[] computeNs,
        final long[] sendNs, final long latencyNs)
    {
        final PowerModel[] power = powers.length == programs.size() ?
            models(powers, d -> !programs.get(d).steps().isEmpty()) : null;
        return power == null ? Double.NaN : of(power, programs, computeNs, sendNs, latencyNs);
    }

    /**
     * @param powers    per device the power model it stated (text, "" or null for none).
     * @param takesPart whether device {@code d} takes part in the request (its program has steps).
     * @return per device its parsed model, a zero model for one that takes no part (it costs nothing); null if a
     * device that takes part stated none or one that does not parse.
     */
    static PowerModel[] models(final String[] powers, final java.util.function.IntPredicate takesPart)
    {
        final PowerModel[] power = new PowerModel[powers.length];
        for (int d = 0; d < powers.length; d++)
        {
            if (!takesPart.test(d))
            {
                power[d] = NONE;
                continue;
            }
            if (powers[d] == null || powers[d].isEmpty())
            {
                return null;
            }
            try
            {
                power[d] = PowerModel.parse(powers[d]);
            }
            catch (final IllegalArgumentException e)
            {
                return null;
            }
        }
        return power;
    }

    /**
     * As {@link #of(String[], List, long[], long[], long)}, with the models parsed (null: none stated; a device that
     * takes no part needs none).
     */
    public static double of(final PowerModel[] powers, final List<DeviceProgram> programs, final long[] computeNs,
        final long[] sendNs, final long latencyNs)
    {
        final int n = programs.size();
        if (powers.length != n || computeNs.length != n || sendNs.length != n)
        {
            return Double.NaN;
        }
        final PowerModel[] power = new PowerModel[n];
        final double[] busy = new double[n];
        final long[] sent = new long[n];
        final long[] received = new long[n];
        for (int d = 0; d < n; d++)
        {
            final DeviceProgram program = programs.get(d);
            if (program.steps().isEmpty())
            {
                power[d] = NONE;
                continue;
            }
            if (powers[d] == null)
            {
                return Double.NaN;
            }
            power[d] = powers[d];
            busy[d] = computeNs[d] + sendNs[d];
            sent[d] = program.bytesSent();
            received[d] = program.bytesReceived();
        }
        return PlanEnergy.measured(power, busy, latencyNs, sent, received).totalJoules();
    }
}
