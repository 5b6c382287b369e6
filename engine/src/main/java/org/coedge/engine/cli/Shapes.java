package org.coedge.engine.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;

/** Parses {@code --shape} values on the command line. Cold path. */
final class Shapes
{
    private Shapes()
    {
    }

    static Map<String, long[]> parse(final List<String> specs, final List<String> inputs, final Model model)
    {
        final Map<String, long[]> dims = new LinkedHashMap<>();
        if (specs == null)
        {
            return dims;
        }
        for (final String spec : specs)
        {
            final int eq = spec.lastIndexOf('=');
            final String name = eq < 0 ? inputs.get(0) : spec.substring(0, eq);
            if (!inputs.contains(name))
            {
                throw new IllegalArgumentException("--shape names unknown input '" + name + "'; inputs are " +
                    inputs);
            }
            dims.put(name, parseDims(spec.substring(eq + 1)));
        }
        return dims;
    }

    static long[] parseDims(final String text)
    {
        final String[] parts = text.split("[x,]");
        final long[] dims = new long[parts.length];
        for (int i = 0; i < parts.length; i++)
        {
            try
            {
                dims[i] = Long.parseLong(parts[i].trim());
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException("bad dims '" + text + "': expected e.g. 1x3x224x224");
            }
            if (dims[i] < 1)
            {
                throw new IllegalArgumentException("bad dims '" + text + "': every dim must be positive");
            }
        }
        return dims;
    }

    static String format(final long[] dims)
    {
        return Arrays.toString(dims);
    }
}
