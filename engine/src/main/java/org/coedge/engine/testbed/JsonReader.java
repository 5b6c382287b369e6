package org.coedge.engine.testbed;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the one-object JSON that {@code coedge run --json} prints and the trace files it writes: objects become
 * {@link LinkedHashMap}s, arrays {@link List}s, numbers {@link Double}s, plus strings, booleans and null. Strict
 * enough for what the engine writes; a malformed text is an {@link IllegalArgumentException} with its offset.
 */
public final class JsonReader
{
    private final String text;
    private int pos;

    private JsonReader(final String text)
    {
        this.text = text;
    }

    public static Object parse(final String text)
    {
        final JsonReader r = new JsonReader(text);
        r.skipSpace();
        final Object v = r.value();
        r.skipSpace();
        if (r.pos != text.length())
        {
            throw r.error("text after the value");
        }
        return v;
    }

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

    private Object value()
    {
        if (pos >= text.length())
        {
            throw error("unexpected end");
        }
        final char c = text.charAt(pos);
        switch (c)
        {
            case '{':
                return object();
            case '[':
                return array();
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                return number();
        }
    }

    private Map<String, Object> object()
    {
        final Map<String, Object> m = new LinkedHashMap<>();
        pos++;
        skipSpace();
        if (peek() == '}')
        {
            pos++;
            return m;
        }
        while (true)
        {
            skipSpace();
            if (peek() != '"')
            {
                throw error("expected a key");
            }
            final String key = string();
            skipSpace();
            expect(':');
            skipSpace();
            m.put(key, value());
            skipSpace();
            if (peek() == ',')
            {
                pos++;
                continue;
            }
            expect('}');
            return m;
        }
    }

    private List<Object> array()
    {
        final List<Object> list = new ArrayList<>();
        pos++;
        skipSpace();
        if (peek() == ']')
        {
            pos++;
            return list;
        }
        while (true)
        {
            skipSpace();
            list.add(value());
            skipSpace();
            if (peek() == ',')
            {
                pos++;
                continue;
            }
            expect(']');
            return list;
        }
    }

    private String string()
    {
        expect('"');
        final StringBuilder sb = new StringBuilder();
        while (true)
        {
            if (pos >= text.length())
            {
                throw error("unterminated string");
            }
            final char c = text.charAt(pos++);
            if (c == '"')
            {
                return sb.toString();
            }
            if (c != '\\')
            {
                sb.append(c);
                continue;
            }
            if (pos >= text.length())
            {
                throw error("unterminated escape");
            }
            final char e = text.charAt(pos++);
            switch (e)
            {
                case 'n':
                    sb.append('\n');
                    break;
                case 't':
                    sb.append('\t');
                    break;
                case 'r':
                    sb.append('\r');
                    break;
                case 'b':
                    sb.append('\b');
                    break;
                case 'f':
                    sb.append('\f');
                    break;
                case 'u':
                    if (pos + 4 > text.length())
                    {
                        throw error("short \\u escape");
                    }
                    try
                    {
                        sb.append((char)Integer.parseInt(text.substring(pos, pos + 4), 16));
                    }
                    catch (final NumberFormatException ex)
                    {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                    break;
                default:
                    sb.append(e);
                    break;
            }
        }
    }

    private Object literal(final String word, final Object v)
    {
        if (!text.startsWith(word, pos))
        {
            throw error("expected " + word);
        }
        pos += word.length();
        return v;
    }

    private Double number()
    {
        final int start = pos;
        while (pos < text.length() && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0)
        {
            pos++;
        }
        try
        {
            return Double.valueOf(text.substring(start, pos));
        }
        catch (final NumberFormatException e)
        {
            throw error("expected a value");
        }
    }

    private char peek()
    {
        if (pos >= text.length())
        {
            throw error("unexpected end");
        }
        return text.charAt(pos);
    }

    private void expect(final char c)
    {
        if (peek() != c)
        {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private void skipSpace()
    {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos)))
        {
            pos++;
        }
    }

    private IllegalArgumentException error(final String what)
    {
        return new IllegalArgumentException("bad JSON at offset " + pos + ": " + what);
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
