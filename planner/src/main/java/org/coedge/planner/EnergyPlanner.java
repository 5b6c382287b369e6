package org.coedge.planner;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * CoEdge's objective: the plan with the least predicted energy ({@link PlanEnergy} under each device's
 * {@link PowerModel}) whose predicted latency ({@link PlanSimulator}) meets a deadline.
 * <p>
 * The candidates are the latency search's shapes ({@link PlanShapes#everyShape}: cut, device subset, fuse depth,
 * tail device), every device alone, and the latency-optimal plan itself ({@link AdaptivePlanner}), so the choice is
 * never predicted to cost more than that plan when it meets the deadline. For each shape the row shares come from
 * the linear-program relaxation of {@link ShareLp}; {@link Planner#hybrid} rounds them to whole rows per layer by
 * largest remainder; the plan is then simulated. When the simulated plan misses the deadline (the LP's times are
 * linear, the simulator's waits are not, and rounding moves rows), a repair solves the LP again with the makespan
 * bound lowered by the miss, twice, and then blends the shares towards the speed-proportional ones the latency
 * search starts from. A shape whose LP solution the linear model alone (which leaves out waits, so mostly
 * underestimates) puts over 1.1x the least energy found so far is not simulated. The best shapes are then refined
 * on a grid of shares and by pattern search. Among the simulated plans that meet the deadline and fit every
 * device's memory the one of least energy wins, ties to the first in a fixed order, so the result is deterministic. If none meets the
 * deadline, the latency-optimal plan is returned with {@link EnergyChoice#meetsDeadline()} false and a warning.
 * <p>
 * Called by the engine's coordinator for {@code --objective energy} and by {@code coedge plan}; stateless, any
 * thread, given models no other thread mutates meanwhile.
 */
public final class EnergyPlanner
{
    private static final int LP_RETRIES = 2;
    private static final double[] BLENDS = {0.25, 0.5, 0.75, 1};
    private static final int REFINED = 6;
    private static final double PRUNE = 1.1;
    private static final int REFINE_TRIES = 120;
    private static final int GRID_DEVICES = 3;
    private static final int GRID = 8;

    private EnergyPlanner()
    {
    }

    /**
     * @param outputs    layer ids the coordinator (device 0) must hold at the end.
     * @param devices    one latency model per device; device 0 is the coordinator, which holds the inputs.
     * @param links      the network between the devices.
     * @param power      one power model per device.
     * @param deadlineNs the end-to-end latency a plan must be predicted to meet, {@code > 0}.
     * @throws IllegalArgumentException if the counts of devices, links and power models differ, the deadline is
     *                                  not positive, or no plan fits every device's memory.
     */
    public static EnergyChoice plan(
        final LayerGraph graph,
        final int[] outputs,
        final LatencyModel[] devices,
        final LinkModel links,
        final PowerModel[] power,
        final double deadlineNs,
        final long epoch)
    {
        return plan(graph, outputs, devices, links, power, deadlineNs, epoch,
            AdaptivePlanner.plan(graph, outputs, devices, links, epoch));
    }

    /**
     * As {@link #plan(LayerGraph, int[], LatencyModel[], LinkModel, PowerModel[], double, long)}, given the
     * latency-optimal plan {@link AdaptivePlanner} chose on the same models (a caller that has one saves its
     * search).
     */
    public static EnergyChoice plan(
        final LayerGraph graph,
        final int[] outputs,
        final LatencyModel[] devices,
        final LinkModel links,
        final PowerModel[] power,
        final double deadlineNs,
        final long epoch,
        final PlanChoice latency)
    {
        final Search search = new Search(graph, outputs, devices, links, power, deadlineNs, epoch);
        final PlanEnergy latencyEnergy = PlanEnergy.of(latency.prediction(), power);
        search.consider(latency.plan(), latency.programs(), latency.description());
        for (int d = 0; d < devices.length; d++)
        {
            search.check(Planner.hybrid(graph, PlanShapes.unit(devices.length, d), 1, -1, d, epoch, false),
                "everything on device " + d);
        }
        if (devices.length > 1)
        {
            PlanShapes.everyShape(graph, devices, search::shape);
            search.refineBest();
        }
        if (search.best == null)
        {
            return new EnergyChoice(latency, latencyEnergy, latency, latencyEnergy, deadlineNs, false);
        }
        final PlanChoice chosen = new PlanChoice(search.best.plan(), search.bestPrograms, search.best,
            search.bestDescription, search.candidates + latency.candidates(), latency.fastestAloneNs(),
            latency.fastestDevice());
        return new EnergyChoice(chosen, search.bestEnergy, latency, latencyEnergy, deadlineNs, true);
    }

    /**
     * The least-energy plan of one shape that meets the deadline, as {@link #plan} finds it: for tests that hold
     * the LP against a grid of shares.
     *
     * @return null if no plan the LP and its repair tried meets the deadline and fits.
     */
    static EnergyChoice planShape(
        final LayerGraph graph,
        final int[] outputs,
        final LatencyModel[] devices,
        final LinkModel links,
        final PowerModel[] power,
        final double deadlineNs,
        final int cut,
        final int[] subset,
        final int depth,
        final int tail)
    {
        final Search search = new Search(graph, outputs, devices, links, power, deadlineNs, 0);
        search.shape(cut, subset, depth, tail, PlanShapes.speedTo(graph, devices, cut)).refine(search, REFINE_TRIES);
        if (search.best == null)
        {
            return null;
        }
        final PlanChoice chosen = new PlanChoice(search.best.plan(), search.bestPrograms, search.best,
            search.bestDescription, search.candidates, Double.NaN, -1);
        return new EnergyChoice(chosen, search.bestEnergy, chosen, search.bestEnergy, deadlineNs, true);
    }

    /** One search's state; confined to the calling thread. */
    private static final class Search
    {
        private final LayerGraph graph;
        private final int[] outputs;
        private final LatencyModel[] devices;
        private final LinkModel links;
        private final PowerModel[] power;
        private final double deadlineNs;
        private final long epoch;
        private final int n;
        private int candidates;
        private Prediction best;
        private PlanEnergy bestEnergy;
        private List<DeviceProgram> bestPrograms;
        private String bestDescription;
        private final List<Shape> shapes = new ArrayList<>();
        private final Map<String, Prediction> seen = new HashMap<>();

        Search(
            final LayerGraph graph,
            final int[] outputs,
            final LatencyModel[] devices,
            final LinkModel links,
            final PowerModel[] power,
            final double deadlineNs,
            final long epoch)
        {
            if (devices.length == 0 || links.deviceCount() != devices.length || power.length != devices.length)
            {
                throw new IllegalArgumentException(devices.length + " device models, " + links.deviceCount() +
                    " devices in the link model and " + power.length + " power models: need one of each per device");
            }
            if (!(deadlineNs > 0) || Double.isInfinite(deadlineNs))
            {
                throw new IllegalArgumentException("deadline must be finite and > 0 ns: " + deadlineNs);
            }
            this.graph = graph;
            this.outputs = outputs.clone();
            this.devices = devices;
            this.links = links;
            this.power = power;
            this.deadlineNs = deadlineNs;
            this.epoch = epoch;
            this.n = devices.length;
        }

        /** Solves one shape's LP, rounds, simulates, and repairs a miss of the deadline. */
        Shape shape(final int cut, final int[] subset, final int depth, final int tail, final double[] speed)
        {
            final Shape shape = new Shape(cut, subset, depth, tail);
            shapes.add(shape);
            final double[] anchorShares = new double[n];
            for (final int d : subset)
            {
                anchorShares[d] = speed[d];
            }
            final Plan anchorPlan = Planner.hybrid(graph, anchorShares, depth, cut, tail, epoch, true, true);
            final List<DeviceProgram> anchor = StepCompiler.compile(graph, anchorPlan, outputs);
            final ShareLp lp = ShareLp.build(graph, devices, links, cut, subset, tail, anchorShares, anchor);
            double tightness = 1;
            double[] shares = lp.leastEnergy(power, deadlineNs, tightness);
            if (shares == null)
            {
                // the model says nothing meets the deadline; it is linear and may be wrong, so try its fastest
                shares = lp.fastest(deadlineNs);
            }
            else if (best != null && lp.modelJoules(power, shares) > PRUNE * bestEnergy.totalJoules())
            {
                return shape; // even the model, which leaves out waits, costs more than a plan already found
            }
            for (int attempt = 0; shares != null && attempt <= LP_RETRIES; attempt++)
            {
                final Prediction p = shape.tryShares(this, shares);
                if (p == null || p.endNs() <= deadlineNs)
                {
                    return shape; // meets the deadline, or does not fit at all (fewer rows will not fix memory)
                }
                tightness *= deadlineNs / p.endNs();
                final double[] tighter = lp.leastEnergy(power, deadlineNs, tightness);
                if (tighter == null)
                {
                    break;
                }
                shares = tighter;
            }
            // the LP cannot be brought under the deadline: move towards the balanced shares of the latency search
            final double[] start = shares == null ? anchorShares : shares;
            final double speedTotal = sum(anchorShares);
            final double startTotal = sum(start);
            for (final double blend : BLENDS)
            {
                final double[] mixed = new double[n];
                for (final int d : subset)
                {
                    mixed[d] = (1 - blend) * start[d] / startTotal + blend * anchorShares[d] / speedTotal;
                }
                final Prediction p = shape.tryShares(this, mixed);
                if (p == null || p.endNs() <= deadlineNs)
                {
                    break;
                }
            }
            return shape;
        }

        /**
         * Refines the best shapes (those that meet the deadline by energy, then the nearest): {@value #REFINED} of
         * them on graphs of up to {@value PlanShapes#ALL_CUTS_LAYERS} layers, the best one on larger graphs, whose
         * plans take long to compile.
         */
        void refineBest()
        {
            shapes.sort(Shape::compareTo);
            final boolean small = graph.layerCount() <= PlanShapes.ALL_CUTS_LAYERS;
            for (int i = 0; i < Math.min(small ? REFINED : 1, shapes.size()); i++)
            {
                shapes.get(i).refine(this, small ? REFINE_TRIES : REFINE_TRIES / 4);
            }
        }

        /**
         * Compiles, simulates and keeps a plan, once per distinct plan (neighbouring shares often round to the same
         * rows); @return its prediction, or null if it does not fit in memory.
         */
        Prediction check(final Plan plan, final String what)
        {
            final String key = plan.toString();
            if (seen.containsKey(key))
            {
                return seen.get(key);
            }
            final Prediction p = consider(plan, StepCompiler.compile(graph, plan, outputs), what);
            seen.put(key, p);
            return p;
        }

        Prediction consider(final Plan plan, final List<DeviceProgram> programs, final String what)
        {
            candidates++;
            final Prediction p = PlanSimulator.predict(graph, plan, programs, devices, links);
            for (int d = 0; d < n; d++)
            {
                if (p.memoryBytes(d) > devices[d].memoryBytes())
                {
                    return null;
                }
            }
            if (p.endNs() <= deadlineNs)
            {
                final PlanEnergy energy = PlanEnergy.of(p, power);
                if (best == null || energy.totalJoules() < bestEnergy.totalJoules())
                {
                    best = p;
                    bestEnergy = energy;
                    bestPrograms = programs;
                    bestDescription = what;
                }
            }
            return p;
        }

        private static double sum(final double[] v)
        {
            double s = 0;
            for (final double x : v)
            {
                s += x;
            }
            return s;
        }

        /**
         * One plan shape and the best shares tried for it: the least energy among those meeting the deadline, or,
         * while none does, the least latency.
         */
        private final class Shape implements Comparable<Shape>
        {
            final int cut;
            final int[] subset;
            final int depth;
            final int tail;
            final String what;
            double[] bestShares;
            boolean feasible;
            double bestValue = Double.POSITIVE_INFINITY; // joules when feasible, else nanoseconds

            Shape(final int cut, final int[] subset, final int depth, final int tail)
            {
                this.cut = cut;
                this.subset = subset;
                this.depth = depth;
                this.tail = tail;
                this.what = PlanShapes.describe(graph, cut, subset, depth, tail) + ", shares by least energy";
            }

            /** @return the prediction for these shares, or null if the plan does not fit in memory. */
            Prediction tryShares(final Search search, final double[] shares)
            {
                final Prediction p = search.check(Planner.hybrid(graph, shares, depth, cut, tail, epoch, true, true),
                    what);
                if (p == null)
                {
                    return null;
                }
                final boolean meets = p.endNs() <= deadlineNs;
                final double value = meets ? PlanEnergy.of(p, power).totalJoules() : p.endNs();
                if ((meets && !feasible) || (meets == feasible && value < bestValue))
                {
                    feasible = meets;
                    bestValue = value;
                    bestShares = shares.clone();
                }
                return p;
            }

            /**
             * For up to {@value #GRID_DEVICES} devices every share on a 1/{@value #GRID} grid, then a pattern search
             * from the best shares: moves a fraction of the rows from one device to another while
             * that lowers the energy (or, before the deadline is met, the latency), the fraction halving from 1/16
             * to 1/64, within {@code maxTries} plans.
             */
            void refine(final Search search, final int maxTries)
            {
                if (bestShares == null || subset.length < 2)
                {
                    return;
                }
                if (subset.length <= GRID_DEVICES && maxTries >= REFINE_TRIES)
                {
                    // rows come in whole numbers, so the energy jumps between neighbouring shares: try a coarse grid
                    grid(search, 0, GRID, new double[n]);
                }
                int tries = 0;
                for (double step = 1.0 / 16; step >= 1.0 / 64 && tries < maxTries; step /= 2)
                {
                    boolean improved = true;
                    while (improved && tries < maxTries)
                    {
                        improved = false;
                        for (final int from : subset)
                        {
                            for (final int to : subset)
                            {
                                final double total = sum(bestShares);
                                final double moved = Math.min(bestShares[from], step * total);
                                if (from == to || moved <= 0 || tries >= maxTries)
                                {
                                    continue;
                                }
                                final double[] shares = bestShares.clone();
                                shares[from] -= moved;
                                shares[to] += moved;
                                final boolean wasFeasible = feasible;
                                final double before = bestValue;
                                tryShares(search, shares);
                                tries++;
                                improved |= feasible != wasFeasible || bestValue < before;
                            }
                        }
                    }
                }
            }

            /** Tries every split of {@code left} eighths over the shape's devices from index {@code i} on. */
            private void grid(final Search search, final int i, final int left, final double[] shares)
            {
                if (i == subset.length - 1)
                {
                    shares[subset[i]] = left;
                    tryShares(search, shares);
                    return;
                }
                for (int k = 0; k <= left; k++)
                {
                    shares[subset[i]] = k;
                    grid(search, i + 1, left - k, shares);
                }
            }

            @Override
            public int compareTo(final Shape other)
            {
                if (feasible != other.feasible)
                {
                    return feasible ? -1 : 1;
                }
                return Double.compare(bestValue, other.bestValue);
            }
        }
    }
}
