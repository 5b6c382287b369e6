package org.coedge.planner;

import java.util.Arrays;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealVector;

/**
 * What one device takes to compute rows of a layer, Edgent / Neurosurgeon style: per {@link LayerKind} a linear
 * regression of time on the work's features (a fixed cost per call, FLOPs, and bytes read and written: input rows,
 * output rows and weights), fitted with non-negative coefficients to the samples of the device's
 * {@link DeviceProfile}; a kind without samples falls back to FLOPs at the calibrated rate, scaled by how the
 * device's samples compare with that rate. Each profiled layer keeps its own correction, the median ratio of its
 * measured to its fitted times, so the model reproduces what was measured and the regression carries it to other
 * row counts.
 * <p>
 * Refined online from the step times of every request ({@link #observe} per step, then {@link #endRequest}): the
 * profiled layers all follow one device-wide scale, the median over the last {@value #WINDOW} requests of the
 * request's measured time of those layers over their prediction (a sum over the request, because a step's own time
 * on a throttled device depends on whether the quota ran out during it, while a request's does not); a layer
 * without profile samples takes the median of its own last {@value #WINDOW} observed ratios, or the device scale
 * before it is observed. A device that slows down, say under a new CPU quota, is seen within a few requests.
 * <p>
 * Built by the engine's coordinator per device from its profile; mutated only by the coordinator's thread through
 * {@link #observe}, read by the plan search on that thread ({@link #copy} for another).
 */
public final class LatencyModel
{
    /** Observations kept per layer, and for the device-wide ratio. */
    public static final int WINDOW = 8;
    private static final int FEATURES = 3; // 1, flops, bytes
    private static final int KINDS = LayerKind.values().length;

    private final LayerGraph graph;
    private final DeviceProfile profile;
    private final double[][] coefficients; // (kind, feature) in ns; null where a kind has no samples
    private final double fallbackNsPerFlop;
    private final double[] profiledRatio; // per layer, 1 where not profiled
    private final double[][] observed; // per layer ring of measured / base ratios
    private final int[] observedCount;
    private final boolean[] profiled;
    private final double[] deviceRatios = new double[WINDOW];
    private int deviceRatioCount;
    private double pendingMeasuredNs;
    private double pendingBaseNs;
    private CpuQuota quota; // null: the device runs its work at full speed

    private LatencyModel(
        final LayerGraph graph,
        final DeviceProfile profile,
        final double[][] coefficients,
        final double fallbackNsPerFlop,
        final double[] profiledRatio)
    {
        this.graph = graph;
        this.profile = profile;
        this.coefficients = coefficients;
        this.fallbackNsPerFlop = fallbackNsPerFlop;
        this.profiledRatio = profiledRatio;
        this.observed = new double[graph.layerCount()][WINDOW];
        this.observedCount = new int[graph.layerCount()];
        this.profiled = new boolean[graph.layerCount()];
        for (int i = 0; i < profile.sampleCount(); i++)
        {
            profiled[profile.layer(i)] = true;
        }
    }

    /**
     * Fits a model of one device on {@code graph} to {@code profile}.
     *
     * @throws IllegalArgumentException if a sample names a layer outside the graph or more rows than it has.
     */
    public static LatencyModel fit(final LayerGraph graph, final DeviceProfile profile)
    {
        for (int i = 0; i < profile.sampleCount(); i++)
        {
            final int id = profile.layer(i);
            if (id >= graph.layerCount() || profile.rows(i) > graph.layer(id).heightRows())
            {
                throw new IllegalArgumentException("profile sample " + i + " of " + profile.deviceKey() +
                    ": layer " + id + " rows " + profile.rows(i) + " is not in the model's " + graph.layerCount() +
                    " layers");
            }
        }
        final double[][] coefficients = new double[KINDS][];
        for (final LayerKind kind : LayerKind.values())
        {
            coefficients[kind.ordinal()] = fitKind(graph, profile, kind);
        }
        // FLOPs at the calibrated rate, scaled by the median of measured / that over the samples that have FLOPs
        final double calibratedNsPerFlop = 1e9 / profile.calibratedFlopsPerSecond();
        final double[] ratios = new double[profile.sampleCount()];
        int n = 0;
        for (int i = 0; i < profile.sampleCount(); i++)
        {
            final double flops = flops(graph.layer(profile.layer(i)), profile.rows(i));
            if (flops > 0 && profile.ns(i) > 0)
            {
                ratios[n++] = profile.ns(i) / (flops * calibratedNsPerFlop);
            }
        }
        final double fallback = calibratedNsPerFlop * (n == 0 ? 1 : median(ratios, n));
        final LatencyModel model = new LatencyModel(graph, profile, coefficients, fallback, ones(graph.layerCount()));
        final double[][] perLayer = new double[graph.layerCount()][];
        final int[] perLayerCount = new int[graph.layerCount()];
        for (int i = 0; i < profile.sampleCount(); i++)
        {
            final int id = profile.layer(i);
            final double fitted = model.regressionNs(id, profile.rows(i));
            if (fitted > 0 && profile.ns(i) > 0)
            {
                if (perLayer[id] == null)
                {
                    perLayer[id] = new double[profile.sampleCount()];
                }
                perLayer[id][perLayerCount[id]++] = profile.ns(i) / fitted;
            }
        }
        for (int id = 0; id < graph.layerCount(); id++)
        {
            if (perLayerCount[id] > 0)
            {
                model.profiledRatio[id] = median(perLayer[id], perLayerCount[id]);
            }
        }
        return model;
    }

