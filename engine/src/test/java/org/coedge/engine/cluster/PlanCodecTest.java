package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.engine.api.Model;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Mode;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.Stage;
import org.coedge.transport.sbe.MessageHeaderDecoder;
import org.coedge.transport.sbe.MessageHeaderEncoder;
import org.coedge.transport.sbe.PlanMessageDecoder;
import org.coedge.transport.sbe.PlanMessageEncoder;
import org.junit.jupiter.api.Test;

/**
 * A plan written into a plan message and read back is the same plan: every stage, and for a PER_LAYER stage every
 * layer's split (workers compile their programs from it, so anything lost makes them disagree with the coordinator).
 */
class PlanCodecTest
{
    private static Plan roundTrip(final Plan plan, final int devices)
    {
        return roundTrip(plan, devices, Integer.MAX_VALUE);
    }

    /** @param layers the receiver's layer count, which the gathered layers are checked against. */
    private static Plan roundTrip(final Plan plan, final int devices, final int layers)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[1 << 16]);
        final PlanMessageEncoder encoder = new PlanMessageEncoder().wrapAndApplyHeader(buffer, 0,
            new MessageHeaderEncoder());
        encoder.epoch(plan.epoch());
        final PlanMessageEncoder.DevicesEncoder d = encoder.devicesCount(devices);
        for (int i = 0; i < devices; i++)
        {
            d.next().nodeId(i).endpoint("127.0.0.1:" + (4000 + i));
        }
        final int[][] stageLayers = PlanCodec.stageLayers(plan);
        final int[][] rows = PlanCodec.stageRows(plan);
        final PlanMessageEncoder.StagesEncoder st = encoder.stagesCount(stageLayers.length);
        for (int s = 0; s < stageLayers.length; s++)
        {
            st.next().firstLayer(stageLayers[s][0]).lastLayer(stageLayers[s][1]).mode((short)stageLayers[s][2]);
            final PlanMessageEncoder.StagesEncoder.RowsEncoder r = st.rowsCount(rows[s].length / 2);
            for (int i = 0; i < rows[s].length; i += 2)
            {
                r.next().firstRow(rows[s][i]).rowCount(rows[s][i + 1]);
            }
        }
        final int[] outputs = plan.outputs();
        final PlanMessageEncoder.OutputsEncoder o = encoder.outputsCount(outputs == null ? 0 : outputs.length);
        for (int i = 0; outputs != null && i < outputs.length; i++)
        {
            o.next().layer(outputs[i]);
        }
        final MessageHeaderDecoder header = new MessageHeaderDecoder().wrap(buffer, 0);
        final PlanMessageDecoder decoder = new PlanMessageDecoder().wrap(buffer, MessageHeaderDecoder.ENCODED_LENGTH,
            header.blockLength(), header.version());
        final PlanMessageDecoder.DevicesDecoder dd = decoder.devices();
        for (final PlanMessageDecoder.DevicesDecoder x : dd)
        {
            x.endpoint();
        }
        final Plan stages = PlanCodec.readStages(decoder.epoch(), devices, decoder.stages());
        return stages.withOutputs(PlanCodec.readOutputs(decoder.outputs(), layers));
    }

    @Test
    void shouldCarryTheLayersAPlanGathersWhenItNamesThem()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final LayerGraph graph = PlanGraphs.of(SplitExecutor.skeleton(model,
            java.util.Map.of(model.inputNames().get(0), ModelZoo.inputDims())));
        final Plan plan = Planner.proportional(graph, new double[]{1, 1}, 1, 3);
        assertEquals(null, roundTrip(plan, 2).outputs(), "a plan of the model's outputs names none");
        final Plan exit = plan.withOutputs(new int[]{ 5 });
        assertEquals(exit.shape(), roundTrip(exit, 2).shape());
        assertEquals(5, roundTrip(exit, 2).outputs()[0]);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> roundTrip(plan.withOutputs(new int[]{ graph.layerCount() }), 2, graph.layerCount()));
        assertEquals(true, e.getMessage().contains("outside [0, " + graph.layerCount() + ")"), e.getMessage());
    }

    @Test
    void shouldCarryEveryLayersSplitOfAPerLayerStageAndFusedStages()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final LayerGraph graph = PlanGraphs.of(SplitExecutor.skeleton(model,
            java.util.Map.of(model.inputNames().get(0), ModelZoo.inputDims())));
        for (final int fuse : new int[]{1, 3})
        {
            for (final double[] shares : List.of(new double[]{1, 1}, new double[]{95.4, 80.4, 3}))
            {
                final Plan plan = Planner.proportional(graph, shares, fuse, 7);
                final Plan back = roundTrip(plan, shares.length).validate(graph);
                assertEquals(plan.stages().size(), back.stages().size());
                assertEquals(7, back.epoch());
                for (int s = 0; s < plan.stages().size(); s++)
                {
                    final Stage a = plan.stages().get(s);
                    final Stage b = back.stages().get(s);
                    assertEquals(a.mode(), b.mode());
                    assertEquals(a.firstLayer(), b.firstLayer());
                    assertEquals(a.lastLayer(), b.lastLayer());
                    assertEquals(a.hasLayerRows(), b.hasLayerRows());
                    for (int dev = 0; dev < shares.length; dev++)
                    {
                        assertEquals(a.deviceRows(dev), b.deviceRows(dev));
                        for (int l = 0; a.hasLayerRows() && l < a.layerCount(); l++)
                        {
                            assertEquals(a.layerRows(l, dev), b.layerRows(l, dev), "stage " + s + " layer " + l);
                        }
                    }
                }
            }
        }
    }

    @Test
    void shouldCarryAFeatureSplitOfTheClassifier()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final LayerGraph graph = PlanGraphs.of(SplitExecutor.skeleton(model,
            java.util.Map.of(model.inputNames().get(0), ModelZoo.inputDims())));
        // ResNet-18 has one FC: a FEATURES stage of one layer carries as many ranges as a stage of last-layer rows
        final Plan plan = Planner.hybrid(graph, new double[]{1, 1, 0}, 1, graph.firstGlobalLayer() - 1, 2, 4, true,
            true, new double[]{1, 3, 1});
        final Plan back = roundTrip(plan, 3).validate(graph);
        assertEquals(plan.stages().size(), back.stages().size());
        final Stage features = back.stages().get(back.stages().size() - 1);
        assertEquals(plan.stages().get(plan.stages().size() - 1).toString(), features.toString());
        assertEquals(Mode.FEATURES, features.mode());
        assertEquals(600, features.deviceRows(1).rows(), "1000 classes 1:3:1");
    }

    @Test
    void shouldRefusePlansOfAnOlderWireVersion()
    {
        assertTrue(PlanMessageDecoder.SCHEMA_VERSION >= PlanCodec.MIN_PLAN_VERSION);
        PlanCodec.checkVersion(PlanMessageDecoder.SCHEMA_VERSION);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> PlanCodec.checkVersion(3));
        assertTrue(e.getMessage().contains("wire schema version 3") &&
            e.getMessage().contains("same coedge build on every node"), e.getMessage());
    }

    @Test
    void shouldRefuseAStageWhoseRowsFitNoDeviceCount()
    {
        final Model model = Model.load(ModelZoo.build("resnet18"), "resnet18");
        final LayerGraph graph = PlanGraphs.of(SplitExecutor.skeleton(model,
            java.util.Map.of(model.inputNames().get(0), ModelZoo.inputDims())));
        final Plan plan = Planner.proportional(graph, new double[]{1, 1}, 3, 1);
        final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> roundTrip(plan, 3));
        assertEquals(true, e.getMessage().contains("row ranges for 3 devices"), e.getMessage());
    }
}
