package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;

import org.apache.commons.math3.optim.MaxIter;
import org.apache.commons.math3.optim.PointValuePair;
import org.apache.commons.math3.optim.linear.LinearConstraint;
import org.apache.commons.math3.optim.linear.LinearConstraintSet;
import org.apache.commons.math3.optim.linear.LinearObjectiveFunction;
import org.apache.commons.math3.optim.linear.NoFeasibleSolutionException;
import org.apache.commons.math3.optim.linear.NonNegativeConstraint;
import org.apache.commons.math3.optim.linear.Relationship;
import org.apache.commons.math3.optim.linear.SimplexSolver;
import org.apache.commons.math3.optim.linear.UnboundedSolutionException;
import org.apache.commons.math3.optim.nonlinear.scalar.GoalType;

/**
 * CoEdge's linear-program relaxation of one plan shape (split layers {@code [0, cut]} over a subset of the devices
 * in blocks of a fuse depth, the rest on a tail device): the variables are the subset's row shares {@code x_j >= 0},
 * {@code sum x_j = 1}, and the request's makespan {@code T}, as a fraction of the deadline. Per device, everything
 * the energy and the time depend on is made linear in the shares:
 * <ul>
 * <li>CPU time: for each split layer, a least-squares line through the device's {@link LatencyModel#predictNs} at a
 * quarter, half and all of the layer's rows, in the fraction of rows (the intercept is the fixed cost per call);
 * the tail's layers as a constant on the tail device; each send's CPU ({@link LinkModel#sendNs}) per message and
 * per byte;</li>
 * <li>bytes, from the messages of the shape compiled at anchor shares: a scatter to a device grows with that
 * device's share, a gather of split rows with the sender's, halo and redistribution messages are taken as fixed
 * (they depend on where a slice's boundaries fall, not on how many rows it has);</li>
 * <li>time: CPU time, stretched by the device's {@link CpuQuota} where it has one, plus its bytes sent over its
 * uplink rate and received over its downlink rate, plus the latency to and from the coordinator.</li>
 * </ul>
 * The constraints: every device's time {@code <= T}; every split device's time plus the tail's compute
 * {@code <= T}; {@code T <=} the deadline times a tightness {@code <= 1} (a repair lowers it when the simulated
 * plan misses the deadline). The objective: the sum over the devices that take part (the coordinator, the subset,
 * the tail; {@link PlanEnergy}) of idle power times {@code T}, active power per core times busy time (CPU time
 * stretched by a quota), and energy per byte sent and received.
 * Solved with commons-math3's {@link SimplexSolver}.
 * <p>
 * Built and solved by {@link EnergyPlanner} on its thread; not shared.
 */
final class ShareLp
{
    private final int n;
    private final int[] subset;
    private final int k;
    // linear forms over the subset's shares, (device, k + 1): coefficient per share, then the constant
    private final double[][] cpuNs; // all CPU time
    private final double[][] sentBytes;
    private final double[][] receivedBytes;
    private final double[][] timeNs; // wall time of everything the device does
    private final double[][] splitTimeNs; // wall time without the tail's compute
    private double tailWallNs; // the tail's compute, after every split device is done
    private final double[] busyPerCpu; // per device, busy core time per CPU nanosecond (a quota's slower core)
    private final int tail;

    private ShareLp(final int n, final int[] subset, final int tail)
    {
        this.n = n;
        this.subset = subset.clone();
        this.k = subset.length;
        this.tail = tail;
        cpuNs = new double[n][k + 1];
        sentBytes = new double[n][k + 1];
        receivedBytes = new double[n][k + 1];
        timeNs = new double[n][k + 1];
        splitTimeNs = new double[n][k + 1];
        busyPerCpu = new double[n];
    }