    /** @return an independent model with the same fit and observations. */
    public LatencyModel copy()
    {
        final LatencyModel m = new LatencyModel(graph, profile, coefficients, fallbackNsPerFlop, profiledRatio.clone());
        for (int id = 0; id < observed.length; id++)
        {
            System.arraycopy(observed[id], 0, m.observed[id], 0, WINDOW);
        }
        System.arraycopy(observedCount, 0, m.observedCount, 0, observedCount.length);
        System.arraycopy(deviceRatios, 0, m.deviceRatios, 0, WINDOW);
        m.deviceRatioCount = deviceRatioCount;
        m.quota = quota;
        return m;
    }

    /**
     * Sets the CPU quota the device runs under, or null for none. With a quota the model's times are CPU time (work
     * at full speed, as a profile taken in thread CPU time measures it) and {@link PlanSimulator} turns them into
     * wall time through the quota.
     */
    public LatencyModel quota(final CpuQuota quota)
    {
        this.quota = quota;
        return this;
    }

    /** @return the device's CPU quota, or null for none. */
    public CpuQuota quota()
    {
        return quota;
    }

    public DeviceProfile profile()
    {
        return profile;
    }

    /** @return the memory the device may use, from its profile. */
    public long memoryBytes()
    {
        return profile.memoryBytes();
    }

    /**
     * @return predicted nanoseconds for this device to compute {@code rows} rows of layer {@code layer}; 0 for no
     * rows or a source.
     */
    public double predictNs(final int layer, final int rows)
    {
        if (rows <= 0 || graph.layer(layer).isSource())
        {
            return 0;
        }
        return baseNs(layer, rows) * correction(layer);
    }

    /**
     * @return predicted nanoseconds for this device to compute output features {@code features} of a fully-connected
     * vector layer (a slice of a {@link Mode#FEATURES} stage): the whole input is read, and FLOPs, output bytes and
     * weight bytes scale with the slice, since the slice reads only its rows of the weight matrix. 0 for none.
     */
    public double predictFeaturesNs(final int layer, final int features)
    {
        if (features <= 0 || graph.layer(layer).isSource())
        {
            return 0;
        }
        return featureRegressionNs(layer, features) * profiledRatio[layer] * correction(layer);
    }

    /** @return predicted nanoseconds for a COMPUTE step: of its rows, or of its output features. */
    public double predictNs(final Step compute)
    {
        return compute.features() ? predictFeaturesNs(compute.layer(), compute.rows().rows()) :
            predictNs(compute.layer(), compute.rows().rows());
    }

    /** Takes one measurement of a COMPUTE step, of its rows or of its output features. */
    public void observe(final Step compute, final long ns)
    {
        if (compute.features())
        {
            observeFeatures(compute.layer(), compute.rows().rows(), ns);
        }
        else
        {
            observe(compute.layer(), compute.rows().rows(), ns);
        }
    }

    /**
     * Takes one measurement from a request: computing {@code rows} rows of {@code layer} took {@code ns}. Ignored
     * for no rows, a source, or a time that is not positive. Call {@link #endRequest} after a request's steps.
     */
    public void observe(final int layer, final int rows, final long ns)
    {
        if (layer < 0 || layer >= graph.layerCount() || rows <= 0 || ns <= 0 || graph.layer(layer).isSource())
        {
            return;
        }
        observeBase(layer, baseNs(layer, Math.min(rows, graph.layer(layer).heightRows())), ns);
    }

