package org.coedge.engine.graph;

import java.util.Arrays;

/** One node attribute, already decoded from the model. Immutable by convention. */
public final class Attribute
{
    /** What the attribute holds. */
    public enum Type
    {
        INT, FLOAT, STRING, INTS, FLOATS, TENSOR
    }

    private final String name;
    private final Type type;
    private final Object value;

    private Attribute(final String name, final Type type, final Object value)
    {
        this.name = name;
        this.type = type;
        this.value = value;
    }

    public static Attribute ofInt(final String name, final long v)
    {
        return new Attribute(name, Type.INT, v);
    }

    public static Attribute ofFloat(final String name, final float v)
    {
        return new Attribute(name, Type.FLOAT, v);
    }

    public static Attribute ofString(final String name, final String v)
    {
        return new Attribute(name, Type.STRING, v);
    }

    public static Attribute ofInts(final String name, final long[] v)
    {
        return new Attribute(name, Type.INTS, v.clone());
    }

    public static Attribute ofFloats(final String name, final float[] v)
    {
        return new Attribute(name, Type.FLOATS, v.clone());
    }

    public static Attribute ofTensor(final String name, final ConstTensor v)
    {
        return new Attribute(name, Type.TENSOR, v);
    }

    public String name()
    {
        return name;
    }

    public Type type()
    {
        return type;
    }

    public long asInt()
    {
        return as(Type.INT, Long.class);
    }

    public float asFloat()
    {
        if (type == Type.INT)
        {
            return (Long)value;
        }
        return as(Type.FLOAT, Float.class);
    }

    public String asString()
    {
        return as(Type.STRING, String.class);
    }

    public long[] asInts()
    {
        return as(Type.INTS, long[].class).clone();
    }

    public float[] asFloats()
    {
        return as(Type.FLOATS, float[].class).clone();
    }

    public ConstTensor asTensor()
    {
        return as(Type.TENSOR, ConstTensor.class);
    }

    private <T> T as(final Type expected, final Class<T> cls)
    {
        if (type != expected)
        {
            throw new ModelException("attribute '" + name + "' is " + type + ", expected " + expected);
        }
        return cls.cast(value);
    }

    @Override
    public String toString()
    {
        final String v;
        if (value instanceof long[])
        {
            v = Arrays.toString((long[])value);
        }
        else if (value instanceof float[])
        {
            v = Arrays.toString((float[])value);
        }
        else
        {
            v = String.valueOf(value);
        }
        return name + "=" + v;
    }
}
