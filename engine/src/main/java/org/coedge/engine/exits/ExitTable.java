package org.coedge.engine.exits;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import org.coedge.engine.api.Model;
import org.coedge.engine.graph.ModelException;

/**
 * The exits of a multi-exit model (BranchyNet style: side branches that end in a classifier, each a graph output),
 * as the sidecar file next to the model states them: {@code M.onnx} has {@code M.exits.json}. The exits are listed
 * from the earliest (cheapest) to the last; each names its graph output and carries its measured top-1 accuracy and
 * the number of labelled samples it was measured on, or a null accuracy where none was measured (random weights).
 * <pre>{@code
 * {
 *   "format": "coedge-exits/1",
 *   "weights": "trained",
 *   "data": "fashion-mnist t10k",
 *   "input": {"scale": 0.00392156862745098, "mean": 0.286, "std": 0.353},
 *   "exits": [
 *     {"index": 0, "output": "exit0", "top1": 0.8412, "correct": 8412, "samples": 10000},
 *     ...
 *   ]
 * }
 * }</pre>
 * {@code weights} is {@code "trained"} or {@code "random"}; {@code data} and {@code input} (how pixels were
 * normalised: {@code (pixel * scale - mean) / std}) are optional notes. Read with {@link #read}, checked against a
 * model with {@link #outputIndices}, written by {@code coedge exits} and {@code coedge zoo} through {@link #write}.
 * Immutable; cold path, any thread.
 */
public final class ExitTable
{
    /** The value of the sidecar's {@code format} field this class reads and writes. */
    public static final String FORMAT = "coedge-exits/1";
    public static final String TRAINED = "trained";
    public static final String RANDOM = "random";

    /** One exit: its position in the table, its graph output and, if measured, its top-1 accuracy. */
    public static final class Exit
    {
        private final int index;
        private final String output;
        private final Double top1;
        private final long correct;
        private final long samples;

        /**
         * @param top1    the measured accuracy in [0, 1], or null where none was measured.
         * @param correct how many of {@code samples} the exit's argmax got right (0 when not measured).
         */
        public Exit(final int index, final String output, final Double top1, final long correct, final long samples)
        {
            this.index = index;
            this.output = output;
            this.top1 = top1;
            this.correct = correct;
            this.samples = samples;
        }

        /** @return an exit measured on {@code samples} samples of which {@code correct} were classified right. */
        public static Exit measured(final int index, final String output, final long correct, final long samples)
        {
            return new Exit(index, output, samples == 0 ? null : (double)correct / samples, correct, samples);
        }

        public int index()
        {
            return index;
        }

        /** @return the name of the graph output this exit's classifier writes. */
        public String output()
        {
            return output;
        }

        /** @return the measured top-1 accuracy in [0, 1], or null where none was measured. */
        public Double top1()
        {
            return top1;
        }

        public long correct()
        {
            return correct;
        }

        public long samples()
        {
            return samples;
        }

        @Override
        public String toString()
        {
            return "exit " + index + " '" + output + "'" + (top1 == null ? " (accuracy not measured)" :
                String.format(Locale.ROOT, " top-1 %.4f on %d", top1, samples));
        }
    }

    private final String weights;
    private final String data;
    private final double[] input;
    private final List<Exit> exits;

    /**
     * @param weights {@link #TRAINED} or {@link #RANDOM}.
     * @param data    what the accuracies were measured on, or null.
     * @param input   {scale, mean, std} of the pixel normalisation, or null.
     * @throws IllegalArgumentException if the exits are not numbered 0..n-1 in order, name an output twice or carry
     *                                  an impossible accuracy.
     */
    public ExitTable(final String weights, final String data, final double[] input, final List<Exit> exits)
    {
        if (!TRAINED.equals(weights) && !RANDOM.equals(weights))
        {
            throw new IllegalArgumentException("\"weights\" must be \"trained\" or \"random\", not \"" + weights + "\"");
        }
        if (exits.isEmpty())
        {
            throw new IllegalArgumentException("no exits listed");
        }
        if (input != null && input.length != 3)
        {
            throw new IllegalArgumentException("input normalisation needs scale, mean and std");
        }
        for (int i = 0; i < exits.size(); i++)
        {
            final Exit e = exits.get(i);
            if (e.index != i)
            {
                throw new IllegalArgumentException("exit " + i + " is numbered " + e.index + ": exits are listed " +
                    "in order, numbered from 0");
            }
            for (int j = 0; j < i; j++)
            {
                if (exits.get(j).output.equals(e.output))
                {
                    throw new IllegalArgumentException("exits " + j + " and " + i + " both name output '" +
                        e.output + "'");
                }
            }
            if (e.top1 != null && (!(e.top1 >= 0 && e.top1 <= 1) || e.samples == 0))
            {
                throw new IllegalArgumentException("exit " + i + ": top1 " + e.top1 + " must lie in [0, 1] and " +
                    "come with samples > 0");
            }
            if (e.samples < 0 || e.correct < 0 || e.correct > e.samples)
            {
                throw new IllegalArgumentException("exit " + i + ": " + e.correct + " correct of " + e.samples +
                    " samples");
            }
            if (e.top1 != null && Math.abs(e.top1 - (double)e.correct / e.samples) > 1e-6)
            {
                throw new IllegalArgumentException("exit " + i + ": top1 " + e.top1 + " is not " + e.correct +
                    " correct of " + e.samples);
            }
        }
        this.weights = weights;
        this.data = data;
        this.input = input == null ? null : input.clone();
        this.exits = List.copyOf(exits);
    }

