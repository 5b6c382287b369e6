package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Structure of the zoo's models, read back from the protobuf; runs nothing. */
class ModelZooTest
{
    static List<String> names()
    {
        return ModelZoo.names();
    }

    @Test
    void shouldListTheFiveModelsAndRejectOthers()
    {
        assertEquals(List.of("alexnet", "vgg16", "resnet18", "googlenet", "mobilenetv2"), ModelZoo.names());

        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> ModelZoo.build("vgg19"));
        assertTrue(ex.getMessage().contains("unknown zoo model 'vgg19'"), ex.getMessage());
    }

    @ParameterizedTest
    @MethodSource("names")
    void shouldDeclareOpsetIrVersionInputAndOutput(final String name)
    {
        final ModelProto model = ModelZoo.model(name);
        final GraphProto graph = model.getGraph();

        assertEquals(8, model.getIrVersion());
        assertEquals(1, model.getOpsetImportCount());
        assertEquals("", model.getOpsetImport(0).getDomain());
        assertEquals(13, model.getOpsetImport(0).getVersion());
        assertEquals(1, graph.getInputCount());
        assertEquals(1, graph.getOutputCount());
        assertValue(graph.getInput(0), "input", 1, 3, 224, 224);
        assertValue(graph.getOutput(0), "output", 1, 1000);
    }

    @ParameterizedTest
    @MethodSource("names")
    void shouldBeAWellFormedGraphWithUniquelyNamedNodes(final String name)
    {
        final GraphProto graph = ModelZoo.model(name).getGraph();
        final Set<String> defined = new HashSet<>();
        defined.add("input");
        for (final TensorProto initializer : graph.getInitializerList())
        {
            assertTrue(defined.add(initializer.getName()), "duplicate initializer " + initializer.getName());
            assertEquals(TensorProto.DataType.FLOAT.getNumber(), initializer.getDataType(), initializer.getName());
            assertEquals(4 * elementCount(initializer), initializer.getRawData().size(), initializer.getName());
        }
        final Set<String> nodeNames = new HashSet<>();
        for (final NodeProto node : graph.getNodeList())
        {
            assertFalse(node.getName().isEmpty());
            assertTrue(nodeNames.add(node.getName()), "duplicate node name " + node.getName());
            for (final String input : node.getInputList())
            {
                assertTrue(defined.contains(input), node.getName() + " reads " + input + " before it is defined");
            }
            assertEquals(1, node.getOutputCount(), node.getName());
            assertTrue(defined.add(node.getOutput(0)), node.getName() + " redefines " + node.getOutput(0));
        }
        assertEquals("output", graph.getNode(graph.getNodeCount() - 1).getOutput(0));
    }

    @Test
    void shouldMatchPublishedParameterCounts()
    {
        // Learnable parameters only (BN running statistics and the ReLU6 bounds are not learned), as the
        // reference implementations count them: AlexNet single tower without groups, VGG-16 D, torchvision's
        // ResNet-18 and MobileNetV2, Caffe's bvlc_googlenet without its auxiliary classifiers.
        final Map<String, Long> expected = Map.of(
            "alexnet", 62_378_344L,
            "vgg16", 138_357_544L,
            "resnet18", 11_689_512L,
            "googlenet", 6_998_552L,
            "mobilenetv2", 3_504_872L);
        for (final String name : ModelZoo.names())
        {
            final long learnable = ModelZoo.model(name).getGraph().getInitializerList().stream()
                .filter(t -> !t.getName().endsWith(".mean") && !t.getName().endsWith(".var"))
                .filter(t -> !t.getName().startsWith("relu6."))
                .mapToLong(ModelZooTest::elementCount)
                .sum();
            assertEquals(expected.get(name), learnable, name);
        }
    }

    @Test
    void shouldNormaliseLocalResponsesInAlexNetAndGoogLeNet()
    {
        for (final String name : List.of("alexnet", "googlenet"))
        {
            final GraphProto graph = ModelZoo.model(name).getGraph();
            final List<NodeProto> lrns = ops(graph, "LRN");

            assertEquals(2, lrns.size(), name);
            for (final NodeProto lrn : lrns)
            {
                assertEquals(5, attribute(lrn, "size").getI());
                assertEquals(1e-4f, attribute(lrn, "alpha").getF());
                assertEquals(0.75f, attribute(lrn, "beta").getF());
            }
        }
        assertEquals(List.of("conv1.lrn", "conv2.lrn"), nodeNames(ops(ModelZoo.model("alexnet").getGraph(), "LRN")));
    }

    @Test
    void shouldConcatenateFourBranchesInNineInceptionBlocksWithCeilModePools()
    {
        final GraphProto graph = ModelZoo.model("googlenet").getGraph();
        final List<NodeProto> concats = ops(graph, "Concat");

        assertEquals(9, concats.size());
        for (final NodeProto concat : concats)
        {
            assertEquals(4, concat.getInputCount(), concat.getName());
            assertEquals(1, attribute(concat, "axis").getI());
        }
        final List<NodeProto> pools = ops(graph, "MaxPool");
        assertEquals(4 + 9, pools.size());
        assertTrue(pools.stream().allMatch(p -> attribute(p, "ceil_mode").getI() == 1));
        assertEquals(1, ops(graph, "AveragePool").size());
    }

    @Test
    void shouldAddResidualsAndProjectShortcutsInResNet18()
    {
        final GraphProto graph = ModelZoo.model("resnet18").getGraph();
        final Map<String, NodeProto> producers = producers(graph);
        final List<NodeProto> adds = ops(graph, "Add");

        assertEquals(8, adds.size());
        int projected = 0;
        for (final NodeProto add : adds)
        {
            // One operand is the block's residual branch (ends in BN); the other its shortcut: the block's input
            // (a ReLU or the stem's max pool) or a strided 1x1 conv + BN projection of it.
            assertEquals("BatchNormalization", producers.get(add.getInput(0)).getOpType(), add.getName());
            final NodeProto shortcut = producers.get(add.getInput(1));
            if (shortcut.getName().contains("downsample"))
            {
                final NodeProto conv = producers.get(shortcut.getInput(0));
                assertEquals(List.of(1L, 1L), attribute(conv, "kernel_shape").getIntsList());
                assertEquals(List.of(2L, 2L), attribute(conv, "strides").getIntsList());
                projected++;
            }
            else
            {
                assertTrue(Set.of("Relu", "MaxPool").contains(shortcut.getOpType()), shortcut.getName());
            }
        }
        assertEquals(3, projected);
        assertEquals(20, ops(graph, "BatchNormalization").size());
        assertEquals(1, ops(graph, "GlobalAveragePool").size());
    }

    @Test
    void shouldUseDepthwiseConvolutionsClipAndResidualsInMobileNetV2()
    {
        final GraphProto graph = ModelZoo.model("mobilenetv2").getGraph();
        final Map<String, TensorProto> initializers = graph.getInitializerList().stream()
            .collect(Collectors.toMap(TensorProto::getName, t -> t));

        int depthwise = 0;
        for (final NodeProto conv : ops(graph, "Conv"))
        {
            final long group = attribute(conv, "group").getI();
            final List<Long> weightDims = initializers.get(conv.getInput(1)).getDimsList();
            if (group > 1)
            {
                assertEquals(group, (long)weightDims.get(0), conv.getName());
                assertEquals(1L, (long)weightDims.get(1), conv.getName());
                assertEquals(3L, (long)weightDims.get(2), conv.getName());
                depthwise++;
            }
        }
        assertEquals(17, depthwise);
        final List<NodeProto> clips = ops(graph, "Clip");
        assertEquals(1 + 16 + 17 + 1, clips.size());
        for (final NodeProto clip : clips)
        {
            assertEquals(List.of("relu6.min", "relu6.max"), clip.getInputList().subList(1, 3));
        }
        assertEquals(0, initializers.get("relu6.min").getDimsCount());
        assertEquals(10, ops(graph, "Add").size());
    }

    @Test
    void shouldStackThirteenConvolutionsAndThreeGemmsInVgg16()
    {
        final GraphProto graph = ModelZoo.model("vgg16").getGraph();

        assertEquals(13, ops(graph, "Conv").size());
        assertEquals(5, ops(graph, "MaxPool").size());
        assertEquals(3, ops(graph, "Gemm").size());
        assertTrue(ops(graph, "Gemm").stream().allMatch(g -> attribute(g, "transB").getI() == 1));
    }

    @Test
    void shouldBuildIdenticalBytesEachTimeAndDifferentModels()
    {
        final byte[] first = ModelZoo.build("googlenet");

        assertArrayEquals(first, ModelZoo.build("googlenet"));
        assertArrayEquals(ModelZoo.build("mobilenetv2"), ModelZoo.build("mobilenetv2"));
        assertArrayEquals(ModelZoo.build("resnet18"), ModelZoo.build("resnet18"));
        // Each model draws from its own seed: their first weights differ.
        assertNotEquals(ModelZoo.model("resnet18").getGraph().getInitializer(0).getRawData().substring(0, 16),
            ModelZoo.model("googlenet").getGraph().getInitializer(0).getRawData().substring(0, 16));
    }

    @Test
    void shouldWriteAllModelsWithTheBytesBuildGives(@TempDir final Path dir) throws IOException
    {
        final Path zoo = dir.resolve("zoo");

        ModelZoo.writeAll(zoo);

        // Every file is an independent second build, so this is also the determinism check for the large models.
        for (final String name : ModelZoo.names())
        {
            final Path file = zoo.resolve(name + ".onnx");
            assertArrayEquals(ModelZoo.build(name), Files.readAllBytes(file), name);
        }
        try (Stream<Path> files = Files.list(zoo))
        {
            assertEquals(5, files.count());
        }
    }

    @Test
    void shouldDrawTheSameInputForTheSameSeed()
    {
        final float[] input = ModelZoo.randomInput(7);

        assertEquals(3 * 224 * 224, input.length);
        assertArrayEquals(input, ModelZoo.randomInput(7));
        assertFalse(Arrays.equals(input, ModelZoo.randomInput(8)));
        for (final float v : input)
        {
            assertTrue(v >= -1f && v < 1f);
        }
    }

    @Test
    void shouldComputeWindowSizesAsOnnxDoes()
    {
        assertEquals(55, ZooGraphBuilder.windowOut(224, 11, 4, 2, false));
        assertEquals(56, ZooGraphBuilder.windowOut(112, 3, 2, 0, true));
        assertEquals(55, ZooGraphBuilder.windowOut(112, 3, 2, 0, false));
        assertEquals(7, ZooGraphBuilder.windowOut(14, 3, 2, 0, true));
        assertEquals(56, ZooGraphBuilder.windowOut(112, 3, 2, 1, false));
        // Ceil mode may not start a window in the trailing padding.
        assertEquals(2, ZooGraphBuilder.windowOut(3, 2, 2, 1, true));
    }

    private static void assertValue(final ValueInfoProto value, final String name, final long... dims)
    {
        assertEquals(name, value.getName());
        assertEquals(TensorProto.DataType.FLOAT.getNumber(), value.getType().getTensorType().getElemType());
        final List<TensorShapeProto.Dimension> shape = value.getType().getTensorType().getShape().getDimList();
        assertArrayEquals(dims, shape.stream().mapToLong(TensorShapeProto.Dimension::getDimValue).toArray());
    }

    private static long elementCount(final TensorProto tensor)
    {
        return tensor.getDimsList().stream().mapToLong(Long::longValue).reduce(1L, (a, b) -> a * b);
    }

    private static List<NodeProto> ops(final GraphProto graph, final String opType)
    {
        return graph.getNodeList().stream().filter(n -> n.getOpType().equals(opType)).toList();
    }

    private static List<String> nodeNames(final List<NodeProto> nodes)
    {
        return nodes.stream().map(NodeProto::getName).toList();
    }

    private static Map<String, NodeProto> producers(final GraphProto graph)
    {
        final Map<String, NodeProto> producers = new HashMap<>();
        for (final NodeProto node : graph.getNodeList())
        {
            producers.put(node.getOutput(0), node);
        }
        return producers;
    }

    private static AttributeProto attribute(final NodeProto node, final String name)
    {
        return node.getAttributeList().stream()
            .filter(a -> a.getName().equals(name))
            .findFirst()
            .orElseThrow(() -> new AssertionError(node.getName() + " has no attribute " + name));
    }
}
