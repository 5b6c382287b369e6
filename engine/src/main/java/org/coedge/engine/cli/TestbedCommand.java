package org.coedge.engine.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import org.coedge.engine.testbed.Testbed;
import org.coedge.engine.testbed.TestbedConfig;
import org.coedge.engine.testbed.TestbedReport;
import org.coedge.engine.testbed.TestbedResult;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code coedge testbed}: an emulated heterogeneous edge cluster on this machine (one {@code coedge} process per
 * device, each in its own CPU cgroup and network namespace, links limited with {@code tc}); runs a model alone on
 * each device class and cooperatively under each planner, and prints or writes what it measured. Needs root.
 */
@Command(name = "testbed", description = "Emulate an edge cluster on this machine (CPU quotas, network namespaces, " +
    "rate-limited links), run a model alone and cooperatively under each planner, and compare. Needs root.")
final class TestbedCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--devices", split = ",", defaultValue = "0.9,0.45,0.225", description = "Cores of each " +
        "device, the first is the coordinator (default ${DEFAULT-VALUE}).")
    double[] devices;

    @Option(names = "--link-mbps", defaultValue = "100", description = "Every link's rate each way in Mbit/s, " +
        "0 for unlimited (default ${DEFAULT-VALUE}).")
    double linkMbps;

    @Option(names = "--link-delay-ms", defaultValue = "0", description = "One-way delay between two devices " +
        "(needs the kernel's netem; refused where it is missing).")
    double delayMs;

    @Option(names = "--link-schedule", description = "Change every link's rate (both ends of every device's " +
        "veth) during each cooperative run: INDEX:MBPS,... over its timed requests from 0, e.g. " +
        "0:1000,40:50,80:1000 (an entry at 0 holds from the run's start, its warm-up included; the testbed follows " +
        "the coordinator's --progress lines and runs tc as request INDEX - 1 ends).")
    String linkSchedule;

    @Option(names = "--cfs-period-ms", defaultValue = "10", description = "CFS period of every device's CPU " +
        "quota in ms (default ${DEFAULT-VALUE}; shorter periods cost a throttled device part of its quota).")
    double cfsPeriodMs;

    @Option(names = "--model-name", description = "A zoo model: " + "alexnet, vgg16, resnet18, googlenet, " +
        "mobilenetv2, branchy-resnet18 (default resnet18 unless --model is given).")
    String modelName;

    @Option(names = "--model", description = "An ONNX model file instead of a zoo model.")
    Path model;

    @Option(names = "--input", description = "Input tensor file for --model (repeat in model input order).")
    List<Path> inputs;

    @Option(names = "--planner", split = ",", defaultValue = "equal,proportional,adaptive", description = "Planners " +
        "to compare: adaptive, head-aware, proportional, equal (default ${DEFAULT-VALUE}).")
    List<String> planners;

    @Option(names = "--repeat", defaultValue = "5", description = "Timed requests per run (default " +
        "${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--warmup", defaultValue = "20", description = "Untimed requests first, not learnt from: " +
        "a fresh JVM under a small quota compiles for tens of requests (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--fuse", defaultValue = "1", description = "Fuse depth N or auto for the cooperative runs " +
        "(default ${DEFAULT-VALUE}, as `coedge run`).")
    String fuse;

    @Option(names = "--port", defaultValue = "40100", description = "UDP port every device listens on (default " +
        "${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--explain", description = "Print the adaptive planner's predicted against measured compute, " +
        "send and wait per stage and device (predicted_ms is in --json in any case).")
    boolean explain;

    @Option(names = "--power", split = ",", description = "Each device's power model (pi4, minipc or " +
        "ACTIVE_W:IDLE_W:NJ_PER_BYTE), one per device: each planner's entry then reports energy_j, its measured busy " +
        "and idle times and bytes under these models (there is no power meter).")
    List<String> power;

    @Option(names = "--objective", defaultValue = "latency", description = "After the planners, run the adaptive " +
        "planner once more per --deadline-ms under this objective: accuracy (the most accurate exit predicted to " +
        "meet the deadline) or energy (the least energy predicted to meet it); latency (default) adds no runs.")
    String objective;

    @Option(names = "--deadline-ms", split = ",", description = "Deadlines for --objective, one run each: " +
        "milliseconds, or Fx for F times the median of the adaptive run before (e.g. 1.25x).")
    List<String> deadlines;

    @Option(names = "--json", description = "Print the result as one JSON object.")
    boolean json;

    @Option(names = "--report", description = "Write report.md with SVG charts and each planner's trace into DIR.")
    Path report;

    @Override
    public Integer call() throws Exception
    {
        final TestbedConfig config = new TestbedConfig();
        config.cores = devices;
        config.linkMbps = linkMbps;
        config.delayMs = delayMs;
        config.explain = explain;
        config.cfsPeriodUs = Math.round(cfsPeriodMs * 1000);
        config.model = model;
        config.modelName = model == null && modelName == null ? "resnet18" : modelName;
        config.inputs = inputs == null ? List.of() : inputs;
        config.planners = planners;
        config.repeat = repeat;
        config.warmup = warmup;
        config.fuse = fuse;
        config.port = port;
        config.linkSchedule = linkSchedule;
        config.powers = power == null ? List.of() : power;
        config.objective = objective;
        config.deadlines = deadlines == null ? List.of() : deadlines;
        config.validate();
        FuseOptions.parseDepth(fuse, 0);
        if (!Testbed.isRoot())
        {
            throw new IllegalArgumentException("coedge testbed needs root (network namespaces, cgroups, tc)");
        }
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter log = new PrintWriter(System.err, true);
        final TestbedResult result;
        try (Testbed testbed = new Testbed(config, log))
        {
            result = testbed.run();
        }
        if (report != null)
        {
            final Path file = TestbedReport.write(result, report);
            log.println("testbed: wrote " + file);
        }
        if (json)
        {
            out.println(result.toJson());
        }
        else
        {
            result.printTable(out);
        }
        return 0;
    }
}
