package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Mode;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.Stage;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.coedge.planner.policy.ClusterView;
import org.coedge.planner.policy.PlanPolicy;
import org.coedge.planner.policy.RequestTimes;

/**
 * A plan whose fully-connected layer is split by output features (MoDNN) runs over the wire: the coordinator in this
 * JVM and two {@code coedge worker} processes on loopback UDP, the plan message carrying the FEATURES stage, the
 * workers computing their slices and the slices travelling through the Aeron row exchange. ResNet-18's output must
 * equal the model run alone within max |split - alone| / max |alone| <= 1e-5.
 */
class FeatureSplitClusterTest
{
    private static final double TOLERANCE = 1e-5;

    @TempDir
    Path dir;

    /** Rows of the spatial layers 1:1:1, then the classifier's features 1:2:1, on any number of devices. */
    private static final class FeatureSplitPolicy implements PlanPolicy
    {
        @Override
        public Plan plan(final LayerGraph graph, final int[] outputLayers, final ClusterView view, final long epoch)
        {
            final int n = view.deviceCount();
            final double[] rows = new double[n];
            final double[] features = new double[n];
            for (int d = 0; d < n; d++)
            {
                rows[d] = 1;
                features[d] = d == 1 ? 2 : 1;
            }
            return Planner.hybrid(graph, rows, 1, graph.firstGlobalLayer() - 1, 0, epoch, true, true, features);
        }

        @Override
        public void learn(final Plan plan, final List<DeviceProgram> programs, final RequestTimes times)
        {
        }

        @Override
        public boolean wantsReplan(final ClusterView now)
        {
            return false;
        }
    }

    @Test
    void shouldGiveTheSingleDeviceResultWithTheClassifierSplitByFeaturesOverWorkers() throws Exception
    {
        final Path modelFile = dir.resolve("resnet18.onnx");
        ModelZoo.write("resnet18", modelFile);
        final Path keyFile = dir.resolve("cluster.key");
        Files.write(keyFile, "another test key, of 32 bytes!!!".getBytes(StandardCharsets.US_ASCII));
        final Model model = Model.load(modelFile);
        final Map<String, long[]> dims = Map.of(model.inputNames().get(0), ModelZoo.inputDims());
        final float[] input = ModelZoo.randomInput(23);
        final float[] expected;
        try (Session s = model.newSession(SessionOptions.threads(1)))
        {
            s.setInput(0, input);
            s.run();
            expected = s.output(0);
        }
        final StringWriter log = new StringWriter();
        try (LocalWorkers workers = new LocalWorkers(2, keyFile, dir, 1, 0);
            TransportNode node = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0")
                .peerTimeoutNs(TimeUnit.SECONDS.toNanos(2)).heartbeatIntervalNs(TimeUnit.MILLISECONDS.toNanos(200)));
            Coordinator c = new Coordinator(node, ClusterKey.fromFile(keyFile), modelFile, model, dims,
                workers.endpoints(), 1, 1, TimeUnit.SECONDS.toNanos(30), new PrintWriter(log, true))
                .planPolicy(new FeatureSplitPolicy()))
        {
            c.start();
            for (int r = 0; r < 3; r++)
            {
                final List<float[]> out = List.of(new float[expected.length]);
                c.infer(List.of(input), out);
                double err = 0;
                double ref = 0;
                for (int i = 0; i < expected.length; i++)
                {
                    err = Math.max(err, Math.abs(expected[i] - out.get(0)[i]));
                    ref = Math.max(ref, Math.abs(expected[i]));
                }
                assertTrue(err / ref <= TOLERANCE, "request " + r + " under " + c.plan() + ": error " + err / ref +
                    "\n" + log);
            }
            final Plan plan = c.plan();
            assertEquals(3, plan.deviceCount(), plan.toString());
            final Stage last = plan.stages().get(plan.stages().size() - 1);
            assertEquals(Mode.FEATURES, last.mode(), plan.toString());
            // 1000 classes 1:2:1 between the coordinator and the two workers
            assertEquals(250, last.deviceRows(0).rows());
            assertEquals(500, last.deviceRows(1).rows());
            assertEquals(250, last.deviceRows(2).rows());
        }
    }
}
