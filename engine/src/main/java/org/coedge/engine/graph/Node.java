package org.coedge.engine.graph;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * One operator of the graph, as the model states it: type, name, input and output value names (an empty input name
 * is an omitted optional input), attributes. Immutable; cold path only.
 */
public final class Node
{
    private final String opType;
    private final String name;
    private final List<String> inputs;
    private final List<String> outputs;
    private final Map<String, Attribute> attributes;

    public Node(final String opType, final String name, final List<String> inputs, final List<String> outputs,
        final Map<String, Attribute> attributes)
    {
        this.opType = opType;
        this.name = name;
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.attributes = Collections.unmodifiableMap(new java.util.LinkedHashMap<>(attributes));
    }

    public String opType()
    {
        return opType;
    }

    public String name()
    {
        return name;
    }

    public List<String> inputs()
    {
        return inputs;
    }

    /** @return input {@code i}, or "" when absent or omitted. */
    public String input(final int i)
    {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    public List<String> outputs()
    {
        return outputs;
    }

    public String output(final int i)
    {
        return outputs.get(i);
    }

    public Map<String, Attribute> attributes()
    {
        return attributes;
    }

    public boolean has(final String attribute)
    {
        return attributes.containsKey(attribute);
    }

    public long attrInt(final String attribute, final long defaultValue)
    {
        final Attribute a = attributes.get(attribute);
        return a == null ? defaultValue : a.asInt();
    }

    public float attrFloat(final String attribute, final float defaultValue)
    {
        final Attribute a = attributes.get(attribute);
        return a == null ? defaultValue : a.asFloat();
    }

    public String attrString(final String attribute, final String defaultValue)
    {
        final Attribute a = attributes.get(attribute);
        return a == null ? defaultValue : a.asString();
    }

    /** @return the ints, or {@code defaultValue} (may be null) when absent. */
    public long[] attrInts(final String attribute, final long[] defaultValue)
    {
        final Attribute a = attributes.get(attribute);
        return a == null ? defaultValue : a.asInts();
    }

    public float[] attrFloats(final String attribute, final float[] defaultValue)
    {
        final Attribute a = attributes.get(attribute);
        return a == null ? defaultValue : a.asFloats();
    }

    /** @return e.g. {@code Conv 'conv1'}, for error messages. */
    public String describe()
    {
        return opType + " '" + name + "'";
    }

    @Override
    public String toString()
    {
        return describe() + " " + inputs + " -> " + outputs + " " + attributes.values();
    }
}
