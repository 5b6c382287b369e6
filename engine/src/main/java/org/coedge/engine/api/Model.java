package org.coedge.engine.api;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.coedge.engine.exec.Lowering;
import org.coedge.engine.exits.ExitGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.onnx.GraphOptimizer;
import org.coedge.engine.onnx.OnnxImporter;
import org.coedge.engine.onnx.ShapeInference;

/**
 * A loaded ONNX model, not yet bound to input shapes. Entry point of the embedding API:
 * <pre>{@code
 * Model model = Model.load(Path.of("resnet18.onnx"));
 * try (Session session = model.newSession(SessionOptions.threads(2)))
 * {
 *     session.setInput(0, pixelsNchw);
 *     session.run();
 *     session.outputInto(0, logits);
 * }
 * }</pre>
 * Immutable and thread-safe; each session owns its own prepared weights, arena and threads.
 */
public final class Model
{
    private final Graph graph;

    private Model(final Graph graph)
    {
        this.graph = graph;
    }

    /**
     * Reads and checks an ONNX file.
     *
     * @throws ModelException naming the file and what is wrong with it.
     */
    public static Model load(final Path file)
    {
        return new Model(OnnxImporter.load(file));
    }

    /** Reads and checks an ONNX model held in memory; {@code sourceName} appears in error messages. */
    public static Model load(final byte[] bytes, final String sourceName)
    {
        return new Model(OnnxImporter.load(bytes, sourceName));
    }

    /**
     * @return this model with runtime inputs turned into constants of the given values (row-major, with dims), for
     * inputs that set shapes rather than carry data (Resize / Upsample scales given as graph inputs): the model is
     * prepared for those values. The other inputs keep their order.
     */
    public Model bindInputs(final Map<String, org.coedge.engine.io.HostTensor> values)
    {
        final Map<String, org.coedge.engine.graph.ConstTensor> constants = new LinkedHashMap<>(graph.constants());
        final java.util.List<String> inputs = new java.util.ArrayList<>();
        for (final String in : graph.inputs())
        {
            final org.coedge.engine.io.HostTensor v = values.get(in);
            if (v == null)
            {
                inputs.add(in);
            }
            else
            {
                constants.put(in, org.coedge.engine.graph.ConstTensor.ofFloats(v.dims(), v.data()));
            }
        }
        for (final String name : values.keySet())
        {
            if (!graph.inputs().contains(name))
            {
                throw new ModelException("cannot bind '" + name + "': not an input of the model " + graph.inputs());
            }
        }
        final Map<String, long[]> shapes = new LinkedHashMap<>(graph.shapes());
        values.keySet().forEach(shapes::remove);
        return new Model(new Graph(graph.name(), graph.opsetVersion(), inputs, graph.outputs(), graph.nodes(),
            constants, shapes, graph.integerInputs()));
    }

    /**
     * @return this model with its integer inputs (a sample rate, a shape, a size: they only feed shape arithmetic,
     * which the importer checked) turned into constants of the given values, as ONNX Runtime folds them for those
     * values; the model is prepared for them. The other inputs keep their order.
     * @throws ModelException naming an input that is not an integer input of the model, or a value of the wrong rank.
     */
    public Model bindIntegerInputs(final Map<String, org.coedge.engine.io.HostIntTensor> values)
    {
        final Map<String, org.coedge.engine.graph.ConstTensor> constants = new LinkedHashMap<>(graph.constants());
        final java.util.List<String> inputs = new java.util.ArrayList<>();
        final java.util.Set<String> unbound = new java.util.HashSet<>(graph.integerInputs());
        for (final String name : values.keySet())
        {
            if (!graph.integerInputs().contains(name))
            {
                throw new ModelException("cannot bind '" + name + "' to integers: not an integer input of the " +
                    "model " + graph.integerInputs());
            }
        }
        for (final String in : graph.inputs())
        {
            final org.coedge.engine.io.HostIntTensor v = values.get(in);
            if (v == null)
            {
                inputs.add(in);
                continue;
            }
            final long[] declared = graph.shapes().get(in);
            if (declared != null && declared.length != v.dims().length)
            {
                throw new ModelException("input '" + in + "' is declared " + Arrays.toString(declared) + ", given " +
                    "a value of dims " + Arrays.toString(v.dims()));
            }
            constants.put(in, org.coedge.engine.graph.ConstTensor.ofLongs(v.dims(), v.data()));
            unbound.remove(in);
        }
        final Map<String, long[]> shapes = new LinkedHashMap<>(graph.shapes());
        values.keySet().forEach(shapes::remove);
        return new Model(new Graph(graph.name(), graph.opsetVersion(), inputs, graph.outputs(), graph.nodes(),
            constants, shapes, unbound));
    }