    /** As {@link #observe} for a slice of {@code features} output features ({@link #predictFeaturesNs}). */
    public void observeFeatures(final int layer, final int features, final long ns)
    {
        if (layer < 0 || layer >= graph.layerCount() || features <= 0 || ns <= 0 || graph.layer(layer).isSource())
        {
            return;
        }
        final int all = Math.max(1, graph.layer(layer).channels());
        observeBase(layer, featureRegressionNs(layer, Math.min(features, all)) * profiledRatio[layer], ns);
    }

    private void observeBase(final int layer, final double base, final long ns)
    {
        if (!(base > 0))
        {
            return;
        }
        if (profiled[layer])
        {
            pendingMeasuredNs += ns;
            pendingBaseNs += base;
        }
        else
        {
            observed[layer][observedCount[layer] % WINDOW] = ns / base;
            observedCount[layer]++;
        }
    }

    /** Closes a request's observations: their measured over predicted time becomes one sample of the device scale. */
    public void endRequest()
    {
        if (pendingBaseNs > 0 && pendingMeasuredNs > 0)
        {
            deviceRatios[deviceRatioCount % WINDOW] = pendingMeasuredNs / pendingBaseNs;
            deviceRatioCount++;
        }
        pendingMeasuredNs = 0;
        pendingBaseNs = 0;
    }

    /**
     * Forgets all but the last {@code k} observations of every layer (and of the device-wide ratio): when the
     * device has changed (a new quota, a hotter chip), what it did before misleads the medians.
     */
    public void keepLatest(final int k)
    {
        for (int id = 0; id < observed.length; id++)
        {
            observedCount[id] = keep(observed[id], observedCount[id], k);
        }
        deviceRatioCount = keep(deviceRatios, deviceRatioCount, k);
    }

    /** Moves the last {@code k} of a ring's {@code count} entries to its start; @return the new count. */
    private static int keep(final double[] ring, final int count, final int k)
    {
        final int n = Math.min(Math.min(k, WINDOW), count);
        final double[] last = new double[n];
        for (int i = 0; i < n; i++)
        {
            last[i] = ring[(count - n + i) % WINDOW];
        }
        System.arraycopy(last, 0, ring, 0, n);
        return n;
    }

    /**
     * @return how many observations of {@code layer} the model holds (at most {@value #WINDOW}): of its own for a
     * layer without profile samples, of whole requests (the device scale) for a profiled one.
     */
    public int observations(final int layer)
    {
        return profiled[layer] ? Math.min(WINDOW, deviceRatioCount) : Math.min(WINDOW, observedCount[layer]);
    }

    /** @return the fitted coefficients of {@code kind} (ns per call, per FLOP, per byte), or null if unfitted. */
    public double[] coefficients(final LayerKind kind)
    {
        final double[] c = coefficients[kind.ordinal()];
        return c == null ? null : c.clone();
    }

    /** @return the regression's prediction for the rows, before any correction. */
    double regressionNs(final int layer, final int rows)
    {
        final Layer l = graph.layer(layer);
        final double[] c = coefficients[l.kind().ordinal()];
        final double flops = flops(l, rows);
        if (c == null)
        {
            return flops * fallbackNsPerFlop;
        }
        return c[0] + c[1] * flops + c[2] * bytes(graph, l, rows);
    }

    /** @return the regression's prediction for a slice of {@code features} output features, before any correction. */
    double featureRegressionNs(final int layer, final int features)
    {
        final Layer l = graph.layer(layer);
        final double fraction = features / (double)Math.max(1, l.channels());
        final double[] c = coefficients[l.kind().ordinal()];
        final double flops = flops(l, l.heightRows()) * fraction;
        if (c == null)
        {
            return flops * fallbackNsPerFlop;
        }
        double in = 0;
        for (int j = 0; j < l.inputCount(); j++)
        {
            final Layer src = graph.layer(l.inputId(j));
            in += (double)src.bytesPerRow() * src.heightRows();
        }
        final double bytes = in + fraction * ((double)l.bytesPerRow() * l.heightRows() + l.weightBytes());
        return c[0] + c[1] * flops + c[2] * bytes;
    }

    private double baseNs(final int layer, final int rows)
    {
        return regressionNs(layer, rows) * profiledRatio[layer];
    }

    private double correction(final int layer)
    {
        final int n = Math.min(WINDOW, observedCount[layer]);
        if (n > 0 && !profiled[layer])
        {
            return median(observed[layer], n);
        }
        final int d = Math.min(WINDOW, deviceRatioCount);
        return d == 0 ? 1 : median(deviceRatios, d);
    }

    /** @return FLOPs of {@code rows} rows of {@code layer}. */
    static double flops(final Layer layer, final int rows)
    {
        return (double)layer.flopsPerRow() * rows;
    }

