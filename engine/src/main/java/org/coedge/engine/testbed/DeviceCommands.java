package org.coedge.engine.testbed;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command lines of the testbed's processes: a {@code coedge} JVM sized to a device's quota, started inside the
 * device's CPU cgroup and network namespace. Pure (no process is started here), so the tests check it directly.
 */
final class DeviceCommands
{
    static final String MAIN = "org.coedge.engine.cli.CoEdgeCli";

    private DeviceCommands()
    {
    }

    /** @return the compute threads and processors a device of {@code cores} has: {@code max(1, ceil(cores))}. */
    static int processors(final double cores)
    {
        return Math.max(1, (int)Math.ceil(cores - 1e-9));
    }

    /**
     * @return {@code java} with the flags a device's JVM needs: Agrona's export, the processor count the quota
     * allows (so the JVM sizes its GC and compiler threads and {@code availableProcessors()} to the device, which it
     * cannot read from a cgroup-v1 quota itself), temporary files (the media driver's directory) under
     * {@code tmpDir}, then the class path and the CLI's main class.
     */
    static List<String> jvm(final String java, final double cores, final Path tmpDir, final String classPath,
        final List<String> properties)
    {
        final int n = processors(cores);
        final List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("--add-exports");
        cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        if (org.coedge.kernels.DepthwiseConv2d.vectorAvailable())
        {
            // the same depthwise loop as this JVM's (the launcher's --add-modules)
            cmd.add("--add-modules");
            cmd.add("jdk.incubator.vector");
        }
        cmd.add("-Xss4m");
        cmd.add("-XX:ActiveProcessorCount=" + n);
        cmd.add("-XX:ParallelGCThreads=" + n);
        cmd.add("-XX:ConcGCThreads=" + Math.max(1, (n + 3) / 4));
        cmd.add("-Djava.io.tmpdir=" + tmpDir);
        cmd.addAll(properties);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(MAIN);
        return cmd;
    }

    /**
     * @return {@code command} run by a shell that first moves itself into the cgroup whose {@code cgroup.procs} is
     * {@code procsFile} and then execs {@code ip netns exec NS command}: the cgroup is joined before the namespace
     * (which remounts {@code /sys}), and the pid stays the same through both execs, so the caller's process handle
     * is the JVM's.
     */
    static List<String> inDevice(final Path procsFile, final String namespace, final List<String> command)
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add("sh");
        cmd.add("-c");
        cmd.add("echo $$ > \"$1\" || exit 97; ns=\"$2\"; shift 2; exec ip netns exec \"$ns\" \"$@\"");
        cmd.add("coedge-testbed");
        cmd.add(procsFile.toString());
        cmd.add(namespace);
        cmd.addAll(command);
        return cmd;
    }

    /** @return the arguments of {@code coedge worker} for device {@code d}. */
    static List<String> worker(final int d, final int port, final Path keyFile, final double cores)
    {
        return List.of("worker", "--listen", Network.address(d) + ":" + port, "--key-file", keyFile.toString(),
            "--threads", Integer.toString(processors(cores)));
    }

    /** @return the arguments of {@code coedge run} alone, timing {@code repeat} runs after {@code warmup}. */
    static List<String> alone(final Path model, final List<Path> inputs, final Path output, final double cores,
        final int repeat, final int warmup)
    {
        final List<String> cmd = new ArrayList<>(List.of("run", "--model", model.toString()));
        for (final Path in : inputs)
        {
            cmd.add("--input");
            cmd.add(in.toString());
        }
        cmd.addAll(List.of("--output", output.toString(), "--threads", Integer.toString(processors(cores)),
            "--repeat", Integer.toString(repeat), "--warmup", Integer.toString(warmup), "--json"));
        return cmd;
    }

    /** @return the arguments of the coordinator's {@code coedge run --peers} under {@code planner}. */
    static List<String> coordinator(final Path model, final List<Path> inputs, final Path output, final int devices,
        final int port, final Path keyFile, final double cores, final int repeat, final int warmup,
        final String planner, final String fuse, final Path trace)
    {
        final List<String> cmd = new ArrayList<>(List.of("run", "--model", model.toString()));
        for (final Path in : inputs)
        {
            cmd.add("--input");
            cmd.add(in.toString());
        }
        final StringBuilder peers = new StringBuilder();
        for (int d = 1; d < devices; d++)
        {
            peers.append(d > 1 ? "," : "").append(Network.address(d)).append(':').append(port);
        }
        cmd.addAll(List.of("--output", output.toString(), "--peers", peers.toString(), "--key-file",
            keyFile.toString(), "--listen", Network.address(0) + ":" + port, "--threads",
            Integer.toString(processors(cores)), "--repeat", Integer.toString(repeat), "--warmup",
            Integer.toString(warmup), "--planner", planner, "--fuse", fuse, "--trace", trace.toString(), "--json"));
        if (planner.equals(org.coedge.engine.cluster.Planners.ADAPTIVE))
        {
            cmd.add("--explain"); // the table goes to its stderr, which the testbed keeps
        }
        return cmd;
    }
}
