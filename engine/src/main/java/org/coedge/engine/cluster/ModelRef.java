package org.coedge.engine.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.planner.LayerGraph;

/**
 * A model file as the cluster names it: its bytes' SHA-256, the parsed model, the input shapes of this session and
 * the planner's view of it (from a weightless skeleton, so a node plans without packing weights it may never run).
 * Cold path; immutable once built.
 */
final class ModelRef
{
    final Path file;
    final byte[] sha256;
    final Model model;
    final Map<String, long[]> inputDims;
    final LayerGraph graph;
    final int[] outputLayers;

    ModelRef(final Path file, final byte[] sha256, final Model model, final Map<String, long[]> inputDims)
    {
        this.file = file;
        this.sha256 = sha256;
        this.model = model;
        this.inputDims = inputDims;
        // the skeleton holds no weights, but the constants of its idle layers are off-heap too: freed once read
        try (PreparedModel skeleton = SplitExecutor.skeleton(model, inputDims))
        {
            this.graph = PlanGraphs.of(skeleton);
            this.outputLayers = new int[skeleton.outputs().size()];
            for (int i = 0; i < outputLayers.length; i++)
            {
                outputLayers[i] = SplitExecutor.producerOf(skeleton, skeleton.outputs().get(i));
            }
        }
    }

    static byte[] sha256(final Path file) throws IOException
    {
        final MessageDigest digest;
        try
        {
            digest = MessageDigest.getInstance("SHA-256");
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException(e);
        }
        final byte[] chunk = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file))
        {
            int n;
            while ((n = in.read(chunk)) > 0)
            {
                digest.update(chunk, 0, n);
            }
        }
        return digest.digest();
    }

    static String hex(final byte[] bytes)
    {
        final StringBuilder sb = new StringBuilder();
        for (final byte b : bytes)
        {
            sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
        }
        return sb.toString();
    }

    /** @return shapes as the join carries them: {@code name=1x3x224x224;name2=...}. */
    static String formatShapes(final Map<String, long[]> dims)
    {
        final StringBuilder sb = new StringBuilder();
        for (final Map.Entry<String, long[]> e : dims.entrySet())
        {
            if (sb.length() > 0)
            {
                sb.append(';');
            }
            sb.append(e.getKey()).append('=');
            for (int i = 0; i < e.getValue().length; i++)
            {
                sb.append(i == 0 ? "" : "x").append(e.getValue()[i]);
            }
        }
        return sb.toString();
    }

    /** @throws IllegalArgumentException if the text is not what {@link #formatShapes} writes. */
    static Map<String, long[]> parseShapes(final String text)
    {
        final Map<String, long[]> out = new LinkedHashMap<>();
        if (text.isEmpty())
        {
            return out;
        }
        for (final String part : text.split(";"))
        {
            final int eq = part.lastIndexOf('=');
            if (eq <= 0)
            {
                throw new IllegalArgumentException("bad input shape '" + part + "'");
            }
            final List<String> dims = List.of(part.substring(eq + 1).split("x"));
            final long[] d = new long[dims.size()];
            for (int i = 0; i < d.length; i++)
            {
                d[i] = Long.parseLong(dims.get(i));
                if (d[i] <= 0 || d[i] > 1 << 20)
                {
                    throw new IllegalArgumentException("bad input shape '" + part + "'");
                }
            }
            out.put(part.substring(0, eq), d);
        }
        return out;
    }

    /**
     * Hands {@code search} the model's exits from its sidecar ({@link org.coedge.engine.exits.ExitTable}): each
     * exit's planner layer and measured top-1 accuracy; a sidecar without accuracies (random weights) ranks the exits by depth, the last
     * as the most accurate, and says so.
     */
    void exitsInto(final org.coedge.planner.policy.ObjectiveSearch search, final java.io.PrintWriter log)
    {
        final org.coedge.engine.exits.ExitTable table = org.coedge.engine.exits.ExitTable.forModel(file);
        final int[] indices = table.outputIndices(model.outputNames());
        final int n = table.size();
        final int[] layers = new int[n];
        final double[] top1 = new double[n];
        final String[] names = new String[n];
        boolean measured = true;
        for (int k = 0; k < n; k++)
        {
            layers[k] = outputLayers[indices[k]];
            names[k] = table.exit(k).output();
            measured &= table.exit(k).top1() != null;
        }
        for (int k = 0; k < n; k++)
        {
            top1[k] = measured ? table.exit(k).top1() : (k + 1.0) / n;
        }
        if (!measured)
        {
            log.println("coordinator: the exits of " + file.getFileName() + " have no measured accuracy (" +
                table.weights() + " weights): ranking them by depth, the last as the most accurate");
        }
        search.exits(layers, top1, names);
    }
}
