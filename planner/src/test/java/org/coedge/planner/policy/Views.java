package org.coedge.planner.policy;


/** Cluster views for the policy tests: devices at given rates, each worker's link at one rate and a 100 us RTT. */
final class Views
{
    private Views()
    {
    }

    /**
     * @param gflops             each device's rate, device 0 the coordinator.
     * @param linkBytesPerSecond every worker's probed link rate.
     * @param powers             each device's power model, or none at all.
     */
    static ClusterView of(final double[] gflops, final double linkBytesPerSecond, final String... powers)
    {
        final int n = gflops.length;
        final int[] nodes = new int[n];
        final double[] flops = new double[n];
        final long[] memory = new long[n];
        final double[] rtt = new double[n];
        final double[] bps = new double[n];
        for (int d = 0; d < n; d++)
        {
            nodes[d] = d;
            flops[d] = gflops[d] * 1e9;
            memory[d] = 1L << 30;
            rtt[d] = d == 0 ? 0 : 100_000;
            bps[d] = d == 0 ? 0 : linkBytesPerSecond;
        }
        final ClusterView v = new ClusterView(nodes, flops, new double[n], flops, memory, rtt, bps, -1);
        return powers.length == 0 ? v : v.withPowers(powers);
    }
}
