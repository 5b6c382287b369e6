package org.coedge.jmh;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LinkModel;
import org.coedge.planner.PlanChoice;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How long the adaptive planner's search takes: a zoo model's planner graph over 2 to 8 devices of mixed speeds
 * (60, 30, 30, 15, 15, 15, 30, 60 GFLOP/s, in that order) on 1 Gbit/s links with 50 us latency. The goal is under
 * 100 ms for ResNet-18 on 8 devices, so a re-plan costs a request or two at most.
 * <p>
 * {@code java -cp jmh/target/benchmarks.jar org.openjdk.jmh.Main AdaptivePlannerBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"})
public class AdaptivePlannerBenchmark
{
    private static final double[] GFLOPS = {60, 30, 30, 15, 15, 15, 30, 60};

    @Param({"resnet18", "vgg16", "mobilenetv2"})
    public String model;

    @Param({"3", "8"})
    public int devices;

    private LayerGraph graph;
    private int[] outputs;
    private LatencyModel[] models;
    private LinkModel links;

    @Setup
    public void setUp()
    {
        final PreparedModel prepared = Model.load(ModelZoo.build(model), model).prepare(Map.of());
        graph = PlanGraphs.of(prepared);
        outputs = SplitExecutor.outputLayers(prepared, graph);
        models = new LatencyModel[devices];
        for (int d = 0; d < devices; d++)
        {
            models[d] = LatencyModel.fit(graph, DeviceProfile.calibratedOnly("d" + d, GFLOPS[d] * 1e9, 1L << 32));
        }
        links = LinkModel.uniform(devices, 125e6, 50_000, 20_000);
    }

    @Benchmark
    public PlanChoice plan()
    {
        return AdaptivePlanner.plan(graph, outputs, models, links, 0);
    }
}
