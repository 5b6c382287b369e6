package org.coedge.engine.testbed;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonToken;

/**
 * Reads the one-object JSON that {@code coedge run --json} prints and the trace files it writes, with Gson: objects
 * become {@link Map}s (in document order), arrays {@link List}s, numbers {@link Double}s, plus strings, booleans and
 * null. A malformed text is an {@link IllegalArgumentException} naming what is wrong. Cold path, any thread.
 */
public final class JsonReader
{
    private static final TypeAdapter<Object> VALUES = new Gson().getAdapter(Object.class);

    private JsonReader()
    {
    }

    /** @return the value {@code text} holds. */
    public static Object parse(final String text)
    {
        try
        {
            final com.google.gson.stream.JsonReader reader = new com.google.gson.stream.JsonReader(
                new StringReader(text));
            reader.setLenient(false);
            final Object value = VALUES.read(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT)
            {
                throw new IllegalArgumentException("bad JSON: text after the value at " + reader.getPath());
            }
            return value;
        }
        catch (final IOException | JsonParseException | IllegalStateException e)
        {
            throw new IllegalArgumentException("bad JSON: " + e.getMessage(), e);
        }
    }

    /** @return the object {@code text} holds. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(final String text)
    {
        final Object v = parse(text);
        if (!(v instanceof Map))
        {
            throw new IllegalArgumentException("not a JSON object");
        }
        return (Map<String, Object>)v;
    }

    /** @return {@code m.get(key)} as a number; NaN when missing. */
    public static double num(final Map<String, Object> m, final String key)
    {
        final Object v = m.get(key);
        return v instanceof Double ? (Double)v : Double.NaN;
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> obj(final Map<String, Object> m, final String key)
    {
        final Object v = m.get(key);
        return v instanceof Map ? (Map<String, Object>)v : Map.of();
    }

    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> objects(final Map<String, Object> m, final String key)
    {
        final Object v = m.get(key);
        final List<Map<String, Object>> out = new ArrayList<>();
        if (v instanceof List)
        {
            for (final Object o : (List<Object>)v)
            {
                if (o instanceof Map)
                {
                    out.add((Map<String, Object>)o);
                }
            }
        }
        return out;
    }
}