    /** @return the runtime inputs of an integer type, which only set shapes: bind them with bindIntegerInputs. */
    public java.util.Set<String> integerInputs()
    {
        return graph.integerInputs();
    }

    /**
     * @return the runtime inputs that set the output shape rather than carry data: float operands of Resize (scales,
     * sizes, roi) and Upsample (scales) that are graph inputs.
     */
    public java.util.Set<String> shapeInputs()
    {
        final java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (final org.coedge.engine.graph.Node n : graph.nodes())
        {
            if ("Resize".equals(n.opType()) || "Upsample".equals(n.opType()))
            {
                for (int i = 1; i < n.inputs().size(); i++)
                {
                    if (graph.inputs().contains(n.input(i)))
                    {
                        out.add(n.input(i));
                    }
                }
            }
        }
        return out;
    }

    /**
     * @return this model cut down to one of its outputs, e.g. one exit of a multi-exit model: only the nodes that
     * output depends on are kept ({@link ExitGraphs#pruneTo}), so preparing, planning or splitting the result covers
     * exactly what that exit computes. The inputs stay as they are. To serve every exit from one set of prepared
     * weights, keep the whole model and call {@link Session#runFor} instead.
     * @throws ModelException if {@code output} is not an output of the model.
     */
    public Model forOutput(final String output)
    {
        return new Model(ExitGraphs.pruneTo(graph, output));
    }

    /** @return the graph as the file states it. */
    public Graph graph()
    {
        return graph;
    }

    public String name()
    {
        return graph.name();
    }

    /** @return the runtime input names in model order. */
    public List<String> inputNames()
    {
        return graph.inputs();
    }

    public List<String> outputNames()
    {
        return graph.outputs();
    }

    /** @return the dims input {@code name} declares; -1 marks a dynamic dimension. */
    public long[] declaredDims(final String name)
    {
        return graph.shape(name);
    }

    /**
     * Folds the model for concrete input dims and prepares it: constant sub-graphs evaluated, shapes inferred,
     * BatchNormalization folded, activations fused, weights transformed, arena planned. The caller owns the result:
     * closing it frees its weights off-heap at once (once no executor runs on it).
     *
     * @param inputDims NCHW dims per input name; inputs with fully static declared dims may be left out.
     * @throws ModelException if an operator is unsupported or a shape is wrong.
     */
    public PreparedModel prepare(final Map<String, long[]> inputDims)
    {
        return prepare(inputDims, Lowering.RowWindows.FULL);
    }

    /**
     * As {@link #prepare(Map)}, for one device of a split that holds only the rows {@code windows} gives each value.
     */
    public PreparedModel prepare(final Map<String, long[]> inputDims, final Lowering.RowWindows windows)
    {
        return prepare(inputDims, windows, Lowering.winogradByDefault());
    }

    /** As {@link #prepare(Map, Lowering.RowWindows)}, allowing Winograd convolutions or not. */
    public PreparedModel prepare(
        final Map<String, long[]> inputDims, final Lowering.RowWindows windows, final boolean winograd)
    {
        if (!graph.integerInputs().isEmpty())
        {
            throw new ModelException("integer input(s) " + graph.integerInputs() + " set shapes: bind their values " +
                "first (Model.bindIntegerInputs; command line: --input FILE.pb / .npy of int64)");
        }
        final Map<String, long[]> dims = new LinkedHashMap<>();
        for (final String in : graph.inputs())
        {
            final long[] given = inputDims.get(in);
            if (given != null)
            {
                dims.put(in, given.clone());
            }
            else
            {
                final long[] declared = graph.shape(in);
                if (Arrays.stream(declared).anyMatch(d -> d < 1))
                {
                    throw new ModelException("input '" + in + "' has dynamic dims " + Arrays.toString(declared) +
                        ": pass concrete dims (command line: --shape " + in + "=1x3xHxW)");
                }
                dims.put(in, declared);
            }
        }
        final Graph folded = GraphOptimizer.optimize(ShapeInference.fold(graph, dims));
        return Lowering.lower(folded, windows, winograd);
    }

    /** Prepares the model for the options' input dims and starts a session, which owns (and frees) what it prepared. */
    public Session newSession(final SessionOptions options)
    {
        return new Session(prepare(options.inputDims(), Lowering.RowWindows.FULL, options.winograd()),
            options.threads());
    }
}
