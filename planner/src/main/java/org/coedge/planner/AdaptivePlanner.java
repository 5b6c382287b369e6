package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;

/**
 * The default planner: searches hybrid plans and keeps the one {@link PlanSimulator} predicts to finish first on the
 * devices' {@link LatencyModel}s and the {@link LinkModel}, among those that fit every device's memory.
 * <p>
 * The candidates, all of the form "split layers {@code [0, c]} by rows over a subset of the devices, then run the
 * rest on one device" ({@link Planner#hybrid}):
 * <ul>
 * <li>every device alone with the whole model (so the choice is never predicted slower than the fastest device);</li>
 * <li>for each cut {@code c} (the end of each feature-map resolution where one layer's output crosses, or, for
 * graphs of up to {@value #ALL_CUTS_LAYERS} layers, every such cut), each subset of devices (all of them for up to
 * {@value #ALL_SUBSETS_DEVICES} devices, otherwise the fastest k for every k, with and without the coordinator),
 * each fuse depth (1, 2, 4, 8) and each device for the rest (the coordinator and the one fastest at it; every
 * device for up to three): a split part on one device and the rest on another is Neurosurgeon's vertical split.
 * The shares of a split start in proportion to each device's predicted speed on the split layers and are then
 * balanced on the simulated times: a device whose first compute plus busy time (compute and send, not waits) ends
 * late, because it is slow or the scatter feeds it late, gives up rows to one that ends early, a few rounds, keeping
 * the best plan seen; the best few shapes are then refined by a grid (up to three devices) and a pattern search.</li>
 * <li>where the graph has a run of fully-connected layers ({@link Planner#featureRun}), that run split by output
 * features over device subsets (MoDNN, {@link FeatureSearch}) behind the best shape found and behind the fastest
 * device alone.</li>
 * </ul>
 * Deterministic: the same graph and models give the same plan (candidates in a fixed order, ties to the first).
 * <p>
 * Called by the engine's coordinator when it plans (at start, on a join, a leave or drift) and by {@code coedge
 * plan}; stateless, any thread, given models no other thread mutates meanwhile.
 */
public final class AdaptivePlanner
{
    static final int ALL_CUTS_LAYERS = PlanShapes.ALL_CUTS_LAYERS;
    static final int ALL_SUBSETS_DEVICES = PlanShapes.ALL_SUBSETS_DEVICES;
    private static final int BALANCE_ROUNDS = 6;
    private static final int REFINED = 12;
    private static final int GRID_DEVICES = 3;
    private static final int GRID = 8;
    private static final double FEATURE_GAIN = 0.005;

    private AdaptivePlanner()
    {
    }

    /**
     * @param outputs layer ids the coordinator (device 0) must hold at the end.
     * @param devices one latency model per device; device 0 is the coordinator, which holds the inputs.
     * @param links   the network between the devices.
     * @throws IllegalArgumentException if no candidate fits every device's memory, naming the device and the bytes
     *                                  the least demanding plan asks of it.
     */
    public static PlanChoice plan(
        final LayerGraph graph,
        final int[] outputs,
        final LatencyModel[] devices,
        final LinkModel links,
        final long epoch)
    {
        return new Search(graph, outputs, devices, links, epoch).run();
    }

    /** One search's state; confined to the calling thread. */
    private static final class Search
    {
        private final LayerGraph graph;
        private final int[] outputs;
        private final LatencyModel[] devices;
        private final LinkModel links;
        private final long epoch;
        private final int n;
        private final int spatialEnd;
        private int candidates;
        private Prediction best;
        private List<DeviceProgram> bestPrograms;
        private String bestDescription;
        private Prediction leastOver; // the infeasible plan whose worst device overshoots least, for the error
        private double leastOverRatio = Double.POSITIVE_INFINITY;
        private int leastOverDevice;
        private final List<Structure> structures = new ArrayList<>();

