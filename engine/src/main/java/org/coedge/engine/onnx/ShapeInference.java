package org.coedge.engine.onnx;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;

/**
 * Turns a graph as imported into the folded graph described by {@link Graph}: concrete input dims, every computation
 * on constants evaluated (exporters' shape sub-graphs included, with {@code Shape} of a runtime value read from its
 * inferred dims), Identity / Dropout / float Cast on runtime data removed by renaming, dead nodes and unused
 * constants dropped, and every remaining node normalized by {@link OperatorNormalizer} with static output dims.
 * <p>
 * Called once per model and input size, on the caller's thread; stateless.
 */
public final class ShapeInference
{
    private ShapeInference()
    {
    }

    /**
     * @param raw       the graph as {@link OnnxImporter} read it.
     * @param inputDims concrete NCHW dims (batch 1) per runtime input; an input whose declared dims are all static may
     *                  be omitted.
     * @return the folded graph; throws {@link ModelException} naming the node or input at fault.
     */
    public static Graph fold(final Graph raw, final Map<String, long[]> inputDims)
    {
        return new Folding(raw, inputDims).run();
    }

    /** The state of one fold. */
    private static final class Folding
    {
        private final Graph raw;
        private final Map<String, long[]> inputDims;
        private final int opset;
        private final Map<String, ConstTensor> constants;
        private final Map<String, long[]> shapes = new LinkedHashMap<>();
        private final Map<String, String> alias = new HashMap<>();
        private final Set<String> used = new HashSet<>();
        private final List<Node> nodes = new ArrayList<>();

        Folding(final Graph raw, final Map<String, long[]> inputDims)
        {
            this.raw = raw;
            this.inputDims = inputDims;
            this.opset = raw.opsetVersion();
            this.constants = new LinkedHashMap<>(raw.constants());
        }

        Graph run()
        {
            concreteInputs();
            for (final Node n : raw.nodes())
            {
                used.addAll(n.inputs());
            }
            used.addAll(raw.outputs());
            final OperatorNormalizer normalizer = new OperatorNormalizer(opset, constants, shapes);
            for (final Node ordered : topologicalOrder())
            {
                final Node original = withResolvedInputs(ordered);
                if ("Split".equals(original.opType()) && !constants.containsKey(original.input(0)))
                {
                    for (final Node slice : splitIntoSlices(original))
                    {
                        nodes.add(normalizer.normalize(slice));
                    }
                    continue;
                }
                if ("LayerNormalization".equals(original.opType()) && original.outputs().size() > 1)
                {
                    nodes.add(normalizer.normalize(firstOutputOnly(withoutStatistics(original))));
                    for (final Node statistic : statistics(original))
                    {
                        nodes.add(statistic);
                    }
                    continue;
                }
                final Node n = original;
                if (!foldConstant(n) && !removeByRenaming(n))
                {
                    nodes.add(normalizer.normalize(firstOutputOnly(n)));
                }
            }
            final List<String> outputs = bindOutputs();
            return prune(outputs);
        }

        private Node withoutStatistics(final Node n)
        {
            return new Node(n.opType(), n.name(), n.inputs(), List.of(n.output(0)), n.attributes());
        }

        /** LayerNormalization's Mean and InvStdDev outputs, where read: reductions over the normalized axes. */
        private List<Node> statistics(final Node n)
        {
            final long[] x = runtimeDims(n);
            final int axis = Dims.axis(n, n.attrInt("axis", -1), x.length);
            final long[] axes = new long[x.length - axis];
            final long[] dims = x.clone();
            for (int i = 0; i < axes.length; i++)
            {
                axes[i] = axis + i;
                dims[axis + i] = 1;
            }
            final List<Node> out = new ArrayList<>();
            for (int i = 1; i < Math.min(3, n.outputs().size()); i++)
            {
                final String value = n.output(i);
                if (value.isEmpty() || !used.contains(value))
                {
                    continue;
                }
                shapes.put(value, dims.clone());
                out.add(new Node("Reduce", n.name() + "#" + (i == 1 ? "mean" : "invStdDev"), List.of(n.input(0)),
                    List.of(value), Map.of("kind", org.coedge.engine.graph.Attribute.ofString("kind",
                    i == 1 ? "MEAN" : "INV_STD_DEV"), "axes", org.coedge.engine.graph.Attribute.ofInts("axes", axes),
                    "keepdims", org.coedge.engine.graph.Attribute.ofInt("keepdims", 1), "epsilon",
                    org.coedge.engine.graph.Attribute.ofFloat("epsilon", n.attrFloat("epsilon", 1e-5f)))));
            }
            return out;
        }