    /**
     * @param anchorShares the shares (one per device, positive exactly on the subset) the shape was compiled at.
     * @param anchor       the shape's programs at those shares.
     */
    static ShareLp build(
        final LayerGraph graph,
        final LatencyModel[] devices,
        final LinkModel links,
        final int cut,
        final int[] subset,
        final int tail,
        final double[] anchorShares,
        final List<DeviceProgram> anchor)
    {
        final int n = devices.length;
        final ShareLp lp = new ShareLp(n, subset, tail);
        final int k = subset.length;
        final int[] index = new int[n];
        java.util.Arrays.fill(index, -1);
        double anchorTotal = 0;
        for (int i = 0; i < k; i++)
        {
            index[subset[i]] = i;
            anchorTotal += anchorShares[subset[i]];
        }
        for (int i = 0; i < k; i++)
        {
            final int d = subset[i];
            for (int id = 0; id <= cut; id++)
            {
                final double[] line = rowLine(devices[d], id, graph.layer(id).heightRows());
                lp.cpuNs[d][k] += line[0];
                lp.cpuNs[d][i] += line[1];
            }
        }
        double tailCpu = 0;
        for (int id = cut + 1; id < graph.layerCount(); id++)
        {
            tailCpu += devices[tail].predictNs(id, graph.layer(id).heightRows());
        }
        final double perMessageNs = links.sendNs(0);
        final double perByteNs = links.sendNs(1) - perMessageNs;
        for (final DeviceProgram program : anchor)
        {
            final int from = program.device();
            for (final Step s : program.steps())
            {
                if (s.kind() != Step.Kind.SEND)
                {
                    continue;
                }
                final int to = s.peer();
                // which device's share the message grows with: a scatter the receiver's, a gather of split rows the
                // sender's; halo and redistribution rows depend on where boundaries fall, not on how many rows
                int scalesWith = -1;
                if (s.purpose() == Step.Purpose.SCATTER)
                {
                    scalesWith = index[to];
                }
                else if (s.purpose() == Step.Purpose.GATHER && s.layer() <= cut)
                {
                    scalesWith = index[from];
                }
                final double share = scalesWith < 0 ? 0 : anchorShares[subset[scalesWith]] / anchorTotal;
                final int slot = scalesWith < 0 || share <= 0 ? k : scalesWith;
                final double amount = slot == k ? s.bytes() : s.bytes() / share;
                lp.sentBytes[from][slot] += amount;
                lp.receivedBytes[to][slot] += amount;
                lp.cpuNs[from][k] += perMessageNs;
                lp.cpuNs[from][slot] += perByteNs * amount;
            }
        }
        for (int d = 0; d < n; d++)
        {
            final CpuQuota quota = devices[d].quota();
            final double stretch = quota == null ? 1 : 1 / quota.cores();
            lp.busyPerCpu[d] = Math.max(1, stretch);
            final double upNsPerByte = 1e9 / links.upBytesPerSecond(d);
            final double downNsPerByte = 1e9 / links.downBytesPerSecond(d);
            for (int j = 0; j <= k; j++)
            {
                lp.splitTimeNs[d][j] = lp.cpuNs[d][j] * stretch + lp.sentBytes[d][j] * upNsPerByte +
                    lp.receivedBytes[d][j] * downNsPerByte;
            }
            lp.splitTimeNs[d][k] += 2 * links.latencyNs(0, d);
            System.arraycopy(lp.splitTimeNs[d], 0, lp.timeNs[d], 0, k + 1);
        }
        final CpuQuota tailQuota = devices[tail].quota();
        lp.tailWallNs = tailCpu * (tailQuota == null ? 1 : 1 / tailQuota.cores());
        lp.cpuNs[tail][k] += tailCpu;
        lp.timeNs[tail][k] += lp.tailWallNs;
        return lp;
    }

    /**
     * @param tightness the makespan's bound as a fraction of the deadline, in (0, 1].
     * @return the shares (one per device, 0 outside the subset) of least modelled energy whose modelled makespan
     * meets {@code tightness * deadlineNs}, or null if the model says none does.
     */
    double[] leastEnergy(final PowerModel[] power, final double deadlineNs, final double tightness)
    {
        final double[] objective = new double[k + 1];
        for (int d = 0; d < n; d++)
        {
            for (int j = 0; j < k; j++)
            {
                objective[j] += (power[d].activeWattsPerCore() * cpuNs[d][j] * busyPerCpu[d] +
                    power[d].nanojoulesPerByteSent() * sentBytes[d][j] +
                    power[d].nanojoulesPerByteReceived() * receivedBytes[d][j]) * 1e-9;
            }
            objective[k] += takesPart(d) ? power[d].idleWatts() * deadlineNs * 1e-9 : 0;
        }
        return solve(objective, deadlineNs, tightness);
    }

    /**
     * @return the energy the model predicts for {@code shares} (one per device) over a request lasting as long as
     * the model's makespan for them: a rough lower bound on the simulated energy, since the model leaves out waits
     * and the redundant rows of fused blocks.
     */
    double modelJoules(final PowerModel[] power, final double[] shares)
    {
        double makespanNs = 0;
        double joules = 0;
        for (int d = 0; d < n; d++)
        {
            final double cpu = at(cpuNs[d], shares);
            makespanNs = Math.max(makespanNs, at(timeNs[d], shares));
            if (d != tail && inSubset(d))
            {
                makespanNs = Math.max(makespanNs, at(splitTimeNs[d], shares) + tailWallNs);
            }
            joules += power[d].joules(cpu * busyPerCpu[d], 0, Math.round(at(sentBytes[d], shares)),
                Math.round(at(receivedBytes[d], shares)));
        }
        for (int d = 0; d < n; d++)
        {
            joules += takesPart(d) ? power[d].joules(0, makespanNs, 0, 0) : 0;
        }
        return joules;
    }

