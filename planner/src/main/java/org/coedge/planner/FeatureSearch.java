package org.coedge.planner;

import java.util.ArrayList;
import java.util.List;

/**
 * The part of {@link AdaptivePlanner}'s search that splits the graph's run of fully-connected layers by output
 * features ({@link Mode#FEATURES}, MoDNN) behind a few base shapes (a spatial split, or one device for everything
 * else). Kept small, since every candidate is compiled and simulated:
 * <ol>
 * <li>each base with each device subset of two or more ({@link PlanShapes#subsets}) at feature shares in
 * proportion to the devices' predicted speed on the run, and with shares in proportion to each device's memory (where
 * the head fits only when spread by what each device can hold);</li>
 * <li>the best {@value #BALANCED} of those balanced on the devices' simulated busy time in the FEATURES stage (the
 * compute and sends of their slices) over up to {@value #BALANCE_ROUNDS} rounds;</li>
 * <li>the best one refined by a 1/8 grid (up to three devices) and a pattern search (up to four).</li>
 * </ol>
 * Deterministic. Every candidate goes through the caller's evaluator, which keeps the best plan overall.
 * <p>
 * Built by {@link AdaptivePlanner} for one search; confined to its thread.
 */
final class FeatureSearch
{
    private static final int BALANCED = 2;
    private static final int BALANCE_ROUNDS = 6;
    private static final int GRID_DEVICES = 3;
    private static final int PATTERN_DEVICES = 4;
    private static final int GRID = 8;

    /** Predicts a plan, or returns null when it does not fit every device's memory. */
    interface Evaluator
    {
        Prediction predict(Plan plan, String description);
    }

    /** What the plan is before the run: a split of layers {@code [0, cut]} ({@code cut} -1: none), then a tail. */
    static final class Base
    {
        final int cut;
        final double[] shares;
        final int depth;
        final int tail;

        Base(final int cut, final double[] shares, final int depth, final int tail)
        {
            this.cut = cut;
            this.shares = shares.clone();
            this.depth = depth;
            this.tail = tail;
        }
    }

    /** A base with feature shares and what they were predicted to take. */
    private static final class Candidate
    {
        final Base base;
        final double[] shares;
        final double ns;

        Candidate(final Base base, final double[] shares, final double ns)
        {
            this.base = base;
            this.shares = shares.clone();
            this.ns = ns;
        }
    }

    private final LayerGraph graph;
    private final LatencyModel[] devices;
    private final long epoch;
    private final Evaluator evaluator;
    private final int n;

    FeatureSearch(final LayerGraph graph, final LatencyModel[] devices, final long epoch, final Evaluator evaluator)
    {
        this.graph = graph;
        this.devices = devices;
        this.epoch = epoch;
        this.evaluator = evaluator;
        this.n = devices.length;
    }

    /** Tries the feature split behind each base; the evaluator keeps what is best. */
    void search(final List<Base> bases)
    {
        final int[] run = Planner.featureRun(graph);
        final double[] speed = new double[n];
        final double[] byMemory = new double[n];
        for (int d = 0; d < n; d++)
        {
            double ns = 0;
            for (int id = run[0]; id <= run[1]; id++)
            {
                ns += devices[d].predictNs(id, 1);
            }
            speed[d] = 1 / Math.max(1, ns);
            byMemory[d] = devices[d].memoryBytes();
        }
        final List<Candidate> tried = new ArrayList<>();
        for (final Base base : bases)
        {
            for (final int[] subset : PlanShapes.subsets(n, speed))
            {
                if (subset.length >= 2)
                {
                    final double[] shares = new double[n];
                    for (final int d : subset)
                    {
                        shares[d] = speed[d];
                    }
                    tried.add(new Candidate(base, shares, ns(base, shares)));
                }
            }
            tried.add(new Candidate(base, byMemory, ns(base, byMemory)));
        }
        tried.sort((x, y) -> Double.compare(x.ns, y.ns)); // stable: ties keep the fixed order
        Candidate best = null;
        for (int i = 0; i < Math.min(BALANCED, tried.size()) && tried.get(i).ns < Double.POSITIVE_INFINITY; i++)
        {
            final Candidate c = balance(tried.get(i));
            best = best == null || c.ns < best.ns ? c : best;
        }
        if (best != null)
        {
            refine(best);
        }
    }

