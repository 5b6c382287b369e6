package org.coedge.planner;

import java.util.Locale;

/**
 * The energy of one request per device under each device's {@link PowerModel}, from a {@link Prediction} or from
 * measured times, through the one formula {@link PowerModel#joules}: per device, idle power over the whole request,
 * active power per busy core over the time its core is busy (computes and sends, in wall time: a device under a
 * CPU quota emulates a slower core, busy for longer), and its bytes sent and received.
 * <p>
 * A device takes part in a request when it computes, sends or receives anything in it; it then draws its idle power
 * for the whole request (it must stay awake for its part, and waits for its inputs), from the request's start to its
 * end-to-end time ({@link Prediction#endNs}). A device the plan gives nothing to does not take part and counts
 * nothing: as in CoEdge's objective, which sums the energy of the devices a partition uses, it is free to sleep or to
 * serve other work. What a device draws between requests is not the plan's and is not counted either.
 * <p>
 * Immutable; safe on any thread. Built by {@link EnergyPlanner} for every candidate it checks, and by the engine for
 * explain and the testbed's measured {@code energy_j}.
 */
public final class PlanEnergy
{
    private final double[] joules;
    private final double totalJoules;

    private PlanEnergy(final double[] joules)
    {
        this.joules = joules;
        double sum = 0;
        for (final double j : joules)
        {
            sum += j;
        }
        this.totalJoules = sum;
    }

    /**
     * @param power one model per device of the prediction.
     * @return the predicted energy: each device's predicted busy time ({@link Prediction#busyNs}), bytes, and the
     * predicted end-to-end time.
     */
    public static PlanEnergy of(final Prediction prediction, final PowerModel[] power)
    {
        final int n = prediction.deviceCount();
        if (power.length != n)
        {
            throw new IllegalArgumentException(power.length + " power models for a plan of " + n + " devices");
        }
        final double[] joules = new double[n];
        for (int d = 0; d < n; d++)
        {
            joules[d] = joules(power[d], prediction.busyNs(d), prediction.endNs(), prediction.bytesSent(d),
                prediction.bytesReceived(d));
        }
        return new PlanEnergy(joules);
    }

    /**
     * The energy of one measured request, by the same formula as {@link #of(Prediction, PowerModel[])}.
     *
     * @param busyCoreNs    per device, the time its core was busy with its steps in the request: the wall time of
     *                      its computes and sends on a device that runs them on one core.
     * @param endNs         the request's measured end-to-end time.
     * @param bytesSent     per device, payload bytes it sent in the request.
     * @param bytesReceived per device, payload bytes it received in the request.
     * @throws IllegalArgumentException if the arrays' lengths differ from the power models'.
     */
    public static PlanEnergy measured(
        final PowerModel[] power,
        final double[] busyCoreNs,
        final double endNs,
        final long[] bytesSent,
        final long[] bytesReceived)
    {
        final int n = power.length;
        if (busyCoreNs.length != n || bytesSent.length != n || bytesReceived.length != n)
        {
            throw new IllegalArgumentException("need one busy time and byte count per device: " + n +
                " power models, " + busyCoreNs.length + " busy times, " + bytesSent.length + " and " +
                bytesReceived.length + " byte counts");
        }
        final double[] joules = new double[n];
        for (int d = 0; d < n; d++)
        {
            joules[d] = joules(power[d], busyCoreNs[d], endNs, bytesSent[d], bytesReceived[d]);
        }
        return new PlanEnergy(joules);
    }

    /** @return the device's joules for the request, 0 if it did not take part (no CPU time and no bytes). */
    private static double joules(final PowerModel power, final double busyCoreNs, final double endNs,
        final long bytesSent, final long bytesReceived)
    {
        return busyCoreNs > 0 || bytesSent > 0 || bytesReceived > 0 ?
            power.joules(busyCoreNs, endNs, bytesSent, bytesReceived) : 0;
    }

    public int deviceCount()
    {
        return joules.length;
    }

    /** @return joules device {@code d} spends on one request. */
    public double joules(final int d)
    {
        return joules[d];
    }

    /** @return joules all devices together spend on one request. */
    public double totalJoules()
    {
        return totalJoules;
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "PlanEnergy{%.4f J:", totalJoules));
        for (int d = 0; d < joules.length; d++)
        {
            sb.append(String.format(Locale.ROOT, " %d=%.4f", d, joules[d]));
        }
        return sb.append('}').toString();
    }
}
