package org.coedge.engine.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConstantFolderTest
{
    private static final float EXACT = 0f;
    private static final float MATH_TOLERANCE = 1e-6f;

    private static ConstTensor longs(final long[] dims, final long... v)
    {
        return ConstTensor.ofLongs(dims, v);
    }

    private static ConstTensor vector(final long... v)
    {
        return ConstTensor.ofLongs(new long[]{v.length}, v);
    }

    private static ConstTensor eval(final String op, final int opset, final List<Attribute> attributes,
        final ConstTensor... inputs)
    {
        final Map<String, Attribute> a = new LinkedHashMap<>();
        for (final Attribute x : attributes)
        {
            a.put(x.name(), x);
        }
        final List<String> names = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++)
        {
            names.add(inputs[i] == null ? "" : "in" + i);
        }
        return ConstantFolder.evaluate(new Node(op, op.toLowerCase(), names, List.of("out"), a),
            Arrays.asList(inputs), opset);
    }

    @Test
    void shouldSliceWithNegativeStepsAndClampedEnds()
    {
        final ConstTensor data = vector(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);

        final ConstTensor backwards = eval("Slice", 13, List.of(), data, vector(-1), vector(Long.MIN_VALUE),
            vector(0), vector(-2));
        final ConstTensor all = eval("Slice", 13, List.of(), data, vector(2), vector(Long.MAX_VALUE));
        final ConstTensor legacy = eval("Slice", 9, List.of(Attribute.ofInts("starts", new long[]{1}),
            Attribute.ofInts("ends", new long[]{-1})), data);

        assertArrayEquals(new long[]{9, 7, 5, 3, 1}, backwards.longs());
        assertArrayEquals(new long[]{2, 3, 4, 5, 6, 7, 8, 9}, all.longs());
        assertArrayEquals(new long[]{1, 2, 3, 4, 5, 6, 7, 8}, legacy.longs());
    }

    @Test
    void shouldSliceInnerAxisOfMatrix()
    {
        final ConstTensor m = longs(new long[]{2, 3}, 1, 2, 3, 4, 5, 6);

        final ConstTensor cols = eval("Slice", 13, List.of(), m, vector(1), vector(3), vector(1));

        assertArrayEquals(new long[]{2, 2}, cols.dims());
        assertArrayEquals(new long[]{2, 3, 5, 6}, cols.longs());
    }

    @Test
    void shouldGatherWithNegativeIndicesAndRejectOutOfRange()
    {
        final ConstTensor m = longs(new long[]{2, 3}, 1, 2, 3, 4, 5, 6);

        final ConstTensor lastColumn = eval("Gather", 13, List.of(Attribute.ofInt("axis", 1)), m,
            longs(new long[0], -1));
        final ConstTensor rows = eval("Gather", 13, List.of(), m, vector(1, 0));

        assertArrayEquals(new long[]{2}, lastColumn.dims());
        assertArrayEquals(new long[]{3, 6}, lastColumn.longs());
        assertArrayEquals(new long[]{4, 5, 6, 1, 2, 3}, rows.longs());
        assertThrows(ModelException.class, () -> eval("Gather", 13, List.of(), m, vector(2)));
    }

    @Test
    void shouldCastLikeOnnxRuntime()
    {
        final ConstTensor wrapped = eval("Cast", 13, List.of(Attribute.ofInt("to", 6)), vector(Long.MAX_VALUE, 7));
        final ConstTensor truncated = eval("Cast", 13, List.of(Attribute.ofInt("to", 7)),
            ConstTensor.ofFloats(new long[]{3}, new float[]{-2.7f, 2.7f, 0f}));
        final ConstTensor bool = eval("Cast", 13, List.of(Attribute.ofInt("to", 9)),
            ConstTensor.ofFloats(new long[]{2}, new float[]{0.5f, 0f}));
        final ConstTensor floats = eval("Cast", 13, List.of(Attribute.ofInt("to", 1)), vector(3));

        assertArrayEquals(new long[]{-1, 7}, wrapped.longs());
        assertArrayEquals(new long[]{-2, 2, 0}, truncated.longs());
        assertArrayEquals(new long[]{1, 0}, bool.longs());
        assertTrue(floats.isFloat());
    }

    @Test
    void shouldComputeIntegerAndFloatArithmeticWithBroadcasting()
    {
        final ConstTensor quotient = eval("Div", 13, List.of(), vector(-7, 7), longs(new long[0], 2));
        final ConstTensor sum = eval("Add", 13, List.of(),
            ConstTensor.ofFloats(new long[]{2, 1}, new float[]{1, 2}),
            ConstTensor.ofFloats(new long[]{3}, new float[]{10, 20, 30}));
        final ConstTensor root = eval("Sqrt", 13, List.of(), ConstTensor.ofFloats(new long[]{1}, new float[]{2}));

        assertArrayEquals(new long[]{-3, 3}, quotient.longs());
        assertFalse(quotient.isFloat());
        assertArrayEquals(new long[]{2, 3}, sum.dims());
        assertArrayEquals(new float[]{11, 21, 31, 12, 22, 32}, sum.floats(), EXACT);
        assertEquals((float)Math.sqrt(2), root.floats()[0], MATH_TOLERANCE);
    }

    @Test
    void shouldEvaluateEqualWhereAndExpand()
    {
        final ConstTensor shape = vector(1, -1, 4);
        final ConstTensor isMinusOne = eval("Equal", 13, List.of(), shape, longs(new long[0], -1));
        final ConstTensor fixed = eval("Where", 13, List.of(), isMinusOne, vector(1, 1, 1), shape);
        final ConstTensor expanded = eval("Expand", 13, List.of(), longs(new long[]{3, 1}, 1, 2, 3),
            vector(2, 1, 4));

        assertArrayEquals(new long[]{0, 1, 0}, isMinusOne.longs());
        assertArrayEquals(new long[]{1, 1, 4}, fixed.longs());
        assertArrayEquals(new long[]{2, 3, 4}, expanded.dims());
        assertArrayEquals(new long[]{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
            expanded.longs());
    }

    @Test
    void shouldEvaluateRangeConstantOfShapeAndTranspose()
    {
        final ConstTensor range = eval("Range", 13, List.of(), longs(new long[0], 0), longs(new long[0], 10),
            longs(new long[0], 3));
        final ConstTensor floatRange = eval("Range", 13, List.of(), ConstTensor.ofFloats(new long[0], new float[]{1}),
            ConstTensor.ofFloats(new long[0], new float[]{2}), ConstTensor.ofFloats(new long[0], new float[]{0.25f}));
        final ConstTensor ones = eval("ConstantOfShape", 13,
            List.of(Attribute.ofTensor("value", longs(new long[]{1}, 1))), vector(2, 3));
        final ConstTensor zeros = eval("ConstantOfShape", 13, List.of(), vector(2));
        final ConstTensor transposed = eval("Transpose", 13, List.of(Attribute.ofInts("perm", new long[]{1, 0})),
            longs(new long[]{2, 3}, 1, 2, 3, 4, 5, 6));

        assertArrayEquals(new long[]{0, 3, 6, 9}, range.longs());
        assertArrayEquals(new float[]{1, 1.25f, 1.5f, 1.75f}, floatRange.floats(), EXACT);
        assertArrayEquals(new long[]{2, 3}, ones.dims());
        assertArrayEquals(new long[]{1, 1, 1, 1, 1, 1}, ones.longs());
        assertArrayEquals(new float[]{0, 0}, zeros.floats(), EXACT);
        assertArrayEquals(new long[]{3, 2}, transposed.dims());
        assertArrayEquals(new long[]{1, 4, 2, 5, 3, 6}, transposed.longs());
    }

    @Test
    void shouldConcatMixedTypesAsFloats()
    {
        final ConstTensor out = eval("Concat", 13, List.of(Attribute.ofInt("axis", 0)), vector(1, 2),
            ConstTensor.ofFloats(new long[]{1}, new float[]{0.5f}));

        assertTrue(out.isFloat());
        assertArrayEquals(new float[]{1, 2, 0.5f}, out.floats(), EXACT);
    }

    @Test
    void shouldReadUnsqueezeAxesFromAttributeOrInputByOpset()
    {
        final ConstTensor scalar = longs(new long[0], 5);

        final ConstTensor v11 = eval("Unsqueeze", 11, List.of(Attribute.ofInts("axes", new long[]{0})), scalar);
        final ConstTensor v13 = eval("Unsqueeze", 13, List.of(), scalar, vector(0, 1));

        assertArrayEquals(new long[]{1}, v11.dims());
        assertArrayEquals(new long[]{1, 1}, v13.dims());
        assertArrayEquals(new long[]{5}, v13.longs());
    }

    @Test
    void shouldClipAndTakeMinMax()
    {
        final ConstTensor x = ConstTensor.ofFloats(new long[]{3}, new float[]{-5, 0.5f, 9});

        final ConstTensor clipped = eval("Clip", 13, List.of(), x, ConstTensor.ofFloats(new long[0], new float[]{0}),
            ConstTensor.ofFloats(new long[0], new float[]{6}));
        final ConstTensor max = eval("Max", 13, List.of(), x, ConstTensor.ofFloats(new long[0], new float[]{1}));

        assertArrayEquals(new float[]{0, 0.5f, 6}, clipped.floats(), EXACT);
        assertArrayEquals(new float[]{1, 1, 9}, max.floats(), EXACT);
    }
}
