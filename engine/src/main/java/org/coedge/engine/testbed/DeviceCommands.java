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
        return inDevice(procsFile, namespace, "", command);
    }

    /**
     * As above, and with {@code cpus} not empty (a {@code taskset} list such as {@code 1} or {@code 0-1}) the
     * process and all its threads run on those CPUs only.
     */
    static List<String> inDevice(final Path procsFile, final String namespace, final String cpus,
        final List<String> command)
    {
        final List<String> cmd = new ArrayList<>();
        cmd.add("sh");
        cmd.add("-c");
        cmd.add("echo $$ > \"$1\" || exit 97; ns=\"$2\"; cpus=\"$3\"; shift 3; " +
            "if [ -n \"$cpus\" ]; then exec taskset -c \"$cpus\" ip netns exec \"$ns\" \"$@\"; fi; " +
            "exec ip netns exec \"$ns\" \"$@\"");
        cmd.add("coedge-testbed");
        cmd.add(procsFile.toString());
        cmd.add(namespace);
        cmd.add(cpus);
        cmd.addAll(command);
        return cmd;
    }

    /**
     * Places devices on the machine's CPUs as boards would be: each device on {@link #processors} CPUs of its own
     * where the machine has enough, else on the least loaded ones (load: the cores of the devices placed there,
     * spread over their CPUs). Largest devices first, ties to the lower CPU; pure and deterministic.
     * <p>
     * Why: a quota spread over several CPUs loses part of itself. CFS hands a group its quota in slices per CPU, and
     * a slice taken on one CPU by a helper thread (the JIT, the media driver) is not there for the compute thread on
     * the other; three devices calibrating at once measured 10-15% below their quotas' shares unpinned and 4-16%
     * pinned.
     *
     * @return per device a {@code taskset} CPU list.
     */
    static String[] placeCpus(final double[] cores, final int machineCpus)
    {
        final int n = cores.length;
        final double[] load = new double[machineCpus];
        final Integer[] order = new Integer[n];
        for (int d = 0; d < n; d++)
        {
            order[d] = d;
        }
        java.util.Arrays.sort(order, (a, b) -> cores[a] != cores[b] ? Double.compare(cores[b], cores[a]) : a - b);
        final String[] lists = new String[n];
        for (final int d : order)
        {
            final int need = Math.min(machineCpus, processors(cores[d]));
            final Integer[] byLoad = new Integer[machineCpus];
            for (int c = 0; c < machineCpus; c++)
            {
                byLoad[c] = c;
            }
            java.util.Arrays.sort(byLoad, (a, b) -> load[a] != load[b] ? Double.compare(load[a], load[b]) : a - b);
            final int[] chosen = new int[need];
            for (int i = 0; i < need; i++)
            {
                chosen[i] = byLoad[i];
                load[byLoad[i]] += cores[d] / need;
            }
            java.util.Arrays.sort(chosen);
            final StringBuilder list = new StringBuilder();
            for (final int c : chosen)
            {
                list.append(list.length() > 0 ? "," : "").append(c);
            }
            lists[d] = list.toString();
        }
        return lists;
    }

    /** @return the arguments of {@code coedge worker} for device {@code d}. */
    static List<String> worker(final int d, final int port, final Path keyFile, final double cores,
        final String power)
    {
        final List<String> cmd = new ArrayList<>(List.of("worker", "--listen", Network.address(d) + ":" + port,
            "--key-file", keyFile.toString(), "--threads", Integer.toString(processors(cores)), "--exit-with-parent"));
        if (power != null)
        {
            cmd.addAll(List.of("--power", power));
        }
        return cmd;
    }

    private static void addOutputs(final List<String> cmd, final List<Path> outputs)
    {
        for (final Path out : outputs)
        {
            cmd.add("--output");
            cmd.add(out.toString());
        }
    }

    /** @return the arguments of {@code coedge run} alone, timing {@code repeat} runs after {@code warmup}. */
    static List<String> alone(final Path model, final List<Path> inputs, final List<Path> outputs,
        final double cores, final int repeat, final int warmup)
    {
        final List<String> cmd = new ArrayList<>(List.of("run", "--model", model.toString()));
        for (final Path in : inputs)
        {
            cmd.add("--input");
            cmd.add(in.toString());
        }
        addOutputs(cmd, outputs);
        cmd.addAll(List.of("--threads", Integer.toString(processors(cores)),
            "--repeat", Integer.toString(repeat), "--warmup", Integer.toString(warmup), "--json"));
        return cmd;
    }

    /**
     * @return the arguments of the coordinator's {@code coedge run --peers} under {@code planner}, with
     * {@code --progress} (one stderr line per timed request, which a {@link LinkScheduler} follows), and
     * {@code extra} arguments (its power model, an objective).
     */
    static List<String> coordinator(final Path model, final List<Path> inputs, final List<Path> outputs,
        final int devices, final int port, final Path keyFile, final double cores, final int repeat,
        final int warmup, final String planner, final String fuse, final Path trace, final List<String> extra)
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
        addOutputs(cmd, outputs);
        cmd.addAll(extra);
        cmd.addAll(List.of("--peers", peers.toString(), "--key-file",
            keyFile.toString(), "--listen", Network.address(0) + ":" + port, "--threads",
            Integer.toString(processors(cores)), "--repeat", Integer.toString(repeat), "--warmup",
            Integer.toString(warmup), "--planner", planner, "--fuse", fuse, "--trace", trace.toString(), "--json",
            "--progress"));
        if (planner.equals(org.coedge.planner.policy.Planners.ADAPTIVE))
        {
            cmd.add("--explain"); // the table goes to its stderr, which the testbed keeps
        }
        return cmd;
    }
}
