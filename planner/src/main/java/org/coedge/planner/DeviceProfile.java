package org.coedge.planner;

import java.util.Arrays;

/**
 * What one device measured of itself on the model it was asked to load: for some layers of the model's
 * {@link LayerGraph}, the time it took to compute a number of that layer's rows, plus its calibrated GEMM rate and
 * the memory it may use. The planner fits a device's latency model to these samples.
 * <p>
 * Built by the engine when a worker (or the coordinator) profiles a model at load, read back from the profile cache,
 * or decoded from a worker's answer to a join; immutable, so safe on any thread.
 */
public final class DeviceProfile
{
    private final String deviceKey;
    private final double calibratedFlopsPerSecond;
    private final long memoryBytes;
    private final int[] layers;
    private final int[] rows;
    private final long[] ns;

    private DeviceProfile(
        final String deviceKey,
        final double calibratedFlopsPerSecond,
        final long memoryBytes,
        final int[] layers,
        final int[] rows,
        final long[] ns)
    {
        this.deviceKey = deviceKey;
        this.calibratedFlopsPerSecond = calibratedFlopsPerSecond;
        this.memoryBytes = memoryBytes;
        this.layers = layers;
        this.rows = rows;
        this.ns = ns;
    }

    /**
     * @param deviceKey                what the device is (its CPU, BLAS core, threads and CPU quota), for caching.
     * @param calibratedFlopsPerSecond sustained GEMM rate, finite and {@code > 0}.
     * @param memoryBytes              memory the device may use for the model, {@code > 0}.
     * @param layers                   layer id of each sample, {@code >= 0}.
     * @param rows                     rows of that layer computed in the sample, {@code >= 1}.
     * @param ns                       time the sample took, {@code >= 0}. The three arrays have one length; copied.
     * @throws IllegalArgumentException naming the first value out of range.
     */
    public static DeviceProfile of(
        final String deviceKey,
        final double calibratedFlopsPerSecond,
        final long memoryBytes,
        final int[] layers,
        final int[] rows,
        final long[] ns)
    {
        if (!(calibratedFlopsPerSecond > 0) || Double.isInfinite(calibratedFlopsPerSecond))
        {
            throw new IllegalArgumentException("calibrated rate must be finite and > 0: " + calibratedFlopsPerSecond);
        }
        if (memoryBytes <= 0)
        {
            throw new IllegalArgumentException("memory limit must be > 0 bytes: " + memoryBytes);
        }
        if (layers.length != rows.length || layers.length != ns.length)
        {
            throw new IllegalArgumentException("profile arrays differ in length: " + layers.length + " layers, " +
                rows.length + " row counts, " + ns.length + " times");
        }
        for (int i = 0; i < layers.length; i++)
        {
            if (layers[i] < 0 || rows[i] < 1 || ns[i] < 0)
            {
                throw new IllegalArgumentException("profile sample " + i + " is out of range: layer " + layers[i] +
                    ", rows " + rows[i] + ", " + ns[i] + " ns");
            }
        }
        return new DeviceProfile(deviceKey == null ? "" : deviceKey, calibratedFlopsPerSecond, memoryBytes,
            layers.clone(), rows.clone(), ns.clone());
    }

    /**
     * A device known only by its calibrated rate (no samples yet): its model predicts from FLOPs alone.
     */
    public static DeviceProfile calibratedOnly(
        final String deviceKey, final double calibratedFlopsPerSecond, final long memoryBytes)
    {
        return of(deviceKey, calibratedFlopsPerSecond, memoryBytes, new int[0], new int[0], new long[0]);
    }

    public String deviceKey()
    {
        return deviceKey;
    }

    public double calibratedFlopsPerSecond()
    {
        return calibratedFlopsPerSecond;
    }

    public long memoryBytes()
    {
        return memoryBytes;
    }

    public int sampleCount()
    {
        return layers.length;
    }

    public int layer(final int sample)
    {
        return layers[sample];
    }

    public int rows(final int sample)
    {
        return rows[sample];
    }

    public long ns(final int sample)
    {
        return ns[sample];
    }

    public String toString()
    {
        return "DeviceProfile{" + deviceKey + " " + calibratedFlopsPerSecond * 1e-9 + " GFLOP/s, " +
            (memoryBytes >> 20) + " MiB, " + layers.length + " samples " + Arrays.toString(ns) + "}";
    }
}
