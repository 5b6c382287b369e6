package org.coedge.engine.graph;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's computation as plain data, before lowering to kernels.
 * <p>
 * As imported ({@code OnnxImporter}), {@link #shapes()} holds what the file declares, with {@code -1} for a dynamic
 * dimension. After {@code ShapeInference.fold} with concrete input shapes, every value named by a node has a static
 * shape in {@link #shapes()}, every computation on constants has been evaluated into {@link #constants()}, and
 * {@link #nodes()} holds only operators on runtime data, in topological order. Immutable; cold path only.
 */
public final class Graph
{
    private final String name;
    private final int opsetVersion;
    private final List<String> inputs;
    private final List<String> outputs;
    private final List<Node> nodes;
    private final Map<String, ConstTensor> constants;
    private final Map<String, long[]> shapes;
    private final Set<String> integerInputs;

    public Graph(final String name, final int opsetVersion, final List<String> inputs, final List<String> outputs,
        final List<Node> nodes, final Map<String, ConstTensor> constants, final Map<String, long[]> shapes)
    {
        this(name, opsetVersion, inputs, outputs, nodes, constants, shapes, Set.of());
    }

    /**
     * @param integerInputs the runtime inputs of an integer type (int64, int32), which only set shapes: they must be
     *                      bound to values ({@code Model.bindIntegerInputs}) before the graph is folded.
     */
    public Graph(final String name, final int opsetVersion, final List<String> inputs, final List<String> outputs,
        final List<Node> nodes, final Map<String, ConstTensor> constants, final Map<String, long[]> shapes,
        final Set<String> integerInputs)
    {
        this.integerInputs = Set.copyOf(integerInputs);
        this.name = name;
        this.opsetVersion = opsetVersion;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.nodes = List.copyOf(nodes);
        this.constants = Collections.unmodifiableMap(new LinkedHashMap<>(constants));
        this.shapes = Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
    }

    public String name()
    {
        return name;
    }

    /** @return the default-domain opset the model imports. */
    public int opsetVersion()
    {
        return opsetVersion;
    }

    /** @return names of the runtime inputs (initializers excluded), in model order. */
    public List<String> inputs()
    {
        return inputs;
    }

    /** @return the runtime inputs of an integer type, which set shapes and are bound to values before folding. */
    public Set<String> integerInputs()
    {
        return integerInputs;
    }

    public List<String> outputs()
    {
        return outputs;
    }

    public List<Node> nodes()
    {
        return nodes;
    }

    public Map<String, ConstTensor> constants()
    {
        return constants;
    }

    /** @return value name to dims; {@code -1} marks a dynamic dimension. */
    public Map<String, long[]> shapes()
    {
        return shapes;
    }

    /** @return the dims of value {@code value}, or throws naming it. */
    public long[] shape(final String value)
    {
        final long[] s = shapes.get(value);
        if (s == null)
        {
            final ConstTensor c = constants.get(value);
            if (c != null)
            {
                return c.dims();
            }
            throw new ModelException("no shape known for value '" + value + "'");
        }
        return s.clone();
    }

    public boolean isConstant(final String value)
    {
        return constants.containsKey(value);
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("Graph '" + name + "' opset " + opsetVersion + "\n");
        for (final String in : inputs)
        {
            sb.append("  input ").append(in).append(' ').append(Arrays.toString(shapes.get(in))).append('\n');
        }
        for (final Node n : nodes)
        {
            sb.append("  ").append(n).append('\n');
        }
        return sb.toString();
    }
}