        /** @return one Slice (starts and steps as attributes of the normalized form) per used output of a Split. */
        private List<Node> splitIntoSlices(final Node n)
        {
            final long[] x = runtimeDims(n);
            final int axis = Dims.axis(n, n.attrInt("axis", 0), x.length);
            final int parts = n.outputs().size();
            long[] sizes = opset >= 13 ? null : n.attrInts("split", null);
            if (opset >= 13 && n.inputs().size() > 1 && !n.input(1).isEmpty())
            {
                final ConstTensor c = constants.get(n.input(1));
                if (c == null)
                {
                    throw ModelException.at(n, "the split sizes must be a constant");
                }
                sizes = c.longs();
            }
            if (sizes == null)
            {
                final long chunk = opset >= 18 && n.has("num_outputs") ? (x[axis] + parts - 1) / parts :
                    x[axis] / parts;
                sizes = new long[parts];
                for (int i = 0; i < parts; i++)
                {
                    sizes[i] = Math.min(chunk, x[axis] - chunk * i);
                }
            }
            if (sizes.length != parts || Arrays.stream(sizes).sum() != x[axis])
            {
                throw ModelException.at(n, "split " + Arrays.toString(sizes) + " does not divide axis " + axis +
                    " of " + Dims.str(x) + " into " + parts + " outputs");
            }
            final List<Node> slices = new ArrayList<>();
            long at = 0;
            for (int i = 0; i < parts; i++)
            {
                final String out = n.output(i);
                if (!out.isEmpty() && used.contains(out))
                {
                    final String starts = out + "#starts";
                    final String ends = out + "#ends";
                    final String axes = out + "#axes";
                    constants.put(starts, ConstTensor.ofLongs(new long[]{1}, new long[]{at}));
                    constants.put(ends, ConstTensor.ofLongs(new long[]{1}, new long[]{at + sizes[i]}));
                    constants.put(axes, ConstTensor.ofLongs(new long[]{1}, new long[]{axis}));
                    slices.add(new Node("Slice", n.name() + (i == 0 ? "" : "#" + i), List.of(n.input(0), starts,
                        ends, axes), List.of(out), Map.of()));
                }
                at += sizes[i];
            }
            return slices;
        }

        private void concreteInputs()
        {
            for (final String name : inputDims.keySet())
            {
                if (!raw.inputs().contains(name))
                {
                    throw new ModelException("dims given for '" + name + "', which is not an input of the model " +
                        "(inputs: " + raw.inputs() + ")");
                }
            }
            for (final String name : raw.inputs())
            {
                final long[] declared = raw.shapes().get(name);
                long[] given = inputDims.get(name);
                if (given == null)
                {
                    if (declared == null || Arrays.stream(declared).anyMatch(d -> d <= 0))
                    {
                        throw new ModelException("input '" + name + "' has dynamic dims " +
                            (declared == null ? "(rank unknown)" : Dims.str(declared)) + "; give its dims");
                    }
                    given = declared;
                }
                checkInput(name, declared, given);
                shapes.put(name, given.clone());
            }
        }

        private static void checkInput(final String name, final long[] declared, final long[] given)
        {
            final String expected = declared == null ? "any shape" : "shape " + Dims.str(declared) +
                " (-1 is any size)";
            for (final long d : given)
            {
                if (d <= 0)
                {
                    throw new ModelException("input '" + name + "' expects " + expected + ", given " +
                        Dims.str(given) + ": every dim must be positive");
                }
            }
            if (declared != null)
            {
                if (declared.length != given.length)
                {
                    throw new ModelException("input '" + name + "' expects rank " + declared.length + ", " +
                        expected + ", given " + Dims.str(given) + " of rank " + given.length);
                }
                for (int i = 0; i < given.length; i++)
                {
                    if (declared[i] > 0 && declared[i] != given[i])
                    {
                        throw new ModelException("input '" + name + "' expects " + expected + ", given " +
                            Dims.str(given) + ": dim " + i + " must be " + declared[i]);
                    }
                }
            }
        }