    /** @return bytes {@code rows} rows of {@code layer} read and write: its inputs' rows in proportion, its weights. */
    static double bytes(final LayerGraph graph, final Layer layer, final int rows)
    {
        final double fraction = rows / (double)layer.heightRows();
        double in = 0;
        for (int j = 0; j < layer.inputCount(); j++)
        {
            final Layer src = graph.layer(layer.inputId(j));
            in += (double)src.bytesPerRow() * src.heightRows();
        }
        return fraction * in + (double)layer.bytesPerRow() * rows + layer.weightBytes();
    }

    /**
     * Least squares over the kind's samples with non-negative coefficients: the best of the fits on every subset
     * of the features whose coefficients all come out non-negative (three features, seven subsets).
     */
    private static double[] fitKind(final LayerGraph graph, final DeviceProfile profile, final LayerKind kind)
    {
        int n = 0;
        for (int i = 0; i < profile.sampleCount(); i++)
        {
            n += graph.layer(profile.layer(i)).kind() == kind ? 1 : 0;
        }
        if (n == 0)
        {
            return null;
        }
        final double[][] x = new double[n][FEATURES];
        final double[] y = new double[n];
        int r = 0;
        for (int i = 0; i < profile.sampleCount(); i++)
        {
            final Layer l = graph.layer(profile.layer(i));
            if (l.kind() == kind)
            {
                x[r][0] = 1;
                x[r][1] = flops(l, profile.rows(i));
                x[r][2] = bytes(graph, l, profile.rows(i));
                y[r++] = profile.ns(i);
            }
        }
        double[] best = null;
        double bestResidual = Double.POSITIVE_INFINITY;
        for (int subset = 1; subset < 1 << FEATURES; subset++)
        {
            final double[] c = solve(x, y, subset);
            if (c == null)
            {
                continue;
            }
            double residual = 0;
            for (int i = 0; i < n; i++)
            {
                // relative error, so that the small layers count as much as the big ones
                final double e = (dot(c, x[i]) - y[i]) / Math.max(1, y[i]);
                residual += e * e;
            }
            if (residual < bestResidual - 1e-12)
            {
                bestResidual = residual;
                best = c;
            }
        }
        return best;
    }

    /** @return the weighted least-squares fit on the features in {@code subset}, or null if one is negative. */
    private static double[] solve(final double[][] x, final double[] y, final int subset)
    {
        final int k = Integer.bitCount(subset);
        if (k > x.length)
        {
            return null;
        }
        final double[][] a = new double[x.length][k];
        final double[] b = new double[x.length];
        final double[] scale = new double[k];
        for (int i = 0; i < x.length; i++)
        {
            final double w = 1 / Math.max(1, y[i]);
            int c = 0;
            for (int f = 0; f < FEATURES; f++)
            {
                if ((subset & (1 << f)) != 0)
                {
                    a[i][c++] = x[i][f] * w;
                }
            }
            b[i] = y[i] * w;
        }
        for (int c = 0; c < k; c++)
        {
            double norm = 0;
            for (final double[] row : a)
            {
                norm = Math.max(norm, Math.abs(row[c]));
            }
            scale[c] = norm > 0 ? norm : 1;
            for (final double[] row : a)
            {
                row[c] /= scale[c];
            }
        }
        final QRDecomposition qr = new QRDecomposition(new Array2DRowRealMatrix(a, false), 1e-12);
        if (!qr.getSolver().isNonSingular())
        {
            return null;
        }
        final RealVector solution = qr.getSolver().solve(new ArrayRealVector(b, false));
        final double[] out = new double[FEATURES];
        int c = 0;
        for (int f = 0; f < FEATURES; f++)
        {
            if ((subset & (1 << f)) != 0)
            {
                final double v = solution.getEntry(c) / scale[c];
                c++;
                if (!(v >= 0) || Double.isInfinite(v))
                {
                    return null;
                }
                out[f] = v;
            }
        }
        return out;
    }

    private static double dot(final double[] c, final double[] x)
    {
        double s = 0;
        for (int f = 0; f < FEATURES; f++)
        {
            s += c[f] * x[f];
        }
        return s;
    }

    /** @return the median of the first {@code n} of {@code values} (which stay as they are). */
    static double median(final double[] values, final int n)
    {
        final double[] sorted = Arrays.copyOf(values, n);
        Arrays.sort(sorted);
        return (n & 1) == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    private static double[] ones(final int n)
    {
        final double[] a = new double[n];
        Arrays.fill(a, 1);
        return a;
    }

    public String toString()
    {
        return "LatencyModel{" + profile.deviceKey() + ", " + profile.sampleCount() + " samples}";
    }
}