    private double at(final double[] form, final double[] shares)
    {
        double v = form[k];
        for (int j = 0; j < k; j++)
        {
            v += form[j] * shares[subset[j]];
        }
        return v;
    }

    /** @return the shares of least modelled makespan, with no deadline, or null if the solver fails. */
    double[] fastest(final double deadlineNs)
    {
        final double[] objective = new double[k + 1];
        objective[k] = 1;
        return solve(objective, deadlineNs, Double.NaN);
    }

    /** Variables: the k shares, then the makespan over the deadline; every time is divided by the deadline. */
    private double[] solve(final double[] objective, final double deadlineNs, final double tightness)
    {
        final List<LinearConstraint> constraints = new ArrayList<>();
        final double[] sum = new double[k + 1];
        for (int j = 0; j < k; j++)
        {
            sum[j] = 1;
        }
        constraints.add(new LinearConstraint(sum, Relationship.EQ, 1));
        if (!Double.isNaN(tightness))
        {
            final double[] bound = new double[k + 1];
            bound[k] = 1;
            constraints.add(new LinearConstraint(bound, Relationship.LEQ, tightness));
        }
        for (int d = 0; d < n; d++)
        {
            constraints.add(timeWithin(timeNs[d], 0, deadlineNs));
            if (d != tail && inSubset(d))
            {
                constraints.add(timeWithin(splitTimeNs[d], tailWallNs, deadlineNs));
            }
        }
        final PointValuePair solution;
        try
        {
            solution = new SimplexSolver().optimize(new MaxIter(10_000), new LinearObjectiveFunction(objective, 0),
                new LinearConstraintSet(constraints), GoalType.MINIMIZE, new NonNegativeConstraint(true));
        }
        catch (final NoFeasibleSolutionException | UnboundedSolutionException e)
        {
            return null;
        }
        final double[] point = solution.getPoint();
        final double[] shares = new double[n];
        for (int j = 0; j < k; j++)
        {
            // the simplex leaves round-off where a share is 0; a sliver would still get a halo's rows
            shares[subset[j]] = point[j] < 1e-6 ? 0 : point[j];
        }
        return shares;
    }

    /** @return {@code form(x) + extraNs <= T}, as {@code sum a_j x_j / D - t <= -(c + extra) / D}. */
    private LinearConstraint timeWithin(final double[] form, final double extraNs, final double deadlineNs)
    {
        final double[] row = new double[k + 1];
        for (int j = 0; j < k; j++)
        {
            row[j] = form[j] / deadlineNs;
        }
        row[k] = -1;
        return new LinearConstraint(row, Relationship.LEQ, -(form[k] + extraNs) / deadlineNs);
    }

    /** @return whether device {@code d} takes part in the shape: it holds the inputs, splits rows or runs the tail. */
    private boolean takesPart(final int d)
    {
        return d == 0 || d == tail || inSubset(d);
    }

    private boolean inSubset(final int d)
    {
        for (final int s : subset)
        {
            if (s == d)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * @return {intercept, slope}, both {@code >= 0}, of the device's predicted time for layer {@code id} against
     * the fraction of its {@code height} rows, fitted through a quarter, half and all of them.
     */
    static double[] rowLine(final LatencyModel device, final int id, final int height)
    {
        final int[] rows = {Math.max(1, Math.round(height / 4f)), Math.max(1, Math.round(height / 2f)), height};
        double sx = 0;
        double sy = 0;
        double sxx = 0;
        double sxy = 0;
        for (final int r : rows)
        {
            final double x = r / (double)height;
            final double y = device.predictNs(id, r);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        final int m = rows.length;
        final double det = m * sxx - sx * sx;
        double slope = det > 1e-12 ? (m * sxy - sx * sy) / det : 0;
        double intercept = det > 1e-12 ? (sy - slope * sx) / m : 0;
        if (det <= 1e-12 || intercept < 0 || slope < 0)
        {
            intercept = 0;
            slope = sxx > 0 ? Math.max(0, sxy / sxx) : 0;
        }
        return new double[]{intercept, slope};
    }
}