        /** @return the nodes in an order where every value is produced before it is read. */
        private List<Node> topologicalOrder()
        {
            final Set<String> available = new HashSet<>(constants.keySet());
            available.addAll(raw.inputs());
            available.add("");
            boolean sorted = true;
            for (final Node n : raw.nodes())
            {
                if (!available.containsAll(n.inputs()))
                {
                    sorted = false;
                    break;
                }
                available.addAll(n.outputs());
            }
            if (sorted)
            {
                return raw.nodes();
            }
            final Map<String, Node> producer = new HashMap<>();
            for (final Node n : raw.nodes())
            {
                for (final String out : n.outputs())
                {
                    producer.put(out, n);
                }
            }
            final List<Node> order = new ArrayList<>();
            final Set<Node> done = new HashSet<>();
            final Set<Node> visiting = new HashSet<>();
            for (final Node n : raw.nodes())
            {
                visit(n, producer, done, visiting, order);
            }
            return order;
        }

        private void visit(
            final Node root, final Map<String, Node> producer, final Set<Node> done, final Set<Node> visiting,
            final List<Node> order)
        {
            if (done.contains(root))
            {
                return;
            }
            final Deque<Node> stack = new ArrayDeque<>();
            final Deque<Integer> next = new ArrayDeque<>();
            stack.push(root);
            next.push(0);
            visiting.add(root);
            while (!stack.isEmpty())
            {
                final Node n = stack.peek();
                final int i = next.pop();
                if (i < n.inputs().size())
                {
                    next.push(i + 1);
                    final String in = n.inputs().get(i);
                    final Node p = producer.get(in);
                    if (p == null)
                    {
                        if (!in.isEmpty() && !constants.containsKey(in) && !raw.inputs().contains(in))
                        {
                            throw ModelException.at(n, "input '" + in + "' is not produced by any node");
                        }
                    }
                    else if (visiting.contains(p))
                    {
                        throw ModelException.at(n, "the graph has a cycle through value '" + in + "'");
                    }
                    else if (!done.contains(p))
                    {
                        stack.push(p);
                        next.push(0);
                        visiting.add(p);
                    }
                }
                else
                {
                    stack.pop();
                    visiting.remove(n);
                    done.add(n);
                    order.add(n);
                }
            }
        }

        private String resolve(final String value)
        {
            return alias.getOrDefault(value, value);
        }

        private Node withResolvedInputs(final Node n)
        {
            final List<String> inputs = new ArrayList<>(n.inputs().size());
            for (final String in : n.inputs())
            {
                inputs.add(resolve(in));
            }
            return new Node(n.opType(), n.name(), inputs, n.outputs(), n.attributes());
        }

        private boolean foldConstant(final Node n)
        {
            boolean any = false;
            boolean allConstant = true;
            for (final String in : n.inputs())
            {
                if (!in.isEmpty())
                {
                    any = true;
                    allConstant &= constants.containsKey(in);
                }
            }
            final ConstTensor value;
            if (any && allConstant)
            {
                if (TensorNormalizer.QUANTIZED.contains(n.opType()))
                {
                    throw TensorNormalizer.quantized(n);
                }
                if (!ConstantFolder.supports(n.opType()))
                {
                    throw new ModelException("unsupported operator " + n.opType() + " on constant inputs in node '" +
                        n.name() + "'");
                }
                final List<ConstTensor> in = new ArrayList<>();
                for (final String name : n.inputs())
                {
                    in.add(name.isEmpty() ? null : constants.get(name));
                }
                value = ConstantFolder.evaluate(n, in, opset);
            }
            else if ("Shape".equals(n.opType()))
            {
                value = ConstantFolder.shapeOf(n, runtimeDims(n));
            }
            else if ("Size".equals(n.opType()))
            {
                value = ConstTensor.ofLongs(new long[0], new long[]{Dims.count(runtimeDims(n))});
            }
            else
            {
                return false;
            }
            firstOutputOnly(n);
            constants.put(n.output(0), value);
            return true;
        }

        private long[] runtimeDims(final Node n)
        {
            final long[] dims = shapes.get(n.input(0));
            if (dims == null)
            {
                throw ModelException.at(n, "input 0 is missing");
            }
            return dims;
        }