    /** @return the sidecar of a model file: {@code M.onnx} -> {@code M.exits.json} in the same directory. */
    public static Path sidecarOf(final Path model)
    {
        final String name = model.getFileName().toString();
        final String stem = name.endsWith(".onnx") ? name.substring(0, name.length() - 5) : name;
        return model.resolveSibling(stem + ".exits.json");
    }

    /**
     * Reads the sidecar of {@code model}.
     *
     * @throws ModelException in one line naming the file, if it is missing or malformed.
     */
    public static ExitTable forModel(final Path model)
    {
        final Path sidecar = sidecarOf(model);
        if (!Files.exists(sidecar))
        {
            throw new ModelException(model + " has no exit sidecar " + sidecar + " (write one with coedge exits)");
        }
        return read(sidecar);
    }

    /**
     * Reads a sidecar file.
     *
     * @throws ModelException in one line naming the file and what is wrong.
     */
    public static ExitTable read(final Path sidecar)
    {
        final String text;
        try
        {
            text = Files.readString(sidecar, StandardCharsets.UTF_8);
        }
        catch (final NoSuchFileException ex)
        {
            throw new ModelException("no such exit sidecar: " + sidecar);
        }
        catch (final IOException ex)
        {
            throw new ModelException("cannot read exit sidecar " + sidecar + ": " + ex.getMessage());
        }
        try
        {
            return parse(text);
        }
        catch (final IllegalArgumentException | IllegalStateException | JsonParseException ex)
        {
            final String why = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
            throw new ModelException("exit sidecar " + sidecar + ": " + why.replace('\n', ' '));
        }
    }

    /** Parses sidecar text; throws IllegalArgumentException (or Gson's) saying what is wrong. */
    static ExitTable parse(final String text)
    {
        final JsonElement root = JsonParser.parseString(text);
        if (!root.isJsonObject())
        {
            throw new IllegalArgumentException("not a JSON object");
        }
        final JsonObject o = root.getAsJsonObject();
        final String format = string(o, "format", true);
        if (!FORMAT.equals(format))
        {
            throw new IllegalArgumentException("\"format\" is \"" + format + "\", expected \"" + FORMAT + "\"");
        }
        final String weights = string(o, "weights", true);
        final String data = string(o, "data", false);
        double[] input = null;
        if (o.has("input") && !o.get("input").isJsonNull())
        {
            if (!o.get("input").isJsonObject())
            {
                throw new IllegalArgumentException("\"input\" must be an object {scale, mean, std}");
            }
            final JsonObject in = o.getAsJsonObject("input");
            input = new double[] {number(in, "scale", "input"), number(in, "mean", "input"),
                number(in, "std", "input")};
        }
        if (!o.has("exits") || !o.get("exits").isJsonArray())
        {
            throw new IllegalArgumentException("\"exits\" must be an array");
        }
        final JsonArray array = o.getAsJsonArray("exits");
        final List<Exit> exits = new ArrayList<>();
        for (int i = 0; i < array.size(); i++)
        {
            if (!array.get(i).isJsonObject())
            {
                throw new IllegalArgumentException("exit " + i + " is not an object");
            }
            final JsonObject e = array.get(i).getAsJsonObject();
            final String where = "exit " + i;
            final long index = integer(e, "index", where);
            final String output = string(e, "output", true, where);
            final Double top1 = e.has("top1") && !e.get("top1").isJsonNull() ? number(e, "top1", where) : null;
            final long samples = e.has("samples") ? integer(e, "samples", where) : 0;
            final long correct = e.has("correct") ? integer(e, "correct", where) :
                top1 == null ? 0 : Math.round(top1 * samples);
            exits.add(new Exit((int)Math.min(Integer.MAX_VALUE, index), output, top1, correct, samples));
        }
        return new ExitTable(weights, data, input, exits);
    }

