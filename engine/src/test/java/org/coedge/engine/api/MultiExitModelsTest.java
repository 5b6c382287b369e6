package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exits.ExitGraphs;
import org.coedge.engine.exits.FashionSlice;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.api.Test;

/**
 * Multi-exit models run up to one exit: every exit agrees with ONNX Runtime (which computes all outputs of the same
 * file on the same input) within {@link OracleSupport#TOLERANCE}, and running up to an exit computes only the layers
 * that exit depends on.
 */
class MultiExitModelsTest
{
    private static final List<String> EXITS = List.of("exit0", "exit1", "exit2");
    private static final long[] IMAGE_DIMS = {1, 1, 28, 28};

    @Test
    void shouldMatchOnnxRuntimeAtEveryExitOfTheTrainedModel() throws Exception
    {
        final byte[] bytes = Files.readAllBytes(FashionSlice.model());
        final float[][] images = FashionSlice.images(6);
        final Model model = Model.load(bytes, "branchy-fmnist");
        try (OrtReference.Loaded ort = OrtReference.open(bytes, 1);
            Session session = model.newSession(SessionOptions.threads(2)))
        {
            for (int i = 0; i < images.length; i++)
            {
                final OrtReference.Result ref = ort.run(List.of(images[i]), List.of(IMAGE_DIMS));
                // a different exit first for each image, so no exit reads what a run for another left behind
                for (int j = 0; j < EXITS.size(); j++)
                {
                    final String exit = EXITS.get((i + j) % EXITS.size());
                    final int index = session.outputIndex(exit);
                    session.setInput(0, images[i]);
                    session.runFor(index);
                    assertArrayEquals(ref.dims(exit), session.outputDims(index));
                    OracleSupport.assertClose(ref.data(exit), session.output(index), "image " + i + " " + exit);
                }
            }
        }
    }

    @Test
    void shouldMatchOnnxRuntimeAtEveryExitOfBranchyResNet18()
    {
        final byte[] bytes = ModelZoo.build("branchy-resnet18");
        final float[] input = ModelZoo.randomInput(7);
        final OrtReference.Result ref = OrtReference.run(bytes, List.of(input), List.of(ModelZoo.inputDims()), 2);
        assertEquals(EXITS, ref.names());
        final Model model = Model.load(bytes, "branchy-resnet18");
        try (Session session = model.newSession(SessionOptions.threads(2)))
        {
            for (final String exit : List.of("exit2", "exit0", "exit1"))
            {
                final int index = session.outputIndex(exit);
                session.setInput(0, input);
                session.runFor(index);
                assertArrayEquals(ModelZoo.outputDims(), session.outputDims(index));
                final double rel = OracleSupport.assertClose(ref.data(exit), session.output(index), exit);
                System.out.printf("branchy-resnet18 %s: max abs error / max |ref| = %.3g%n", exit, rel);
            }
        }
    }