        private boolean removeByRenaming(final Node n)
        {
            final String op = n.opType();
            // The engine computes in float32: a cast between float types of runtime data keeps it as it is.
            final long to = n.attrInt("to", -1);
            final boolean floatCast = "Cast".equals(op) && (to == OnnxMl.TensorProto.DataType.FLOAT_VALUE ||
                to == OnnxMl.TensorProto.DataType.FLOAT16_VALUE || to == OnnxMl.TensorProto.DataType.DOUBLE_VALUE ||
                to == OnnxMl.TensorProto.DataType.BFLOAT16_VALUE);
            if ("Cast".equals(op) && !floatCast)
            {
                throw ModelException.at(n, "Cast of runtime data to " + OnnxImporter.typeName((int)to) +
                    " is not supported; the engine computes in float32");
            }
            if (!"Identity".equals(op) && !"Dropout".equals(op) && !floatCast)
            {
                return false;
            }
            runtimeDims(n);
            firstOutputOnly(n);
            alias.put(n.output(0), n.input(0));
            return true;
        }

        /** @return {@code n} with only its first output; throws when a further output is read by anything. */
        private Node firstOutputOnly(final Node n)
        {
            if (n.outputs().isEmpty() || n.output(0).isEmpty())
            {
                throw ModelException.at(n, "the node has no first output");
            }
            for (int i = 1; i < n.outputs().size(); i++)
            {
                final String out = n.output(i);
                if (!out.isEmpty() && used.contains(out))
                {
                    throw ModelException.at(n, "output " + i + " ('" + out + "') is used, but only the first " +
                        "output of " + n.opType() + " is supported");
                }
            }
            if (n.outputs().size() == 1)
            {
                return n;
            }
            return new Node(n.opType(), n.name(), n.inputs(), List.of(n.output(0)), n.attributes());
        }

        /**
         * Keeps the model's output names: a runtime value that reached an output through Identity is renamed to the
         * output's name, so that callers ask for outputs by the names the file declares.
         */
        private List<String> bindOutputs()
        {
            final List<String> outputs = new ArrayList<>();
            final Set<String> claimed = new HashSet<>();
            final Map<String, String> rename = new HashMap<>();
            for (final String declared : raw.outputs())
            {
                final String value = resolve(declared);
                if (value.equals(declared) || !shapes.containsKey(value) || raw.inputs().contains(value) ||
                    raw.outputs().contains(value) || !claimed.add(value))
                {
                    if (!shapes.containsKey(value) && !constants.containsKey(value))
                    {
                        throw new ModelException("output '" + declared + "' is not produced by any node");
                    }
                    outputs.add(value);
                }
                else
                {
                    rename.put(value, declared);
                    outputs.add(declared);
                }
            }
            if (!rename.isEmpty())
            {
                for (int i = 0; i < nodes.size(); i++)
                {
                    final Node n = nodes.get(i);
                    nodes.set(i, new Node(n.opType(), n.name(), renamed(n.inputs(), rename),
                        renamed(n.outputs(), rename), n.attributes()));
                }
                for (final Map.Entry<String, String> e : rename.entrySet())
                {
                    shapes.put(e.getValue(), shapes.remove(e.getKey()));
                }
            }
            return outputs;
        }

        private static List<String> renamed(final List<String> names, final Map<String, String> rename)
        {
            final List<String> out = new ArrayList<>(names.size());
            for (final String name : names)
            {
                out.add(rename.getOrDefault(name, name));
            }
            return out;
        }

        /** Drops nodes whose results reach no output, then constants and shapes that nothing refers to. */
        private Graph prune(final List<String> outputs)
        {
            final Set<String> live = new HashSet<>(outputs);
            final List<Node> kept = new ArrayList<>();
            for (int i = nodes.size() - 1; i >= 0; i--)
            {
                final Node n = nodes.get(i);
                if (live.contains(n.output(0)))
                {
                    kept.add(n);
                    live.addAll(n.inputs());
                }
            }
            Collections.reverse(kept);
            final Map<String, ConstTensor> liveConstants = new LinkedHashMap<>();
            for (final Map.Entry<String, ConstTensor> e : constants.entrySet())
            {
                if (live.contains(e.getKey()))
                {
                    liveConstants.put(e.getKey(), e.getValue());
                }
            }
            final Map<String, long[]> liveShapes = new LinkedHashMap<>();
            for (final String in : raw.inputs())
            {
                liveShapes.put(in, shapes.get(in));
            }
            for (final Node n : kept)
            {
                liveShapes.put(n.output(0), shapes.get(n.output(0)));
            }
            return new Graph(raw.name(), opset, raw.inputs(), outputs, kept, liveConstants, liveShapes);
        }
    }
}