    /**
     * @param outputNames the model's graph outputs, in model order.
     * @return for each exit, the index of its output among {@code outputNames}.
     * @throws ModelException naming an exit whose output the model does not have.
     */
    public int[] outputIndices(final List<String> outputNames)
    {
        final int[] indices = new int[exits.size()];
        for (int i = 0; i < indices.length; i++)
        {
            indices[i] = outputNames.indexOf(exits.get(i).output);
            if (indices[i] < 0)
            {
                throw new ModelException("exit " + i + " names output '" + exits.get(i).output + "', which the " +
                    "model does not have (its outputs: " + outputNames + ")");
            }
        }
        return indices;
    }

    /**
     * @return {@code model} cut down to exit {@code k} ({@link Model#forOutput}): its one output is that exit's, and
     * only the nodes it depends on remain.
     * @throws IllegalArgumentException if there is no exit {@code k}.
     * @throws ModelException if the model lacks an output this table names.
     */
    public Model upTo(final Model model, final int k)
    {
        outputIndices(model.outputNames());
        return model.forOutput(exit(k).output());
    }

    /** @return the exits, earliest first. */
    public List<Exit> exits()
    {
        return exits;
    }

    public int size()
    {
        return exits.size();
    }

    /**
     * @return exit {@code k}.
     * @throws IllegalArgumentException if there is no such exit.
     */
    public Exit exit(final int k)
    {
        if (k < 0 || k >= exits.size())
        {
            throw new IllegalArgumentException("no exit " + k + ": the model has exits 0.." + (exits.size() - 1));
        }
        return exits.get(k);
    }

    /** @return {@link #TRAINED} or {@link #RANDOM}. */
    public String weights()
    {
        return weights;
    }

    /** @return what the accuracies were measured on, or null. */
    public String data()
    {
        return data;
    }

    /** @return {scale, mean, std} of the pixel normalisation the accuracies were measured with, or null. */
    public double[] input()
    {
        return input == null ? null : input.clone();
    }

    /** @return the sidecar's JSON text, one exit per line. */
    public String toJson()
    {
        final StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"format\": \"").append(FORMAT).append("\",\n");
        sb.append("  \"weights\": \"").append(weights).append("\",\n");
        if (data != null)
        {
            sb.append("  \"data\": \"").append(escape(data)).append("\",\n");
        }
        if (input != null)
        {
            sb.append(String.format(Locale.ROOT, "  \"input\": {\"scale\": %s, \"mean\": %s, \"std\": %s},%n",
                Double.toString(input[0]), Double.toString(input[1]), Double.toString(input[2])));
        }
        sb.append("  \"exits\": [\n");
        for (int i = 0; i < exits.size(); i++)
        {
            final Exit e = exits.get(i);
            sb.append("    {\"index\": ").append(e.index).append(", \"output\": \"").append(escape(e.output))
                .append("\", \"top1\": ")
                .append(e.top1 == null ? "null" : String.format(Locale.ROOT, "%.6f", e.top1))
                .append(", \"correct\": ").append(e.correct).append(", \"samples\": ").append(e.samples)
                .append(i + 1 < exits.size() ? "},\n" : "}\n");
        }
        return sb.append("  ]\n}\n").toString();
    }

    /** Writes the sidecar's JSON text to {@code file}, replacing it. */
    public void write(final Path file) throws IOException
    {
        Files.writeString(file, toJson(), StandardCharsets.UTF_8);
    }

    @Override
    public String toString()
    {
        return exits.size() + " exits, " + weights + " weights";
    }

    private static String string(final JsonObject o, final String key, final boolean required)
    {
        return string(o, key, required, "sidecar");
    }

    private static String string(final JsonObject o, final String key, final boolean required, final String where)
    {
        final JsonElement e = o.get(key);
        if (e == null || e.isJsonNull())
        {
            if (required)
            {
                throw new IllegalArgumentException(where + ": \"" + key + "\" is missing");
            }
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString())
        {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be a string");
        }
        return e.getAsString();
    }

    private static double number(final JsonObject o, final String key, final String where)
    {
        final JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
        {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be a number");
        }
        return e.getAsDouble();
    }

    private static long integer(final JsonObject o, final String key, final String where)
    {
        final double d = number(o, key, where);
        if (d != Math.rint(d) || d < 0 || d > Long.MAX_VALUE / 2)
        {
            throw new IllegalArgumentException(where + ": \"" + key + "\" must be a whole number >= 0, not " + d);
        }
        return (long)d;
    }

    private static String escape(final String s)
    {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
