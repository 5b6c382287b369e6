package org.coedge.engine.cli;

import java.util.Locale;
import java.util.concurrent.Callable;

import org.coedge.engine.cluster.DeviceFacts;
import org.coedge.engine.cluster.WorkerNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code coedge calibrate}: the throughput a worker on this device would report, and nothing else. */
@Command(name = "calibrate", description = "Print the throughput this device sustains (GFLOP/s of GEMMs shaped " +
    "like a 3x3 convolution, the better of two 800 ms windows), as a worker here would report it.")
final class CalibrateCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--threads", defaultValue = "1", description = "Compute threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call()
    {
        if (threads < 1)
        {
            throw new IllegalArgumentException("--threads must be >= 1");
        }
        final double cores = DeviceFacts.cpuCores();
        spec.commandLine().getOut().printf(Locale.ROOT, "%.1f GFLOP/s on %d thread(s), %s%n",
            WorkerNode.calibrateDevice(threads) / 1e9, threads,
            Double.isNaN(cores) ? "no CPU quota" : String.format(Locale.ROOT, "a quota of %.3f cores", cores));
        return 0;
    }
}