        Search(
            final LayerGraph graph,
            final int[] outputs,
            final LatencyModel[] devices,
            final LinkModel links,
            final long epoch)
        {
            if (devices.length == 0 || links.deviceCount() != devices.length)
            {
                throw new IllegalArgumentException(devices.length + " device models but " + links.deviceCount() +
                    " devices in the link model");
            }
            this.graph = graph;
            this.outputs = outputs.clone();
            this.devices = devices;
            this.links = links;
            this.epoch = epoch;
            this.n = devices.length;
            this.spatialEnd = graph.firstGlobalLayer();
        }

        PlanChoice run()
        {
            final double[] aloneNs = new double[n];
            int fastest = 0;
            for (int d = 0; d < n; d++)
            {
                aloneNs[d] = evaluate(Planner.hybrid(graph, PlanShapes.unit(n, d), 1, -1, d, epoch, false),
                    "everything on device " + d);
                if (aloneNs[d] < aloneNs[fastest])
                {
                    fastest = d;
                }
            }
            if (n > 1 && graph.layerCount() <= ALL_CUTS_LAYERS)
            {
                everyShape();
            }
            else if (n > 1)
            {
                stagedShapes(fastest);
            }
            if (n > 1 && Planner.featureRun(graph) != null)
            {
                featureSplits(fastest);
            }
            if (best == null)
            {
                throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "no plan fits every device's memory: device %d would need %d MiB (limit %d MiB) even in the " +
                    "plan that asks least of it (%s)", leastOverDevice,
                    leastOver.memoryBytes(leastOverDevice) >> 20, devices[leastOverDevice].memoryBytes() >> 20,
                    leastOver.plan()));
            }
            return new PlanChoice(best.plan(), bestPrograms, best, bestDescription, candidates, aloneNs[fastest],
                fastest);
        }

        /**
         * Small graphs: every shape (cut, subset, fuse depth, tail), each balanced, then the best few refined by a
         * grid and a pattern search.
         */
        private void everyShape()
        {
            PlanShapes.everyShape(graph, devices,
                (cut, subset, depth, tail, speed) -> balance(cut, subset, depth, tail, speed, BALANCE_ROUNDS));
            structures.sort((x, y) -> Double.compare(x.bestNs, y.bestNs));
            for (int i = 0; i < Math.min(REFINED, structures.size()); i++)
            {
                refine(structures.get(i));
            }
        }

        /**
         * Real models (hundreds of candidates would take seconds to compile): the subsets first, each splitting
         * every spatial layer by speed; then, for the two best and for the vertical split from the coordinator,
         * every cut, fuse depth and tail by speed; then the three best balanced, and the best refined.
         */
        private void stagedShapes(final int fastest)
        {
            final int lastCut = spatialEnd - 1;
            final List<Structure> bySubset = new ArrayList<>();
            if (lastCut >= 1)
            {
                final double[] speed = PlanShapes.speedTo(graph, devices, lastCut);
                for (final int[] subset : PlanShapes.subsets(n, speed))
                {
                    if (subset.length > 1)
                    {
                        bySubset.add(balance(lastCut, subset, 1, 0, speed, 1));
                    }
                }
            }
            bySubset.sort((x, y) -> Double.compare(x.bestNs, y.bestNs));
            final List<int[]> chosen = new ArrayList<>();
            for (int i = 0; i < Math.min(2, bySubset.size()); i++)
            {
                chosen.add(bySubset.get(i).subset);
            }
            chosen.add(new int[]{0});
            final List<Structure> shapes = new ArrayList<>();
            final int[] tails = fastest == 0 ? new int[]{0} : new int[]{0, fastest};
            for (final int[] subset : chosen)
            {
                for (final int cut : PlanShapes.cuts(graph))
                {
                    final double[] speed = PlanShapes.speedTo(graph, devices, cut);
                    for (final int depth : PlanShapes.FUSE_DEPTHS)
                    {
                        for (final int tail : tails)
                        {
                            if (subset.length == 1 && subset[0] == tail)
                            {
                                continue; // the same device throughout: "alone" already covers it
                            }
                            shapes.add(balance(cut, subset, depth, tail, speed, 1));
                        }
                        if (depth > cut || subset.length == 1)
                        {
                            break;
                        }
                    }
                }
            }
            shapes.sort((x, y) -> Double.compare(x.bestNs, y.bestNs));
            for (int i = 0; i < Math.min(3, shapes.size()); i++)
            {
                final Structure st = shapes.get(i);
                if (st.bestShares != null && st.subset.length > 1)
                {
                    balance(st.cut, st.subset, st.depth, st.tail, st.bestShares, BALANCE_ROUNDS);
                }
            }
            structures.sort((x, y) -> Double.compare(x.bestNs, y.bestNs));
            if (!structures.isEmpty() && structures.get(0).subset.length <= ALL_SUBSETS_DEVICES)
            {
                refine(structures.get(0));
            }
        }

        /**
         * The fully-connected run split by output features (MoDNN, {@link FeatureSearch}) behind the best structure
         * found and behind the fastest device alone; a base whose tail device computes the run in under
         * {@value #FEATURE_GAIN} of the best plan's time is left out, as splitting the run cannot save more than that
         * (ResNet-18's one small FC).
         */
        private void featureSplits(final int fastest)
        {
            final List<FeatureSearch.Base> bases = new ArrayList<>();
            structures.sort((x, y) -> Double.compare(x.bestNs, y.bestNs));
            if (!structures.isEmpty() && structures.get(0).bestShares != null)
            {
                final Structure st = structures.get(0);
                bases.add(new FeatureSearch.Base(st.cut, st.bestShares, st.depth, st.tail));
            }
            bases.add(new FeatureSearch.Base(-1, PlanShapes.unit(n, fastest), 1, fastest));
            final int[] run = Planner.featureRun(graph);
            bases.removeIf(b ->
            {
                double ns = 0;
                for (int id = run[0]; id <= run[1]; id++)
                {
                    ns += devices[b.tail].predictNs(id, 1);
                }
                return best != null && ns < FEATURE_GAIN * best.endNs();
            });
            if (!bases.isEmpty())
            {
                new FeatureSearch(graph, devices, epoch, this::predictionOf).search(bases);
            }
        }

        /** Balances the shares of one split structure over up to {@code rounds} simulated rounds. */
        private Structure balance(
            final int cut, final int[] subset, final int depth, final int tail, final double[] speed, final int rounds)
        {
            final double[] shares = new double[n];
            for (final int d : subset)
            {
                shares[d] = speed[d];
            }
            final Structure structure = new Structure(cut, subset, depth, tail);
            for (int round = 0; round < rounds; round++)
            {
                final Prediction p = structure.tryShares(this, shares);
                if (p == null || subset.length == 1)
                {
                    break;
                }
                final int splitStages = p.plan().stages().size() - (cut + 1 < graph.layerCount() ? 1 : 0);
                final double[] finish = new double[n];
                double sum = 0;
                double lo = Double.POSITIVE_INFINITY;
                double hi = 0;
                for (final int d : subset)
                {
                    // when the device would finish if it never waited after its first compute: a device that
                    // waits on its neighbours is not slow, and one fed late by the scatter is
                    double first = -1;
                    double busy = 0;
                    for (int i = 0; i < p.stepCount(d); i++)
                    {
                        if (p.stepStage(d, i) < splitStages)
                        {
                            final Step.Kind kind = p.stepKind(d, i);
                            if (kind == Step.Kind.COMPUTE && first < 0)
                            {
                                first = p.stepStartNs(d, i);
                            }
                            if (first >= 0 && kind != Step.Kind.AWAIT)
                            {
                                busy += p.stepNs(d, i);
                            }
                        }
                    }
                    finish[d] = Math.max(0, first) + busy;
                    sum += finish[d];
                    lo = Math.min(lo, finish[d]);
                    hi = Math.max(hi, finish[d]);
                }
                if (hi <= lo * 1.01)
                {
                    break;
                }
                final double mean = sum / subset.length;
                for (final int d : subset)
                {
                    shares[d] *= Math.max(0.25, Math.min(4, mean / Math.max(1, finish[d])));
                }
            }
            if (structure.bestShares != null && subset.length > 1)
            {
                structures.add(structure);
            }
            return structure;
        }

        /**
         * Pattern search on the shares of one of the best structures: moves a fraction of the rows from one device
         * to another while that is predicted faster, with the fraction halving from 1/8 to 1/64.
         */
        private void refine(final Structure s)
        {
            if (s.subset.length <= GRID_DEVICES)
            {
                // rows come in whole numbers, so a few rows more or less can jump: try the coarse grid first
                grid(s, 0, GRID, new double[n]);
            }
            for (double step = 1.0 / 8; step >= 1.0 / 64; step /= 2)
            {
                boolean improved = true;
                while (improved)
                {
                    improved = false;
                    for (final int from : s.subset)
                    {
                        for (final int to : s.subset)
                        {
                            if (from == to)
                            {
                                continue;
                            }
                            final double[] shares = s.bestShares.clone();
                            double total = 0;
                            for (final double v : shares)
                            {
                                total += v;
                            }
                            final double moved = Math.min(shares[from], step * total);
                            if (moved <= 0)
                            {
                                continue;
                            }
                            shares[from] -= moved;
                            shares[to] += moved;
                            final double before = s.bestNs;
                            s.tryShares(this, shares);
                            improved |= s.bestNs < before;
                        }
                    }
                }
            }
        }

        /** @return the predicted end-to-end time (infinite if it does not fit), keeping the best feasible. */
        private double evaluate(final Plan plan, final String what)
        {
            final Prediction p = predictionOf(plan, what);
            return p == null ? Double.POSITIVE_INFINITY : p.endNs();
        }

        private Prediction predictionOf(final Plan plan, final String what)
        {
            candidates++;
            final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, outputs);
            final Prediction p = PlanSimulator.predict(graph, plan, programs, devices, links);
            double worst = 0;
            int worstDevice = 0;
            for (int d = 0; d < n; d++)
            {
                final double ratio = p.memoryBytes(d) / (double)devices[d].memoryBytes();
                if (ratio > worst)
                {
                    worst = ratio;
                    worstDevice = d;
                }
            }
            if (worst > 1)
            {
                if (worst < leastOverRatio)
                {
                    leastOverRatio = worst;
                    leastOver = p;
                    leastOverDevice = worstDevice;
                }
                return null;
            }
            if (best == null || p.endNs() < best.endNs())
            {
                best = p;
                bestPrograms = programs;
                bestDescription = what;
            }
            return p;
        }

        /** Tries every split of {@code left} eighths over the structure's devices from index {@code i} on. */
        private void grid(final Structure s, final int i, final int left, final double[] shares)
        {
            if (i == s.subset.length - 1)
            {
                shares[s.subset[i]] = left;
                s.tryShares(this, shares);
                return;
            }
            for (int k = 0; k <= left; k++)
            {
                shares[s.subset[i]] = k;
                grid(s, i + 1, left - k, shares);
            }
        }

        /** One plan shape (cut, devices, fuse depth, tail device) and the best shares tried for it. */
        private final class Structure
        {
            final int cut;
            final int[] subset;
            final int depth;
            final int tail;
            final String what;
            double[] bestShares;
            double bestNs = Double.POSITIVE_INFINITY;

            Structure(final int cut, final int[] subset, final int depth, final int tail)
            {
                this.cut = cut;
                this.subset = subset;
                this.depth = depth;
                this.tail = tail;
                this.what = PlanShapes.describe(graph, cut, subset, depth, tail);
            }

            /** @return the prediction for these shares, or null if the plan does not fit. */
            Prediction tryShares(final Search search, final double[] shares)
            {
                final Plan plan = Planner.hybrid(graph, shares, depth, cut, tail, epoch, true, true);
                final Prediction p = search.predictionOf(plan, what);
                if (p != null && p.endNs() < bestNs)
                {
                    bestNs = p.endNs();
                    bestShares = shares.clone();
                }
                return p;
            }
        }
    }
}
