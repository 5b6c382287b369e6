package org.coedge.engine.onnx;

import java.util.List;
import java.util.Map;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;
import org.junit.jupiter.api.Test;

import static org.coedge.engine.onnx.ModelBuilder.floatAttr;
import static org.coedge.engine.onnx.ModelBuilder.floatsAttr;
import static org.coedge.engine.onnx.ModelBuilder.int64s;
import static org.coedge.engine.onnx.ModelBuilder.intAttr;
import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.coedge.engine.onnx.ModelBuilder.rawFloats;
import static org.coedge.engine.onnx.ModelBuilder.scalarFloat;
import static org.coedge.engine.onnx.ModelBuilder.stringAttr;
import static org.coedge.engine.onnx.OnnxImporterTest.node;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapeInferenceTest
{
    private static final float EXACT = 0f;
    private static final float SCALE_TOLERANCE = 1e-7f;

    private static List<String> ops(final Graph g)
    {
        return g.nodes().stream().map(Node::opType).toList();
    }

    private static ModelException error(final Runnable action)
    {
        return assertThrows(ModelException.class, action::run);
    }

    @Test
    void shouldFoldTorchFlattenShapeSubgraphIntoStaticReshape()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", -1, 8, -1, -1)
            .output("y", -1, 8)
            .initializer(int64s("zero", new long[0], new long[]{0}))
            .ints("axes0", 0)
            .ints("minusOne", -1)
            .node("GlobalAveragePool", "gap", List.of("x"), List.of("g"))
            .node("Shape", "shape", List.of("g"), List.of("s"))
            .node("Gather", "gather", List.of("s", "zero"), List.of("batch"), intAttr("axis", 0))
            .node("Unsqueeze", "unsq", List.of("batch", "axes0"), List.of("batch1"))
            .node("Concat", "cat", List.of("batch1", "minusOne"), List.of("target"), intAttr("axis", 0))
            .node("Reshape", "reshape", List.of("g", "target"), List.of("y"))
            .fold("x", 1, 8, 5, 7);

        assertEquals(List.of("GlobalAveragePool", "Reshape"), ops(g));
        assertArrayEquals(new long[]{1, 8}, node(g, "reshape").attrInts("shape", null));
        assertEquals(List.of("g"), node(g, "reshape").inputs());
        assertArrayEquals(new long[]{1, 8}, g.shape("y"));
        assertArrayEquals(new long[]{1, 8, 1, 1}, g.shape("g"));
        assertTrue(g.constants().isEmpty(), "unused shape constants are dropped");
    }

    @Test
    void shouldFoldPaddleShapeSliceCastSubgraphIntoStaticReshape()
    {
        final OnnxMl.TensorProto minusOneInt32 = OnnxMl.TensorProto.newBuilder().setName("fill")
            .setDataType(OnnxMl.TensorProto.DataType.INT32_VALUE).addDims(1).addInt32Data(-1).build();
        final Graph g = new ModelBuilder(11)
            .input("x", -1, 6, -1, -1)
            .output("y", -1, 6)
            .ints("starts", 0)
            .ints("ends", 1)
            .ints("axes", 0)
            .ints("steps", 1)
            .initializer(minusOneInt32)
            .node("GlobalAveragePool", "gap", List.of("x"), List.of("g"))
            .node("Shape", "shape", List.of("g"), List.of("s64"))
            .node("Cast", "cast0", List.of("s64"), List.of("s32"), intAttr("to", 6))
            .node("Slice", "slice", List.of("s32", "starts", "ends", "axes", "steps"), List.of("n32"))
            .node("Cast", "cast1", List.of("n32"), List.of("n64"), intAttr("to", 7))
            .node("Cast", "cast2", List.of("fill"), List.of("fill64"), intAttr("to", 7))
            .node("Concat", "cat", List.of("n64", "fill64"), List.of("target"), intAttr("axis", -1))
            .node("Reshape", "reshape", List.of("g", "target"), List.of("y"))
            .fold("x", 1, 6, 48, 192);

        assertEquals(List.of("GlobalAveragePool", "Reshape"), ops(g));
        assertArrayEquals(new long[]{1, 6}, node(g, "reshape").attrInts("shape", null));
    }

    @Test
    void shouldTurnReshapeFamilyIntoReshapeWithResolvedShape()
    {
        final Graph g = new ModelBuilder(11)
            .input("x", 1, 4, 3, 2)
            .output("y", 24, 1)
            .ints("target", 0, 0, -1)
            .node("Reshape", "r", List.of("x", "target"), List.of("a"))
            .node("Unsqueeze", "u", List.of("a"), List.of("b"), intsAttr("axes", 0, -1))
            .node("Squeeze", "s", List.of("b"), List.of("c"), intsAttr("axes", 0))
            .node("Flatten", "f", List.of("c"), List.of("d"), intAttr("axis", 3))
            .node("Squeeze", "s2", List.of("d"), List.of("e"))
            .node("Unsqueeze", "u2", List.of("e"), List.of("y"), intsAttr("axes", 1))
            .load();

        final Graph folded = ShapeInference.fold(g, Map.of());

        assertEquals(List.of("Reshape", "Reshape", "Reshape", "Reshape", "Reshape", "Reshape"), ops(folded));
        assertArrayEquals(new long[]{1, 4, 6}, node(folded, "r").attrInts("shape", null));
        assertArrayEquals(new long[]{1, 1, 4, 6, 1}, node(folded, "u").attrInts("shape", null));
        assertArrayEquals(new long[]{1, 4, 6, 1}, node(folded, "s").attrInts("shape", null));
        assertArrayEquals(new long[]{24, 1}, node(folded, "f").attrInts("shape", null));
        assertArrayEquals(new long[]{24}, node(folded, "s2").attrInts("shape", null));
        assertArrayEquals(new long[]{24, 1}, folded.shape("y"));
        for (final Node n : folded.nodes())
        {
            assertEquals(1, n.inputs().size(), n.toString());
        }
    }

    private static Graph conv(final String autoPad, final long... inputDims)
    {
        return new ModelBuilder(11)
            .input("x", 1, 1, -1, -1)
            .output("y", 1, 2, -1, -1)
            .weights("w", new long[]{2, 1, 3, 3}, new float[18])
            .node("Conv", "conv", List.of("x", "w"), List.of("y"), stringAttr("auto_pad", autoPad),
                intsAttr("strides", 2, 2))
            .fold("x", inputDims);
    }

    @Test
    void shouldResolveAutoPadIntoExplicitPads()
    {
        final Graph upper = conv("SAME_UPPER", 1, 1, 7, 8);
        final Graph lower = conv("SAME_LOWER", 1, 1, 7, 8);
        final Graph valid = conv("VALID", 1, 1, 7, 8);

        final Node u = node(upper, "conv");
        assertArrayEquals(new long[]{1, 0, 1, 1}, u.attrInts("pads", null));
        assertArrayEquals(new long[]{1, 2, 4, 4}, upper.shape("y"));
        assertFalse(u.has("auto_pad"));
        assertArrayEquals(new long[]{3, 3}, u.attrInts("kernel_shape", null));
        assertArrayEquals(new long[]{1, 1}, u.attrInts("dilations", null));
        assertEquals(1, u.attrInt("group", -1));
        assertArrayEquals(new long[]{1, 1, 1, 0}, node(lower, "conv").attrInts("pads", null));
        assertArrayEquals(new long[]{1, 2, 4, 4}, lower.shape("y"));
        assertArrayEquals(new long[]{0, 0, 0, 0}, node(valid, "conv").attrInts("pads", null));
        assertArrayEquals(new long[]{1, 2, 3, 3}, valid.shape("y"));
    }

    private static Graph pool(final String op, final long inputSize, final OnnxMl.AttributeProto... attributes)
    {
        return new ModelBuilder(13)
            .input("x", 1, 1, -1, -1)
            .output("y", 1, 1, -1, -1)
            .node(op, "pool", List.of("x"), List.of("y"), attributes)
            .fold("x", 1, 1, inputSize, inputSize);
    }

    @Test
    void shouldComputePoolingOutputDimsWithCeilMode()
    {
        final Graph floor = pool("MaxPool", 8, intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2));
        final Graph ceil = pool("MaxPool", 8, intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2),
            intAttr("ceil_mode", 1));
        final Graph lastWindowInPadding = pool("AveragePool", 5, intsAttr("kernel_shape", 2, 2),
            intsAttr("strides", 2, 2), intsAttr("pads", 1, 1, 1, 1), intAttr("ceil_mode", 1));

        assertArrayEquals(new long[]{1, 1, 3, 3}, floor.shape("y"));
        assertEquals(0, node(floor, "pool").attrInt("ceil_mode", -1));
        assertArrayEquals(new long[]{1, 1, 4, 4}, ceil.shape("y"));
        assertEquals(1, node(ceil, "pool").attrInt("ceil_mode", -1));
        assertArrayEquals(new long[]{1, 1, 3, 3}, lastWindowInPadding.shape("y"));
        final Node avg = node(lastWindowInPadding, "pool");
        assertEquals(0, avg.attrInt("count_include_pad", -1));
        assertArrayEquals(new long[]{1, 1, 1, 1}, avg.attrInts("pads", null));
        assertArrayEquals(new long[]{1, 1}, avg.attrInts("dilations", null));
    }

    @Test
    void shouldResolveSamePoolingAndDropCeilMode()
    {
        final Graph g = pool("AveragePool", 7, intsAttr("kernel_shape", 3, 3), intsAttr("strides", 2, 2),
            stringAttr("auto_pad", "SAME_UPPER"), intAttr("ceil_mode", 1), intAttr("count_include_pad", 1));

        final Node p = node(g, "pool");
        assertArrayEquals(new long[]{1, 1, 4, 4}, g.shape("y"));
        assertArrayEquals(new long[]{1, 1, 1, 1}, p.attrInts("pads", null));
        assertEquals(0, p.attrInt("ceil_mode", -1));
        assertEquals(1, p.attrInt("count_include_pad", -1));
    }

    private static Graph convTranspose(final OnnxMl.AttributeProto... attributes)
    {
        return new ModelBuilder(13)
            .input("x", 1, 2, 3, 3)
            .output("y", 1, 1, -1, -1)
            .weights("w", new long[]{2, 1, 3, 3}, new float[18])
            .node("ConvTranspose", "deconv", List.of("x", "w"), List.of("y"), attributes)
            .fold("x", 1, 2, 3, 3);
    }

    @Test
    void shouldResolveConvTransposeOutputShapeIntoPads()
    {
        final Graph plain = convTranspose(intsAttr("strides", 2, 2));
        final Graph shaped = convTranspose(intsAttr("strides", 2, 2), intsAttr("output_shape", 6, 6));
        final Graph upper = convTranspose(intsAttr("strides", 2, 2), intsAttr("output_shape", 1, 1, 6, 6),
            stringAttr("auto_pad", "SAME_UPPER"));
        final Graph padded = convTranspose(intsAttr("strides", 2, 2), intsAttr("output_padding", 1, 0),
            intsAttr("pads", 1, 1, 1, 1));

        assertArrayEquals(new long[]{1, 1, 7, 7}, plain.shape("y"));
        final Node s = node(shaped, "deconv");
        assertArrayEquals(new long[]{1, 1, 0, 0}, s.attrInts("pads", null));
        assertArrayEquals(new long[]{0, 0}, s.attrInts("output_padding", null));
        assertFalse(s.has("output_shape"));
        assertArrayEquals(new long[]{1, 1, 6, 6}, shaped.shape("y"));
        assertArrayEquals(new long[]{0, 0, 1, 1}, node(upper, "deconv").attrInts("pads", null));
        assertArrayEquals(new long[]{1, 1, 6, 6}, upper.shape("y"));
        assertArrayEquals(new long[]{1, 0}, node(padded, "deconv").attrInts("output_padding", null));
        assertArrayEquals(new long[]{1, 1, 6, 5}, padded.shape("y"));
    }

    @Test
    void shouldTurnConvTransposeOutputShapeBeyondComputedIntoOutputPadding()
    {
        // 2 * (3 - 1) + 3 = 7 rows and columns are computed; ONNX Runtime leaves the extra ones to the bias.
        final Graph larger = convTranspose(intsAttr("strides", 2, 2), intsAttr("output_shape", 8, 6));

        final Node d = node(larger, "deconv");
        assertArrayEquals(new long[]{0, 1, 0, 0}, d.attrInts("pads", null));
        assertArrayEquals(new long[]{1, 0}, d.attrInts("output_padding", null));
        assertArrayEquals(new long[]{1, 1, 8, 6}, larger.shape("y"));
    }

    @Test
    void shouldReadClipBoundsFromAttributesBeforeOpset11AndInputsAfter()
    {
        final Graph v6 = new ModelBuilder(9)
            .input("x", 1, 4).output("y", 1, 4)
            .node("Clip", "clip", List.of("x"), List.of("y"), floatAttr("min", 0f))
            .fold("x", 1, 4);
        final Graph v13 = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 4)
            .constant("lo", scalarFloat(-1f))
            .constant("hi", scalarFloat(6f))
            .node("Clip", "clip", List.of("x", "lo", "hi"), List.of("a"))
            .node("Clip", "clip2", List.of("a", "", "hi"), List.of("y"))
            .fold("x", 1, 4);

        final Node c6 = node(v6, "clip");
        assertEquals(0f, c6.attrFloat("min", Float.NaN), EXACT);
        assertEquals(Float.POSITIVE_INFINITY, c6.attrFloat("max", Float.NaN), EXACT);
        final Node c13 = node(v13, "clip");
        assertEquals(List.of("x"), c13.inputs());
        assertEquals(-1f, c13.attrFloat("min", Float.NaN), EXACT);
        assertEquals(6f, c13.attrFloat("max", Float.NaN), EXACT);
        assertEquals(Float.NEGATIVE_INFINITY, node(v13, "clip2").attrFloat("min", Float.NaN), EXACT);
        assertEquals(List.of("a"), node(v13, "clip2").inputs());
    }

    @Test
    void shouldTurnUpsampleIntoAsymmetricResize()
    {
        final Graph g = new ModelBuilder(9)
            .input("x", 1, 3, -1, -1).output("y", 1, 3, -1, -1)
            .weights("scales", new long[]{4}, new float[]{1, 1, 2, 2})
            .node("Upsample", "up", List.of("x", "scales"), List.of("y"), stringAttr("mode", "nearest"))
            .fold("x", 1, 3, 5, 7);

        final Node r = node(g, "up");
        assertEquals("Resize", r.opType());
        assertEquals(List.of("x"), r.inputs());
        assertEquals("nearest", r.attrString("mode", null));
        assertEquals("asymmetric", r.attrString("coordinate_transformation_mode", null));
        assertEquals("floor", r.attrString("nearest_mode", null));
        assertArrayEquals(new float[]{1, 1, 2, 2}, r.attrFloats("scales", null), EXACT);
        assertArrayEquals(new long[]{1, 3, 10, 14}, r.attrInts("sizes", null));
        assertArrayEquals(new long[]{1, 3, 10, 14}, g.shape("y"));
    }

    @Test
    void shouldFillScalesFromSizesInResize()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 2, 4, 6).output("y", 1, 2, -1, -1)
            .ints("sizes", 1, 2, 6, 3)
            .node("Resize", "resize", List.of("x", "", "", "sizes"), List.of("y"), stringAttr("mode", "linear"),
                stringAttr("coordinate_transformation_mode", "align_corners"))
            .fold("x", 1, 2, 4, 6);

        final Node r = node(g, "resize");
        assertEquals("linear", r.attrString("mode", null));
        assertEquals("align_corners", r.attrString("coordinate_transformation_mode", null));
        assertEquals("round_prefer_floor", r.attrString("nearest_mode", null));
        assertArrayEquals(new float[]{1, 1, 1.5f, 0.5f}, r.attrFloats("scales", null), SCALE_TOLERANCE);
        assertArrayEquals(new long[]{1, 2, 6, 3}, g.shape("y"));
    }

    @Test
    void shouldRejectResizeOfChannelsAndMarkCubicForTheGenericPath()
    {
        final ModelBuilder channels = new ModelBuilder(13)
            .input("x", 1, 2, 4, 4).output("y", 1, 4, 4, 4)
            .weights("scales", new long[]{4}, new float[]{1, 2, 1, 1})
            .node("Resize", "resize", List.of("x", "", "scales"), List.of("y"));
        final ModelBuilder cubic = new ModelBuilder(13)
            .input("x", 1, 2, 4, 4).output("y", 1, 2, 8, 8)
            .weights("scales", new long[]{4}, new float[]{1, 1, 2, 2})
            .node("Resize", "resize", List.of("x", "", "scales"), List.of("y"), stringAttr("mode", "cubic"));

        assertTrue(error(() -> channels.fold("x", 1, 2, 4, 4)).getMessage().startsWith(
            "Resize 'resize': scaling the batch or channel dim is not supported"));
        final Node resize = node(cubic.fold("x", 1, 2, 4, 4), "resize");
        assertEquals("cubic", resize.attrString("mode", ""));
        assertEquals(1, resize.attrInt("nd", 0));
        assertEquals(-0.75f, resize.attrFloat("cubic_coeff_a", 0f), EXACT);
    }

    @Test
    void shouldTurnPadInputsIntoAttributes()
    {
        final Graph v11 = new ModelBuilder(11)
            .input("x", 1, 2, 4, 4).output("y", 1, 2, 7, 5)
            .ints("pads", 0, 0, 1, 0, 0, 0, 2, 1)
            .constant("value", scalarFloat(0.5f))
            .node("Pad", "pad", List.of("x", "pads", "value"), List.of("y"), stringAttr("mode", "edge"))
            .fold("x", 1, 2, 4, 4);
        final Graph v9 = new ModelBuilder(9)
            .input("x", 1, 2, 4, 4).output("y", 1, 2, 6, 6)
            .node("Pad", "pad", List.of("x"), List.of("y"), intsAttr("pads", 0, 0, 1, 1, 0, 0, 1, 1))
            .fold("x", 1, 2, 4, 4);

        final Node p = node(v11, "pad");
        assertEquals(List.of("x"), p.inputs());
        assertEquals("edge", p.attrString("mode", null));
        assertArrayEquals(new long[]{0, 0, 1, 0, 0, 0, 2, 1}, p.attrInts("pads", null));
        assertEquals(0.5f, p.attrFloat("value", Float.NaN), EXACT);
        assertArrayEquals(new long[]{1, 2, 7, 5}, v11.shape("y"));
        assertEquals("constant", node(v9, "pad").attrString("mode", null));
        assertEquals(0f, node(v9, "pad").attrFloat("value", Float.NaN), EXACT);
        assertArrayEquals(new long[]{1, 2, 6, 6}, v9.shape("y"));
    }

    @Test
    void shouldNormalizeSoftmaxAxisAndSemantics()
    {
        final Graph v11 = new ModelBuilder(11)
            .input("x", 1, 10).output("y", 1, 10)
            .node("Softmax", "sm", List.of("x"), List.of("y"))
            .fold("x", 1, 10);
        final Graph v13 = new ModelBuilder(13)
            .input("x", 1, 2, 5).output("y", 1, 2, 5)
            .node("Softmax", "sm", List.of("x"), List.of("y"))
            .fold("x", 1, 2, 5);

        assertEquals(1, node(v11, "sm").attrInt("axis", -1));
        assertEquals(1, node(v11, "sm").attrInt("coerce2d", -1));
        assertEquals(2, node(v13, "sm").attrInt("axis", -1));
        assertEquals(0, node(v13, "sm").attrInt("coerce2d", -1));
    }

    @Test
    void shouldMakeGemmAttributesExplicitAndAcceptRuntimeB()
    {
        final Graph gemm = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 3)
            .weights("w", new long[]{3, 4}, new float[12])
            .weights("c", new long[]{3}, new float[3])
            .node("Gemm", "fc", List.of("x", "w", "c"), List.of("y"), intAttr("transB", 1))
            .fold("x", 1, 4);
        final ModelBuilder runtimeB = new ModelBuilder(13)
            .input("x", 1, 4).input("b", 4, 3).output("y", 1, 3)
            .node("MatMul", "mm", List.of("x", "b"), List.of("y"));

        final Node fc = node(gemm, "fc");
        assertEquals(1f, fc.attrFloat("alpha", Float.NaN), EXACT);
        assertEquals(1f, fc.attrFloat("beta", Float.NaN), EXACT);
        assertEquals(0, fc.attrInt("transA", -1));
        assertEquals(1, fc.attrInt("transB", -1));
        assertArrayEquals(new long[]{1, 3}, gemm.shape("y"));
        final Graph mm = ShapeInference.fold(runtimeB.load(), Map.of("x", new long[]{1, 4}, "b", new long[]{4, 3}));
        assertEquals(List.of("x", "b"), node(mm, "mm").inputs());
        assertArrayEquals(new long[]{1, 3}, mm.shape("y"));
    }

    @Test
    void shouldRewriteSpatialReduceMeanAsGlobalAveragePool()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 8, 5, 5).output("y", 1, 8, 1, 1)
            .node("ReduceMean", "mean", List.of("x"), List.of("y"), intsAttr("axes", -1, 2))
            .fold("x", 1, 8, 5, 5);
        final ModelBuilder overChannels = new ModelBuilder(13)
            .input("x", 1, 8, 5, 5).output("y", 1, 1, 5, 5)
            .node("ReduceMean", "mean", List.of("x"), List.of("y"), intsAttr("axes", 1));

        assertEquals("GlobalAveragePool", node(g, "mean").opType());
        assertArrayEquals(new long[]{1, 8, 1, 1}, g.shape("y"));
        final Graph channels = overChannels.fold("x", 1, 8, 5, 5);
        assertEquals("Reduce", node(channels, "mean").opType());
        assertArrayEquals(new long[]{1}, node(channels, "mean").attrInts("axes", null));
        assertArrayEquals(new long[]{1, 1, 5, 5}, channels.shape("y"));
    }

    @Test
    void shouldRemoveIdentityAndDropoutKeepingOutputNames()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 4)
            .node("Dropout", "drop", List.of("x"), List.of("d", "mask"))
            .node("Relu", "relu", List.of("d"), List.of("r"))
            .node("Identity", "id", List.of("r"), List.of("y"))
            .fold("x", 1, 4);

        assertEquals(List.of("Relu"), ops(g));
        assertEquals(List.of("x"), node(g, "relu").inputs());
        assertEquals(List.of("y"), node(g, "relu").outputs());
        assertEquals(List.of("y"), g.outputs());
        assertArrayEquals(new long[]{1, 4}, g.shape("y"));
    }

    @Test
    void shouldDropNodesThatReachNoOutput()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 4)
            .node("Sigmoid", "unused", List.of("x"), List.of("s"))
            .node("Relu", "relu", List.of("x"), List.of("y"))
            .fold("x", 1, 4);

        assertEquals(List.of("Relu"), ops(g));
        assertFalse(g.shapes().containsKey("s"));
    }

    @Test
    void shouldNameUnsupportedOperatorAndNode()
    {
        final ModelBuilder m = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 4)
            .node("Einsum", "einsum_7", List.of("x"), List.of("y"));

        assertEquals("unsupported operator Einsum in node 'einsum_7'", error(() -> m.fold("x", 1, 4)).getMessage());
    }

    private static ModelBuilder image()
    {
        return new ModelBuilder(13)
            .input("x", -1, 3, -1, -1).output("y", -1, 3, -1, -1)
            .node("Relu", "relu", List.of("x"), List.of("y"));
    }

    @Test
    void shouldRejectWrongInputRank()
    {
        assertEquals("input 'x' expects rank 4, shape [-1, 3, -1, -1] (-1 is any size), given [1, 3, 224] of rank 3",
            error(() -> image().fold("x", 1, 3, 224)).getMessage());
    }

    @Test
    void shouldRejectInputShapeThatContradictsStaticDims()
    {
        assertEquals("input 'x' expects shape [-1, 3, -1, -1] (-1 is any size), given [1, 4, 224, 224]: dim 1 " +
            "must be 3", error(() -> image().fold("x", 1, 4, 224, 224)).getMessage());
    }

    @Test
    void shouldRejectNonPositiveInputDims()
    {
        assertEquals("input 'x' expects shape [-1, 3, -1, -1] (-1 is any size), given [1, 3, 0, 224]: every dim " +
            "must be positive", error(() -> image().fold("x", 1, 3, 0, 224)).getMessage());
        assertTrue(error(() -> image().fold("x", 1, 3, -2, 224)).getMessage().endsWith("every dim must be positive"));
    }

    @Test
    void shouldRequireDimsForDynamicInputsOnly()
    {
        final Graph raw = image().load();
        final Graph fixed = new ModelBuilder(13).input("x", 1, 3, 8, 8).output("y", 1, 3, 8, 8)
            .node("Relu", "relu", List.of("x"), List.of("y")).load();

        assertEquals("input 'x' has dynamic dims [-1, 3, -1, -1]; give its dims",
            error(() -> ShapeInference.fold(raw, Map.of())).getMessage());
        assertArrayEquals(new long[]{1, 3, 8, 8}, ShapeInference.fold(fixed, Map.of()).shape("y"));
        assertTrue(error(() -> ShapeInference.fold(raw, Map.of("x", new long[]{1, 3, 8, 8}, "z", new long[]{1})))
            .getMessage().startsWith("dims given for 'z', which is not an input of the model"));
        assertArrayEquals(new long[]{2, 3, 8, 8}, image().fold("x", 2, 3, 8, 8).shape("x"));
    }

    @Test
    void shouldNameConcatNodeAndShapesOnMismatch()
    {
        final ModelBuilder m = new ModelBuilder(13)
            .input("a", 1, 2, 4, 4).input("b", 1, 3, 5, 4).output("y", 1, 5, 4, 4)
            .node("Concat", "cat", List.of("a", "b"), List.of("y"), intAttr("axis", 1));

        final ModelException ex = error(() -> ShapeInference.fold(m.load(), Map.of()));

        assertEquals("Concat 'cat': cannot concatenate on axis 1 inputs of shapes [1, 2, 4, 4], [1, 3, 5, 4]: all " +
            "dims but the axis must match", ex.getMessage());
    }

    @Test
    void shouldNameNodeAndShapesOnBadBroadcastOrConstant()
    {
        final ModelBuilder add = new ModelBuilder(13)
            .input("a", 1, 2, 4, 4).input("b", 1, 2, 3, 4).output("y", 1, 2, 4, 4)
            .node("Add", "add", List.of("a", "b"), List.of("y"));
        final ModelBuilder bn = new ModelBuilder(13)
            .input("x", 1, 2, 4, 4).output("y", 1, 2, 4, 4)
            .weights("s", new long[]{3}, new float[3])
            .weights("b", new long[]{2}, new float[2])
            .node("BatchNormalization", "bn", List.of("x", "s", "b", "b", "b"), List.of("y"));

        assertEquals("Add 'add': cannot broadcast [1, 2, 4, 4] with [1, 2, 3, 4]",
            error(() -> ShapeInference.fold(add.load(), Map.of())).getMessage());
        assertEquals("BatchNormalization 'bn': the scale [3] must be [2] for input [1, 2, 4, 4]",
            error(() -> ShapeInference.fold(bn.load(), Map.of())).getMessage());
    }

    @Test
    void shouldNormalizeOneAndThreeDimensionalWindows()
    {
        final ModelBuilder conv1d = new ModelBuilder(13)
            .input("x", 1, 2, 9).output("y", 1, 4, 7)
            .weights("w", new long[]{4, 2, 3}, new float[24])
            .node("Conv", "c1", List.of("x", "w"), List.of("y"));
        final ModelBuilder pool3d = new ModelBuilder(13)
            .input("x", 1, 2, 4, 4, 4).output("y", 1, 2, 2, 2, 2)
            .node("MaxPool", "p3", List.of("x"), List.of("y"), intsAttr("kernel_shape", 2, 2, 2),
                intsAttr("strides", 2, 2, 2));

        final Graph c1 = ShapeInference.fold(conv1d.load(), Map.of());
        final Graph p3 = ShapeInference.fold(pool3d.load(), Map.of());
        assertArrayEquals(new long[]{1, 4, 7}, c1.shape("y"));
        assertArrayEquals(new long[]{0, 0}, node(c1, "c1").attrInts("pads", null));
        assertArrayEquals(new long[]{1, 2, 2, 2, 2}, p3.shape("y"));
        assertArrayEquals(new long[]{2, 2, 2}, node(p3, "p3").attrInts("kernel_shape", null));
    }

    @Test
    void shouldRejectConvWeightsThatDoNotFitInput()
    {
        final ModelBuilder m = new ModelBuilder(13)
            .input("x", 1, 4, 8, 8).output("y", 1, 4, 8, 8)
            .weights("w", new long[]{4, 2, 3, 3}, new float[72])
            .node("Conv", "dw", List.of("x", "w"), List.of("y"), intAttr("group", 4));

        assertEquals("Conv 'dw': weights [4, 2, 3, 3] with group 4 do not fit input [1, 4, 8, 8]",
            error(() -> ShapeInference.fold(m.load(), Map.of())).getMessage());
    }

    @Test
    void shouldFoldShapeWithStartAndEnd()
    {
        final Graph g = new ModelBuilder(15)
            .input("x", 1, 3, 4, 5).output("y", 3, 20)
            .initializer(int64s("minusOne", new long[]{1}, new long[]{-1}))
            .node("Shape", "shape", List.of("x"), List.of("s"), intAttr("start", 1), intAttr("end", 2))
            .node("Concat", "cat", List.of("s", "minusOne"), List.of("t"), intAttr("axis", 0))
            .node("Reshape", "r", List.of("x", "t"), List.of("y"))
            .fold("x", 1, 3, 4, 5);

        assertArrayEquals(new long[]{3, 20}, node(g, "r").attrInts("shape", null));
    }

    @Test
    void shouldKeepConstantOperandsAsInputs()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 2, 3, 3).output("y", 1, 2, 3, 3)
            .weights("bias", new long[]{2}, new float[]{1, 2})
            .ints("shape", 1, 2, 1, 1)
            .weights("slope", new long[]{2, 1, 1}, new float[]{0.1f, 0.2f})
            .node("Reshape", "rb", List.of("bias", "shape"), List.of("b4"))
            .node("Add", "add", List.of("x", "b4"), List.of("a"))
            .node("PRelu", "prelu", List.of("a", "slope"), List.of("y"))
            .fold("x", 1, 2, 3, 3);

        assertEquals(List.of("Add", "PRelu"), ops(g));
        assertArrayEquals(new long[]{1, 2, 1, 1}, g.constants().get("b4").dims());
        assertArrayEquals(new float[]{1, 2}, g.constants().get("b4").floats(), EXACT);
        assertTrue(g.isConstant("slope"));
        assertFalse(g.isConstant("bias"));
    }

    @Test
    void shouldKeepLegacyAttributesExplicit()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 4, 5, 5).output("y", 1, 4, 5, 5)
            .node("LeakyRelu", "leaky", List.of("x"), List.of("a"))
            .node("HardSigmoid", "hs", List.of("a"), List.of("b"))
            .node("LRN", "lrn", List.of("b"), List.of("y"), intAttr("size", 3))
            .fold("x", 1, 4, 5, 5);

        assertEquals(0.01f, node(g, "leaky").attrFloat("alpha", Float.NaN), EXACT);
        assertEquals(0.2f, node(g, "hs").attrFloat("alpha", Float.NaN), EXACT);
        assertEquals(0.5f, node(g, "hs").attrFloat("beta", Float.NaN), EXACT);
        final Node lrn = node(g, "lrn");
        assertEquals(1e-4f, lrn.attrFloat("alpha", Float.NaN), EXACT);
        assertEquals(0.75f, lrn.attrFloat("beta", Float.NaN), EXACT);
        assertEquals(1f, lrn.attrFloat("bias", Float.NaN), EXACT);
        assertEquals(3, lrn.attrInt("size", -1));
    }

    @Test
    void shouldAcceptUpsampleScalesAttributeAtOpset7()
    {
        final Graph g = new ModelBuilder(7)
            .input("x", 1, 3, 4, 4).output("y", 1, 3, 8, 12)
            .node("Upsample", "up", List.of("x"), List.of("y"), floatsAttr("scales", 1, 1, 2, 3),
                stringAttr("mode", "linear"))
            .fold("x", 1, 3, 4, 4);

        assertEquals("linear", node(g, "up").attrString("mode", null));
        assertArrayEquals(new long[]{1, 3, 8, 12}, g.shape("y"));
    }

    @Test
    void shouldReportUsedExtraOutputs()
    {
        final ModelBuilder m = new ModelBuilder(13)
            .input("x", 1, 1, 4, 4).output("y", 1, 1, 2, 2).output("i", 1, 1, 2, 2)
            .node("MaxPool", "mp", List.of("x"), List.of("y", "i"), intsAttr("kernel_shape", 2, 2),
                intsAttr("strides", 2, 2));

        assertEquals("MaxPool 'mp': output 1 ('i') is used, but only the first output of MaxPool is supported",
            error(() -> ShapeInference.fold(m.load(), Map.of())).getMessage());
    }

    @Test
    void shouldNotChangeRawConstantsWhenFolding()
    {
        final Graph raw = new ModelBuilder(13)
            .input("x", 1, 2).output("y", 1, 2)
            .initializer(rawFloats("c", new long[]{2}, new float[]{1, 2}))
            .node("Mul", "square", List.of("c", "c"), List.of("c2"))
            .node("Add", "add", List.of("x", "c2"), List.of("y"))
            .load();

        final Graph g = ShapeInference.fold(raw, Map.of());

        assertArrayEquals(new float[]{1, 4}, g.constants().get("c2").floats(), EXACT);
        assertEquals(List.of("c"), List.copyOf(raw.constants().keySet()));
    }

    @Test
    void shouldSortNodesGivenOutOfOrderAndRejectUndefinedInputs()
    {
        final Graph g = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 4)
            .node("Sigmoid", "second", List.of("r"), List.of("y"))
            .node("Relu", "first", List.of("x"), List.of("r"))
            .fold("x", 1, 4);
        final ModelBuilder undefined = new ModelBuilder(13)
            .input("x", 1, 4).output("y", 1, 4)
            .node("Add", "add", List.of("x", "ghost"), List.of("y"));

        assertEquals(List.of("first", "second"), g.nodes().stream().map(Node::name).toList());
        assertEquals("Add 'add': input 'ghost' is not produced by any node",
            error(() -> undefined.fold("x", 1, 4)).getMessage());
    }

    @Test
    void shouldRequireConstantReshapeTarget()
    {
        final ModelBuilder m = new ModelBuilder(13)
            .input("x", 1, 4).input("s", 2).output("y", 4, 1)
            .node("Reshape", "r", List.of("x", "s"), List.of("y"));

        assertEquals("Reshape 'r': the shape (input 1, 's') must be a constant",
            error(() -> ShapeInference.fold(m.load(), Map.of("s", new long[]{2}))).getMessage());
    }
}
