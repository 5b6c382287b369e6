package org.coedge.engine.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.coedge.engine.cluster.DeviceFacts;
import org.coedge.engine.cluster.DeviceProfiler;
import org.coedge.engine.cluster.WorkerNode;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coedge worker}: a device that serves cooperative runs until it is killed. */
@Command(name = "worker", description = "Serve as a device of cooperative runs: listen for a coordinator, load the " +
    "model it names (checked by SHA-256), report a calibrated throughput, and execute its steps.")
final class WorkerCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--listen", required = true, description = "HOST:PORT to receive control messages and rows on.")
    String listen;

    @Option(names = "--key-file", required = true, description = "Pre-shared cluster key (the file's bytes, >= 16).")
    Path keyFile;

    @Option(names = "--model-dir", description = "Look up the model the coordinator names here, by file name " +
        "(default: open the path the coordinator gives).")
    Path modelDir;

    @Option(names = "--threads", defaultValue = "1", description = "Compute threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--exit-with-parent", description = "Stop when the process that started this worker ends (for " +
        "workers a program starts and must not outlive it: coedge demo, the testbed, tests).")
    boolean exitWithParent;

    @Option(names = "--peer-timeout-ms", defaultValue = "1000", description = "Heartbeat timeout the cluster uses " +
        "(default ${DEFAULT-VALUE}).")
    long peerTimeoutMs;

    @Option(names = "--power", paramLabel = "pi4|minipc|ACTIVE_W:IDLE_W:NJ_PER_BYTE", description = "This device's " +
        "power model, stated to the coordinator for --objective energy and the energy it reports: a named board " +
        "(pi4, minipc) or active watts per busy core, idle watts and nanojoules per byte moved.")
    String power;

    @picocli.CommandLine.Mixin
    ProfileOptions profileOptions = new ProfileOptions();

    @picocli.CommandLine.Mixin
    KernelOptions kernelOptions = new KernelOptions();

    @Override
    public Integer call()
    {
        kernelOptions.apply();
        if (threads < 1)
        {
            throw new IllegalArgumentException("--threads must be >= 1");
        }
        if (power != null)
        {
            org.coedge.planner.PowerModel.parse(power);
        }
        final ClusterKey key = ClusterKey.fromFile(keyFile);
        final TransportContext context = new TransportContext().listenEndpoint(listen)
            .peerTimeoutNs(peerTimeoutMs * 1_000_000L)
            .heartbeatIntervalNs(Math.max(1, peerTimeoutMs / 10) * 1_000_000L).conclude();
        final var out = spec.commandLine().getOut();
        final DeviceProfiler profiler = profileOptions.profiler(threads);
        final double flops = WorkerNode.calibrateDevice(threads);
        try (TransportNode node = new TransportNode(context);
            WorkerNode worker = new WorkerNode(node, key, modelDir, threads, profiler, out))
        {
            worker.calibrated(flops);
            worker.power(power);
            out.printf("worker: %.1f GFLOP/s on %d thread(s), %d MiB of memory%n", flops / 1e9, threads,
                profiler.memoryBytes() >> 20);
            out.println("worker: listening on " + node.endpoint());
            // a worker ends when it is killed: the hook says how much memory it took at the most
            Runtime.getRuntime().addShutdownHook(new Thread(() ->
            {
                worker.close();
                out.println("worker: peak RSS " + DeviceFacts.peakRss());
                out.flush();
            }));
            if (exitWithParent)
            {
                final ProcessHandle parent = ProcessHandle.current().parent().orElse(null);
                if (parent == null || !parent.isAlive())
                {
                    out.println("worker: the process that started this worker is gone; stopping");
                    return 1;
                }
                parent.onExit().thenRun(() ->
                {
                    out.println("worker: process " + parent.pid() + " that started this worker ended; stopping");
                    worker.close();
                });
            }
            worker.run();
        }
        return 0;
    }
}