    @Test
    void shouldRunOnlyTheLayersAnExitDependsOn()
    {
        final Model model = Model.load(FashionSlice.model());
        try (Session session = model.newSession(SessionOptions.threads(1)))
        {
            final PreparedModel prepared = session.prepared();
            final int all = prepared.layers().size();
            // what each exit may touch: the blocks it follows and its own branch, by the exporter's node names
            final List<List<String>> allowed = List.of(List.of("/block1/", "/exit0/"),
                List.of("/block1/", "/block2/", "/exit1/"), List.of("/block1/", "/block2/", "/block3/", "/exit2/"));
            int previous = 0;
            for (int k = 0; k < EXITS.size(); k++)
            {
                final int index = session.outputIndex(EXITS.get(k));
                final List<String> names = layerNames(prepared, prepared.layersFor(index));
                assertTrue(names.size() > previous && names.size() <= all, EXITS.get(k) + " runs " + names);
                previous = names.size();
                for (final String name : names)
                {
                    assertTrue(allowed.get(k).stream().anyMatch(name::startsWith), EXITS.get(k) + " runs " + name);
                }
                final String branch = "/exit" + k + "/";
                assertTrue(names.stream().anyMatch(n -> n.startsWith(branch)), names.toString());

                final long[] nanos = new long[all];
                session.setInput(0, FashionSlice.images(1)[0]);
                session.runFor(index, nanos);
                for (int layer = 0; layer < all; layer++)
                {
                    final boolean ran = nanos[layer] > 0;
                    final boolean listed = names.contains(prepared.layers().get(layer).name());
                    assertEquals(listed, ran, EXITS.get(k) + ": layer " + prepared.layers().get(layer));
                }
                assertEquals(names.size(), session.layerCountFor(index));
            }
            final int exit0 = session.layerCountFor(session.outputIndex("exit0"));
            assertTrue(exit0 < all / 2, "exit 0 runs " + exit0 + " of " + all + " layers");
            assertThrows(IllegalArgumentException.class, () -> session.runFor(3));
            assertThrows(IllegalArgumentException.class, () -> session.runFor(-1));
            assertEquals(-1, session.outputIndex("no-such-output"));
        }
    }

    @Test
    void shouldCutBranchyResNet18AfterTheStageEachExitLeavesBy()
    {
        final Model model = Model.load(ModelZoo.build("branchy-resnet18"), "branchy-resnet18");
        final PreparedModel prepared = model.prepare(java.util.Map.of());
        final List<List<String>> forbidden = List.of(List.of("layer3.", "layer4.", "exit1.", "fc"),
            List.of("layer4.", "exit0.", "fc"), List.of("exit0.", "exit1."));
        int previous = 0;
        for (int k = 0; k < EXITS.size(); k++)
        {
            final List<String> names = layerNames(prepared, prepared.layersFor(k));
            assertTrue(names.size() > previous, EXITS.get(k) + " runs " + names.size() + " layers");
            previous = names.size();
            for (final String name : names)
            {
                assertFalse(forbidden.get(k).stream().anyMatch(name::startsWith), EXITS.get(k) + " runs " + name);
            }
        }
        assertTrue(previous < prepared.layers().size(), "the last exit skips the side branches");
    }

    @Test
    void shouldPrepareOneExitAloneAsTheWholeModelComputesIt() throws Exception
    {
        final byte[] bytes = Files.readAllBytes(FashionSlice.model());
        final float[] image = FashionSlice.images(3)[2];
        final OrtReference.Result ref = OrtReference.run(bytes, List.of(image), List.of(IMAGE_DIMS), 1);
        final Model whole = Model.load(bytes, "branchy-fmnist");
        final PreparedModel full = whole.prepare(java.util.Map.of());
        for (int k = 0; k < EXITS.size(); k++)
        {
            final Model cut = whole.forOutput(EXITS.get(k));
            assertEquals(List.of(EXITS.get(k)), cut.outputNames());
            assertEquals(whole.inputNames(), cut.inputNames());
            try (Session session = cut.newSession(SessionOptions.threads(1)))
            {
                assertEquals(full.layersFor(k).length, session.prepared().layers().size(), EXITS.get(k));
                session.setInput(0, image);
                session.run();
                OracleSupport.assertClose(ref.data(EXITS.get(k)), session.output(0), "cut to " + EXITS.get(k));
            }
            final Graph graph = whole.graph();
            final List<String> nodes = ExitGraphs.nodesFor(graph, EXITS.get(k));
            assertEquals(nodes.size(), cut.graph().nodes().size());
            assertTrue(nodes.size() < graph.nodes().size());
        }
        assertThrows(ModelException.class, () -> whole.forOutput("no-such-output"));
    }

    private static List<String> layerNames(final PreparedModel prepared, final int[] program)
    {
        final List<String> names = new ArrayList<>();
        for (final int i : program)
        {
            final Layer layer = prepared.layers().get(i);
            names.add(layer.name());
        }
        return names;
    }
}
