package org.coedge.planner.policy;

import org.coedge.planner.DeviceProfile;

/**
 * What a {@link PlanPolicy} may know of the devices a plan is for, frozen when the coordinator asks for a plan or
 * whether to re-plan: per device of the plan (device 0 is the coordinator, device {@code d >= 1} a live worker) its
 * node id, its calibrated and measured throughput, the memory it reported, and for workers the probed round trip
 * and rate of its link; and the coordinator's measured time for the head.
 * <p>
 * Built by the coordinator from its worker records and measured rates; immutable (the arrays are
 * copied), so a policy may keep it.
 */
public final class ClusterView
{
    /** Requests a device's measured rate needs before it replaces its calibrated throughput in a view. */
    public static final int RATE_SAMPLES = 3;

    private final int[] nodeIds;
    private final double[] calibratedFlopsPerSecond;
    private final double[] measuredFlopsPerSecond;
    private final double[] estimatedFlopsPerSecond;
    private final long[] memoryBytes;
    private final double[] rttNs;
    private final double[] bytesPerSecond;
    private final double headSeconds;
    private final DeviceProfile[] profiles;
    private String[] powers; // per device the power model it stated, "" for none

    /**
     * Each array has one element per device of the plan, device 0 the coordinator; each is copied.
     *
     * @param nodeIds                  node id of each device (the coordinator is node 0).
     * @param calibratedFlopsPerSecond the rate each device calibrated at its start (a GEMM).
     * @param measuredFlopsPerSecond   the median rate measured over its last requests, 0 before any.
     * @param estimatedFlopsPerSecond  the rate to plan with: the measured one once there are enough samples, else
     *                                 the calibrated one scaled as measured rates compare with calibrated ones on the
     *                                 devices that have both (the coordinator's speed book).
     * @param memoryBytes              the memory each device reported at its join (today its JVM's maximum heap).
     * @param rttNs                    the probed round trip of each worker's data path, 0 for the coordinator and
     *                                 for a worker that did not answer the probe.
     * @param bytesPerSecond           the probed rate of each worker's data path, 0 likewise.
     * @param headSeconds              the coordinator's median time for the head over the last requests, or
     *                                 negative before any.
     * @throws IllegalArgumentException if the arrays differ in length or are empty.
     */
    public ClusterView(
        final int[] nodeIds,
        final double[] calibratedFlopsPerSecond,
        final double[] measuredFlopsPerSecond,
        final double[] estimatedFlopsPerSecond,
        final long[] memoryBytes,
        final double[] rttNs,
        final double[] bytesPerSecond,
        final double headSeconds)
    {
        this(nodeIds, calibratedFlopsPerSecond, measuredFlopsPerSecond, estimatedFlopsPerSecond, memoryBytes, rttNs,
            bytesPerSecond, headSeconds, new DeviceProfile[nodeIds.length]);
    }

    /**
     * As the constructor without profiles, plus what each device measured of itself on the model at its start
     * (a short run of the model at its start), null where a device sent none.
     */
    public ClusterView(
        final int[] nodeIds,
        final double[] calibratedFlopsPerSecond,
        final double[] measuredFlopsPerSecond,
        final double[] estimatedFlopsPerSecond,
        final long[] memoryBytes,
        final double[] rttNs,
        final double[] bytesPerSecond,
        final double headSeconds,
        final DeviceProfile[] profiles)
    {
        final int n = nodeIds.length;
        if (n == 0 || calibratedFlopsPerSecond.length != n || measuredFlopsPerSecond.length != n ||
            estimatedFlopsPerSecond.length != n || memoryBytes.length != n || rttNs.length != n ||
            bytesPerSecond.length != n || profiles.length != n)
        {
            throw new IllegalArgumentException("a cluster view needs one value per device in every array, " + n +
                " device(s)");
        }
        this.nodeIds = nodeIds.clone();
        this.calibratedFlopsPerSecond = calibratedFlopsPerSecond.clone();
        this.measuredFlopsPerSecond = measuredFlopsPerSecond.clone();
        this.estimatedFlopsPerSecond = estimatedFlopsPerSecond.clone();
        this.memoryBytes = memoryBytes.clone();
        this.rttNs = rttNs.clone();
        this.bytesPerSecond = bytesPerSecond.clone();
        this.headSeconds = headSeconds;
        this.profiles = profiles.clone();
        this.powers = new String[n];
        java.util.Arrays.fill(powers, "");
    }

    /**
     * @param powers per device the power model it stated (the text of {@code --power}), "" for none; copied.
     * @return a view like this one with those power models.
     * @throws IllegalArgumentException if there is not one per device.
     */
    public ClusterView withPowers(final String[] powers)
    {
        if (powers.length != nodeIds.length)
        {
            throw new IllegalArgumentException(powers.length + " power models for " + nodeIds.length + " devices");
        }
        final ClusterView v = new ClusterView(nodeIds, calibratedFlopsPerSecond, measuredFlopsPerSecond,
            estimatedFlopsPerSecond, memoryBytes, rttNs, bytesPerSecond, headSeconds, profiles);
        for (int d = 0; d < powers.length; d++)
        {
            v.powers[d] = powers[d] == null ? "" : powers[d];
        }
        return v;
    }

    /** @return the power model device {@code device} stated (its text), "" if it stated none. */
    public String power(final int device)
    {
        return powers[device];
    }

    /** @return the profile device {@code device} measured of itself on the model, or null if it sent none. */
    public DeviceProfile profile(final int device)
    {
        return profiles[device];
    }

    /** @return devices of the plan, the coordinator included ({@code >= 1}). */
    public int deviceCount()
    {
        return nodeIds.length;
    }

    public int nodeId(final int device)
    {
        return nodeIds[device];
    }

    public double calibratedFlopsPerSecond(final int device)
    {
        return calibratedFlopsPerSecond[device];
    }

    /** @return the median rate measured over the device's last requests, 0 before any. */
    public double measuredFlopsPerSecond(final int device)
    {
        return measuredFlopsPerSecond[device];
    }

    /** @return the rate to plan the device with (see the constructor). */
    public double estimatedFlopsPerSecond(final int device)
    {
        return estimatedFlopsPerSecond[device];
    }

    /** @return the rates to plan with, one per device (a copy). */
    public double[] estimatedFlopsPerSecond()
    {
        return estimatedFlopsPerSecond.clone();
    }

    public long memoryBytes(final int device)
    {
        return memoryBytes[device];
    }

    /** @return the probed round trip to worker {@code device}, 0 for the coordinator or when not probed. */
    public double rttNs(final int device)
    {
        return rttNs[device];
    }

    /** @return the probed rate of worker {@code device}'s link, 0 for the coordinator or when not probed. */
    public double bytesPerSecond(final int device)
    {
        return bytesPerSecond[device];
    }

    /** @return the coordinator's median time for the head over the last requests, or negative before any. */
    public double headSeconds()
    {
        return headSeconds;
    }
}
