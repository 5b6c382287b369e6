package org.coedge.engine.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.planner.LayerGraph;
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
 * {@code coedge plan}: splits a model's rows over devices by the given shares and prints, per stage and device, the
 * rows computed, the halo rows and bytes received, and the redundant FLOPs. Planning only: nothing is executed.
 */
@Command(name = "plan", description = "Print a row-split plan: per stage and device the rows computed, halo rows " +
    "and bytes exchanged, and redundant FLOPs.")
final class PlanCommand implements Callable<Integer>
{

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "ONNX model file.")
    Path model;

    @Option(names = "--shape", description = "Input dims NAME=1x3xHxW, where the model leaves them dynamic.")
    List<String> shapes;

    @Option(names = "--split", required = true, split = ",", description = "Row shares per device, e.g. " +
        "0.5,0.3,0.2 (normalized).")
    double[] split;

    @picocli.CommandLine.Mixin
    FuseOptions fuseOptions = new FuseOptions();

    @Option(names = "--steps", description = "Also print every device's compiled step program.")
    boolean steps;

    @Override
    public Integer call()
    {
        if (split.length < 1 || split.length > 64)
        {
            throw new IllegalArgumentException("--split needs 1 to 64 shares, got " + split.length);
        }
        final Model m = Model.load(model);
        final Map<String, long[]> dims = Shapes.parse(shapes, m.inputNames(), m);
        final PreparedModel prepared = m.prepare(dims);
        final LayerGraph graph = PlanGraphs.of(prepared);
        final FuseOptions.Chosen chosen = fuseOptions.choose(graph, split);
        final Plan plan = chosen.plan();
        final PlanCost cost = PlanCost.of(graph, plan);
        final var out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "model %s: %d layers, %.3f GFLOPs; %d devices, %s, %d stages%n", model,
            prepared.layers().size(), prepared.flops() / 1e9, split.length, chosen.describe(), plan.stages().size());
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
                out.printf(Locale.ROOT, "  device %d: rows [%d, %d) of %d, %.3f GFLOPs, halo %d rows %.1f KiB in " +
                    "%d messages%n", d, rows.start(), rows.end(), graph.layer(stage.lastLayer()).heightRows(),
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
}
