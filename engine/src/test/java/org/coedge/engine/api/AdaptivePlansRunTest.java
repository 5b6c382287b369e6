package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.testing.RelativeError;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.AdaptivePlanner;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LatencyModel;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.LinkModel;
import org.coedge.planner.PlanChoice;
import org.junit.jupiter.api.Test;

/**
 * Plans the adaptive planner returns run and give the unsplit result: on ResNet-18 and MobileNetV2, for clusters
 * chosen so that the search picks different shapes (everything on a fast worker, a vertical split, row splits over
 * all or some devices, fused blocks), each plan runs twice through the split executor and matches the unsplit
 * engine within max abs error / max |unsplit| <= 1e-4 (a split is one more evaluation order, see
 * {@link SplitMatchesUnsplitTest}).
 */
class AdaptivePlansRunTest
{
    /** GFLOP/s per device, link Mbit/s and one-way latency in microseconds. */
    private static final double[][] CLUSTERS = {
        {10, 100, 1000, 100},
        {30, 30, 10000, 20},
        {30, 30, 30, 30, 10000, 20},
        {60, 30, 15, 1000, 50},
        {5, 80, 20, 5000, 50},
        {50, 50, 10, 200},
    };

    @Test
    void shouldRunEveryChosenPlanToTheUnsplitResult()
    {
        final Set<String> shapes = new HashSet<>();
        for (final String name : new String[]{"resnet18", "mobilenetv2"})
        {
            final Model model = Model.load(ModelZoo.build(name), name);
            final float[] input = OracleSupport.randomInput(name.hashCode(), 3 * 224 * 224);
            final float[] expected;
            try (Session session = model.newSession(SessionOptions.threads(1)))
            {
                session.setInput(0, input);
                session.run();
                expected = session.output(0);
            }
            final PreparedModel whole = model.prepare(Map.of());
            final LayerGraph graph = PlanGraphs.of(whole);
            for (final double[] c : CLUSTERS)
            {
                final int n = c.length - 2;
                final LatencyModel[] devices = new LatencyModel[n];
                for (int d = 0; d < n; d++)
                {
                    devices[d] = LatencyModel.fit(graph, DeviceProfile.calibratedOnly("d" + d, c[d] * 1e9, 1L << 34));
                }
                final LinkModel links = LinkModel.uniform(n, c[n] * 1e6 / 8, c[n + 1] * 1e3, 20_000);
                final PlanChoice choice = AdaptivePlanner.plan(graph, SplitExecutor.outputLayers(whole, graph),
                    devices, links, 0);
                shapes.add(choice.description().replaceAll("[0-9]+", "#"));
                final float[] actual = SplitMatchesUnsplitTest.runTwice(model, Map.of(), whole, graph, choice.plan(),
                    input, expected.length);
                final double rel = RelativeError.of(expected, actual);
                System.out.printf("%s on %s: %s, error %.3g%n", name, Arrays.toString(c), choice.description(), rel);
                assertTrue(rel <= OracleSupport.TOLERANCE, name + " " + choice.description() + ": " + rel);
            }
        }
        assertTrue(shapes.size() >= 3, "the clusters should make the search choose different shapes: " + shapes);
    }
}
