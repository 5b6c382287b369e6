package org.coedge.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.kernels.ConvParams;
import org.coedge.kernels.WinogradConv2d;
import org.coedge.planner.Layer;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.PlanCost;
import org.coedge.planner.Planner;
import org.coedge.planner.RowMap;
import org.coedge.planner.Stage;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PlanGraphsTest
{
    @ParameterizedTest
    @ValueSource(strings = {"resnet18", "googlenet", "mobilenetv2"})
    void shouldTabulateConvRowMapsAsThePlannersWindowFormula(final String name)
    {
        final PreparedModel model = Model.load(ModelZoo.build(name), name).prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(model);
        final int sources = model.inputs().size();
        assertEquals(sources + model.layers().size(), graph.layerCount());
        int checked = 0;
        int winograd = 0;
        for (int i = 0; i < model.layers().size(); i++)
        {
            final org.coedge.engine.exec.Layer engineLayer = model.layers().get(i);
            final Layer planned = graph.layer(sources + i);
            assertEquals(engineLayer.output().shape().height(), planned.heightRows());
            if (engineLayer instanceof ConvLayer)
            {
                final ConvParams p = ((ConvLayer)engineLayer).kernel().params();
                if (p.transposed())
                {
                    continue;
                }
                final int inH = engineLayer.inputs().get(0).shape().height();
                final RowMap formula = RowMap.window(p.kernelH(), p.strideH(), p.dilationH(), p.padTop(), inH,
                    planned.heightRows());
                final boolean tiles = ((ConvLayer)engineLayer).kernel() instanceof WinogradConv2d;
                for (int o = 0; o < planned.heightRows(); o++)
                {
                    final int first = planned.rowMap(0).first(o);
                    final int end = planned.rowMap(0).end(o);
                    if (tiles)
                    {
                        // a Winograd layer reads its whole 4-row tile's input rows: the window's rows and more
                        assertEquals(WinogradConv2d.firstInputRow(p, o, o + 1, inH), first, engineLayer + " row " + o);
                        assertEquals(WinogradConv2d.endInputRow(p, o, o + 1, inH), end, engineLayer + " row " + o);
                        assertTrue(first <= formula.first(o) && end >= formula.end(o), engineLayer + " row " + o);
                        winograd++;
                    }
                    else
                    {
                        assertEquals(formula.first(o), first, engineLayer + " row " + o);
                        assertEquals(formula.end(o), end, engineLayer + " row " + o);
                    }
                }
                checked++;
            }
        }
        assertTrue(checked > 5, "conv layers checked: " + checked);
        assertTrue(name.equals("mobilenetv2") || winograd > 0, "Winograd rows checked: " + winograd);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 8})
    void shouldCoverEveryRowOfTheLastSpatialLayerAndNeedNoHaloOnOneDevice(final int devices)
    {
        final PreparedModel model = Model.load(ModelZoo.build("resnet18"), "resnet18").prepare(Map.of());
        final LayerGraph graph = PlanGraphs.of(model);
        final double[] shares = new double[devices];
        java.util.Arrays.fill(shares, 1.0);
        for (final int fuse : List.of(1, 3))
        {
            final Plan plan = Planner.uniform(graph, shares, fuse);
            final PlanCost cost = PlanCost.of(graph, plan);
            if (devices == 1)
            {
                assertEquals(0, cost.totalHaloBytes());
                assertEquals(0, cost.totalRedundantFlops());
            }
            else
            {
                assertTrue(cost.totalHaloBytes() > 0, "devices " + devices + " fuse " + fuse);
            }
            // the last stage before the head ends at the last spatial layer: its rows are split without overlap
            final int spatialStages = plan.stages().size() - 1;
            final Stage last = plan.stages().get(spatialStages - 1);
            int rows = 0;
            for (int d = 0; d < devices; d++)
            {
                rows += cost.stage(spatialStages - 1).computedRows(d, last.layerCount() - 1).rows();
            }
            assertEquals(graph.layer(last.lastLayer()).heightRows(), rows, "devices " + devices + " fuse " + fuse);
        }
    }
}