    /** @return the best shares found balancing {@code start}'s devices' busy time in the FEATURES stage. */
    private Candidate balance(final Candidate start)
    {
        final double[] shares = start.shares.clone();
        Candidate best = start;
        for (int round = 0; round < BALANCE_ROUNDS; round++)
        {
            final Prediction p = predict(start.base, shares);
            if (p == null)
            {
                break;
            }
            if (p.endNs() < best.ns)
            {
                best = new Candidate(start.base, shares, p.endNs());
            }
            final int stage = p.plan().stages().size() - 1 - (Planner.featureRun(graph)[1] + 1 <
                graph.layerCount() ? 1 : 0);
            final double[] busy = new double[n];
            double sum = 0;
            double lo = Double.POSITIVE_INFINITY;
            double hi = 0;
            int working = 0;
            for (int d = 0; d < n; d++)
            {
                if (shares[d] <= 0)
                {
                    continue;
                }
                for (int i = 0; i < p.stepCount(d); i++)
                {
                    if (p.stepStage(d, i) == stage && p.stepKind(d, i) != Step.Kind.AWAIT)
                    {
                        busy[d] += p.stepNs(d, i);
                    }
                }
                sum += busy[d];
                lo = Math.min(lo, busy[d]);
                hi = Math.max(hi, busy[d]);
                working++;
            }
            if (hi <= lo * 1.01)
            {
                break;
            }
            final double mean = sum / working;
            for (int d = 0; d < n; d++)
            {
                if (shares[d] > 0)
                {
                    shares[d] *= Math.max(0.25, Math.min(4, mean / Math.max(1, busy[d])));
                }
            }
        }
        return best;
    }

    /** A 1/8 grid over up to three devices, then a pattern search over up to four, from {@code start}. */
    private void refine(final Candidate start)
    {
        final List<Integer> members = new ArrayList<>();
        for (int d = 0; d < n; d++)
        {
            if (n <= GRID_DEVICES || start.shares[d] > 0)
            {
                members.add(d);
            }
        }
        final Candidate[] best = {start};
        if (members.size() <= GRID_DEVICES)
        {
            grid(start.base, members, 0, GRID, new double[n], best);
        }
        if (members.size() > PATTERN_DEVICES)
        {
            return;
        }
        for (double step = 1.0 / 8; step >= 1.0 / 64; step /= 2)
        {
            boolean improved = true;
            while (improved)
            {
                improved = false;
                for (final int from : members)
                {
                    for (final int to : members)
                    {
                        final double[] shares = best[0].shares.clone();
                        double total = 0;
                        for (final double v : shares)
                        {
                            total += v;
                        }
                        final double moved = Math.min(shares[from], step * total);
                        if (from == to || moved <= 0)
                        {
                            continue;
                        }
                        shares[from] -= moved;
                        shares[to] += moved;
                        improved |= keep(start.base, shares, best);
                    }
                }
            }
        }
    }

    private void grid(
        final Base base, final List<Integer> members, final int i, final int left, final double[] shares,
        final Candidate[] best)
    {
        if (i == members.size() - 1)
        {
            shares[members.get(i)] = left;
            keep(base, shares, best);
            return;
        }
        for (int k = 0; k <= left; k++)
        {
            shares[members.get(i)] = k;
            grid(base, members, i + 1, left - k, shares, best);
        }
    }

    /** @return whether {@code shares} beat {@code best[0]}, which they then replace. */
    private boolean keep(final Base base, final double[] shares, final Candidate[] best)
    {
        final double ns = ns(base, shares);
        if (ns < best[0].ns)
        {
            best[0] = new Candidate(base, shares, ns);
            return true;
        }
        return false;
    }

    private double ns(final Base base, final double[] shares)
    {
        final Prediction p = predict(base, shares);
        return p == null ? Double.POSITIVE_INFINITY : p.endNs();
    }

    private Prediction predict(final Base base, final double[] featureShares)
    {
        final Plan plan = Planner.hybrid(graph, base.shares, base.depth, base.cut, base.tail, epoch, base.cut >= 0,
            base.cut >= 0, featureShares);
        return evaluator.predict(plan, PlanShapes.describe(graph, base.cut, base.shares, base.depth, base.tail,
            featureShares));
    }
}
