package org.coedge.engine.onnx;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Checks that a model's integer (int64, int32) runtime inputs only feed shape arithmetic, as a sample rate, a shape
 * or a size does: the engine computes in float32, so it reads such an input's value from the caller's file when the
 * model is prepared ({@code Model.bindIntegerInputs}) and folds it with the constants, as ONNX Runtime's shape
 * inference would for a fixed value. An input may pass through any node that is then entirely static (constants,
 * other integer inputs, {@code Shape} / {@code Size} of anything, and what is computed from those alone) and must end
 * in an operand that sets a shape, a bound or an axis ({@link #SHAPE_OPERANDS}); one that reaches tensor data is
 * refused in one line naming the input, the node and why.
 * <p>
 * Called by {@link OnnxImporter} once per load, on the caller's thread; stateless.
 */
final class IntegerInputs
{
    /** Operands, by operator, that set a shape, a bound, an axis or a count rather than carry data. */
    private static final Map<String, Set<Integer>> SHAPE_OPERANDS = Map.ofEntries(
        Map.entry("Reshape", Set.of(1)),
        Map.entry("Expand", Set.of(1)),
        Map.entry("Tile", Set.of(1)),
        Map.entry("ConstantOfShape", Set.of(0)),
        Map.entry("Range", Set.of(0, 1, 2)),
        Map.entry("Resize", Set.of(1, 2, 3)),
        Map.entry("Upsample", Set.of(1)),
        Map.entry("Slice", Set.of(1, 2, 3, 4)),
        Map.entry("Squeeze", Set.of(1)),
        Map.entry("Unsqueeze", Set.of(1)),
        Map.entry("Pad", Set.of(1, 3)),
        Map.entry("Split", Set.of(1)),
        Map.entry("ReduceMean", Set.of(1)),
        Map.entry("ReduceSum", Set.of(1)),
        Map.entry("ReduceMax", Set.of(1)),
        Map.entry("ReduceMin", Set.of(1)),
        Map.entry("ReduceL2", Set.of(1)),
        Map.entry("ReduceProd", Set.of(1)),
        Map.entry("TopK", Set.of(1)));

    private IntegerInputs()
    {
    }

    /**
     * @param source        the model's name, for errors.
     * @param nodes         the graph's nodes in file (topological) order.
     * @param constants     its constants.
     * @param integerInputs its integer runtime inputs.
     * @throws ModelException if an integer input reaches an operand that carries tensor data.
     */
    static void check(
        final String source, final List<Node> nodes, final Map<String, ConstTensor> constants,
        final Set<String> integerInputs, final List<String> outputs)
    {
        if (integerInputs.isEmpty())
        {
            return;
        }
        // Which integer input each derived static value comes from, to name it in a refusal.
        final Map<String, String> origin = new java.util.HashMap<>();
        for (final String in : integerInputs)
        {
            origin.put(in, in);
        }
        final Set<String> fixed = new HashSet<>(constants.keySet());
        fixed.addAll(integerInputs);
        for (final Node n : nodes)
        {
            final boolean shapeOf = "Shape".equals(n.opType()) || "Size".equals(n.opType());
            boolean allFixed = true;
            String from = null;
            int at = -1;
            for (int i = 0; i < n.inputs().size(); i++)
            {
                final String v = n.input(i);
                if (v.isEmpty())
                {
                    continue;
                }
                allFixed &= fixed.contains(v);
                if (origin.containsKey(v) && !SHAPE_OPERANDS.getOrDefault(n.opType(), Set.of()).contains(i) &&
                    from == null)
                {
                    from = origin.get(v);
                    at = i;
                }
            }
            if (shapeOf || allFixed)
            {
                fixed.addAll(n.outputs());
                if (from != null && !shapeOf)
                {
                    for (final String out : n.outputs())
                    {
                        origin.put(out, from);
                    }
                }
                continue;
            }
            if (from != null)
            {
                throw new ModelException(source + ": input '" + from + "' has an integer type and reaches " +
                    n.opType() + " '" + n.name() + "' as operand " + at + " beside tensor data; the engine " +
                    "computes in float32 and takes integer inputs only where they set shapes (Reshape / Expand / " +
                    "Tile shapes, Slice bounds, Resize sizes, ConstantOfShape, Range, axes)");
            }
        }
        for (final String out : outputs)
        {
            if (origin.containsKey(out))
            {
                throw new ModelException(source + ": output '" + out + "' is computed from the integer input '" +
                    origin.get(out) + "' alone; the engine computes its outputs from float32 inputs");
            }
        }
    }
}
