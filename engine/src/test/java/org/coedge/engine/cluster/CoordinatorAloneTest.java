package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoordinatorAloneTest
{
    @Test
    void shouldMatchTheSessionWithNoPeers(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("resnet18.onnx");
        ModelZoo.write("resnet18", file);
        final Model model = Model.load(file);
        final float[] input = ModelZoo.randomInput(3);
        final float[] expected;
        try (Session s = model.newSession(SessionOptions.threads(1)))
        {
            s.setInput(0, input);
            s.run();
            expected = s.output(0);
        }
        final Map<String, long[]> dims = new LinkedHashMap<>();
        dims.put(model.inputNames().get(0), ModelZoo.inputDims());
        final ClusterKey key = ClusterKey.fromBytes("0123456789abcdef0123".getBytes(StandardCharsets.US_ASCII), "k");
        try (TransportNode node = new TransportNode(new TransportContext());
            Coordinator c = new Coordinator(node, key, file, model, dims, List.of(), 1, Coordinator.FUSE_AUTO, 10_000_000_000L,
                new PrintWriter(System.out, true)))
        {
            c.start();
            final List<float[]> out = new ArrayList<>();
            out.add(new float[expected.length]);
            for (int r = 0; r < 3; r++)
            {
                java.util.Arrays.fill(out.get(0), 0f);
                c.infer(List.of(input), out);
            }
            double err = 0;
            for (int i = 0; i < expected.length; i++)
            {
                err = Math.max(err, Math.abs(expected[i] - out.get(0)[i]));
            }
            System.out.println(c.plan());
            assertTrue(err < 1e-4, "error " + err);
        }
    }
}
