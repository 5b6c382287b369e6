package org.coedge.engine.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.coedge.engine.api.Model;
import org.coedge.engine.cluster.Explain;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Mode;
import org.coedge.planner.PlanChoice;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanCost;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Step;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.planner.RowRange;
import org.coedge.planner.Stage;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code coedge plan}: plans a model over devices and prints, per stage and device, the rows computed, the halo rows
 * and bytes received, and the redundant FLOPs. With {@code --split} the rows follow the given shares; without it the
 * adaptive planner chooses the plan for devices described by {@code --gflops} (and {@code --memory-mb}) on links of
 * {@code --link-mbps} / {@code --link-latency-us}, and {@code --explain} prints its predicted compute, send and wait
 * per stage and device. Planning only: nothing is executed.
 */
@Command(name = "plan", description = "Print a plan: per stage and device the rows computed, halo rows and bytes " +
    "exchanged, and redundant FLOPs; the adaptive planner's choice unless --split gives the shares.")
final class PlanCommand implements Callable<Integer>
{

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "ONNX model file.")
    Path model;

    @Option(names = "--shape", description = "Input dims NAME=1x3xHxW, where the model leaves them dynamic.")
    List<String> shapes;

    @Option(names = "--split", split = ",", description = "Row shares per device, e.g. 0.5,0.3,0.2 (normalized); " +
        "without it the adaptive planner chooses.")
    double[] split;

    @Option(names = "--gflops", split = ",", description = "Adaptive planner: each device's sustained GFLOP/s, the " +
        "first is the coordinator (default 50,50).")
    double[] gflops;

    @Option(names = "--memory-mb", split = ",", description = "Adaptive planner: each device's memory limit in MiB " +
        "(one value for all; default no limit).")
    long[] memoryMb;

    @Option(names = "--explain", description = "Print the adaptive planner's predicted compute, send and wait per " +
        "stage and device.")
    boolean explain;

    @picocli.CommandLine.Mixin
    FuseOptions fuseOptions = new FuseOptions();

    @Option(names = "--steps", description = "Also print every device's compiled step program.")
    boolean steps;

    @Option(names = "--exit", description = "Multi-exit model: plan only what exit K (0 = the earliest, as its " +
        "sidecar M.exits.json lists them) needs.")
    Integer exit;

    @Override
    public Integer call()
    {
        if (split != null && (split.length < 1 || split.length > 64))
        {
            throw new IllegalArgumentException("--split needs 1 to 64 shares, got " + split.length);
        }
        if (split != null && (gflops != null || explain || memoryMb != null))
        {
            throw new IllegalArgumentException("--gflops, --memory-mb and --explain describe devices for the adaptive " +
                "planner; --split gives the shares itself");
        }
        final Model m = exit == null ? Model.load(model) :
            org.coedge.engine.exits.ExitTable.forModel(model).upTo(Model.load(model), exit);
        final Map<String, long[]> dims = Shapes.parse(shapes, m.inputNames(), m);
        final PreparedModel prepared = m.prepare(dims);
        final LayerGraph graph = PlanGraphs.of(prepared);
        final var out = spec.commandLine().getOut();
        final Plan plan;
        final String how;
        if (split != null)
        {
            final FuseOptions.Chosen chosen = fuseOptions.choose(graph, split);
            plan = chosen.plan();
            how = chosen.describe();
        }
        else
        {
            final PlanChoice choice = AdaptivePlanner.plan(graph, SplitExecutor.outputLayers(prepared, graph),
                devices(graph), fuseOptions.links(gflops == null ? 2 : gflops.length), 0);
            plan = choice.plan();
            how = String.format(Locale.ROOT, "adaptive (%d candidates): %s; predicted %.2f ms, fastest device " +
                "alone (%d) %.2f ms", choice.candidates(), choice.description(), choice.prediction().endNs() * 1e-6,
                choice.fastestDevice(), choice.fastestAloneNs() * 1e-6);
            if (explain)
            {
                Explain.print(out, graph, choice.prediction(), choice.description(), null, -1);
            }
        }
        final PlanCost cost = PlanCost.of(graph, plan);
        out.printf(Locale.ROOT, "model %s: %d layers, %.3f GFLOPs; %d devices, %s, %d stages%n", model,
            prepared.layers().size(), prepared.flops() / 1e9, plan.deviceCount(), how, plan.stages().size());
        for (int s = 0; s < plan.stages().size(); s++)
        {
            final Stage stage = plan.stages().get(s);
            final PlanCost.StageCost sc = cost.stage(s);
            out.printf(Locale.ROOT, "stage %d: layers %d..%d (%s .. %s) %s, redundant %.3f GFLOPs%n", s,
                stage.firstLayer(), stage.lastLayer(), graph.layer(stage.firstLayer()).name(),
                graph.layer(stage.lastLayer()).name(), stage.mode(), sc.redundantFlops() / 1e9);
            for (int d = 0; d < sc.deviceCount(); d++)
            {
                final RowRange rows = stage.deviceRows(d);
                final boolean features = stage.mode() == Mode.FEATURES;
                out.printf(Locale.ROOT, "  device %d: %s [%d, %d) of %d, %.3f GFLOPs, halo %d rows %.1f KiB in " +
                    "%d messages%n", d, features ? "features" : "rows", rows.start(), rows.end(),
                    features ? graph.layer(stage.lastLayer()).channels() : graph.layer(stage.lastLayer()).heightRows(),
                    sc.flops(d) / 1e9, sc.haloRows(d), sc.haloBytes(d) / 1024.0, sc.messages(d));
            }
        }
        out.printf(Locale.ROOT, "total: halo %.1f KiB in %d messages, redundant %.3f GFLOPs (%.1f%% of the model)%n",
            cost.totalHaloBytes() / 1024.0, cost.totalMessages(), cost.totalRedundantFlops() / 1e9,
            100.0 * cost.totalRedundantFlops() / Math.max(1, prepared.flops()));
        final List<DeviceProgram> programs = SplitExecutor.compile(prepared, graph, plan);
        for (final DeviceProgram p : programs)
        {
            long sent = 0;
            long received = 0;
            int messages = 0;
            for (int e = 0; e < programs.size(); e++)
            {
                sent += p.bytesTo(e);
                received += p.bytesFrom(e);
                messages += p.messagesTo(e);
            }
            out.printf(Locale.ROOT, "device %d program: %d steps; receives %.1f KiB (scatter %.1f, halo %.1f, " +
                "redistribute %.1f, gather %.1f); sends %.1f KiB in %d messages%n", p.device(), p.steps().size(),
                received / 1024.0, p.bytesReceived(Step.Purpose.SCATTER) / 1024.0,
                p.bytesReceived(Step.Purpose.HALO) / 1024.0, p.bytesReceived(Step.Purpose.REDISTRIBUTE) / 1024.0,
                p.bytesReceived(Step.Purpose.GATHER) / 1024.0, sent / 1024.0, messages);
            if (steps)
            {
                for (final Step step : p.steps())
                {
                    out.printf("    %s%n", step);
                }
            }
        }
        return 0;
    }

    /** @return a latency model per device from {@code --gflops} (FLOPs at that rate) and {@code --memory-mb}. */
    private LatencyModel[] devices(final LayerGraph graph)
    {
        final double[] rates = gflops == null ? new double[]{50, 50} : gflops;
        if (rates.length < 1 || rates.length > 64)
        {
            throw new IllegalArgumentException("--gflops needs 1 to 64 devices, got " + rates.length);
        }
        if (memoryMb != null && memoryMb.length != 1 && memoryMb.length != rates.length)
        {
            throw new IllegalArgumentException("--memory-mb needs one value or one per device (" + rates.length +
                "), got " + memoryMb.length);
        }
        final LatencyModel[] out = new LatencyModel[rates.length];
        for (int d = 0; d < rates.length; d++)
        {
            if (!(rates[d] > 0) || Double.isInfinite(rates[d]))
            {
                throw new IllegalArgumentException("--gflops of device " + d + " must be > 0: " + rates[d]);
            }
            final long mb = memoryMb == null ? Long.MAX_VALUE >> 20 : memoryMb[memoryMb.length == 1 ? 0 : d];
            if (mb < 1)
            {
                throw new IllegalArgumentException("--memory-mb of device " + d + " must be >= 1: " + mb);
            }
            out[d] = LatencyModel.fit(graph, DeviceProfile.calibratedOnly("device " + d, rates[d] * 1e9, mb << 20));
        }
        return out;
    }
}
