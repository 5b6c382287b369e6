package org.coedge.engine.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.coedge.engine.graph.Attribute;
import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.Node;

/**
 * Graph-level rewrites of a folded graph that keep every result equal within float rounding:
 * <ul>
 *   <li>a BatchNormalization, or a Mul / Div / Add / Sub by a per-channel or scalar constant, that directly follows a
 *   Conv or ConvTranspose whose output feeds nothing else (and is not a graph output) is folded into the conv's
 *   weights and bias, repeatedly, so that chains such as {@code Conv -> Add(bias) -> BatchNormalization} collapse;</li>
 *   <li>every remaining BatchNormalization becomes a Mul and an Add by per-channel constants of shape
 *   {@code [1, C, 1, ...]};</li>
 *   <li>HardSwish spelled out as {@code Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)} (as PaddlePaddle exports it, 18-24
 *   times per PP-OCR model) becomes one HardSwish node, which the lowering then fuses into the producing conv: four
 *   passes over a large map become none;</li>
 *   <li>constants no longer referenced are dropped.</li>
 * </ul>
 * Folded weights are written to new constants (named after the conv node), so a weight shared with another node is
 * never changed under it. Arithmetic on weights is done in double and rounded once.
 * <p>
 * Called once per prepared model, on the caller's thread; stateless.
 */
public final class GraphOptimizer
{
    private GraphOptimizer()
    {
    }

    /** @param folded a graph from {@link ShapeInference#fold}. */
    public static Graph optimize(final Graph folded)
    {
        return new Pass(folded).run();
    }

    /** The state of one optimization. */
    private static final class Pass
    {
        private final Graph graph;
        private final List<Node> nodes;
        private final Map<String, ConstTensor> constants;
        private final Map<String, long[]> shapes;
        private final Set<String> names = new HashSet<>();

        Pass(final Graph graph)
        {
            this.graph = graph;
            this.nodes = new ArrayList<>(graph.nodes());
            this.constants = new LinkedHashMap<>(graph.constants());
            this.shapes = new LinkedHashMap<>(graph.shapes());
            names.addAll(constants.keySet());
            names.addAll(shapes.keySet());
            for (final Node n : nodes)
            {
                names.add(n.name());
                names.addAll(n.outputs());
            }
        }

        Graph run()
        {
            while (foldOneIntoConv())
            {
                continue;
            }
            fuseHardSwishes();
            splitBatchNorms();
            final Set<String> referenced = new HashSet<>(graph.outputs());
            for (final Node n : nodes)
            {
                referenced.addAll(n.inputs());
            }
            constants.keySet().retainAll(referenced);
            return new Graph(graph.name(), graph.opsetVersion(), graph.inputs(), graph.outputs(), nodes, constants,
                shapes);
        }

        private String fresh(final String base)
        {
            String name = base;
            for (int k = 1; names.contains(name); k++)
            {
                name = base + "_" + k;
            }
            names.add(name);
            return name;
        }

        private Map<String, List<Node>> consumers()
        {
            final Map<String, List<Node>> out = new HashMap<>();
            for (final Node n : nodes)
            {
                for (final String in : n.inputs())
                {
                    out.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
            return out;
        }

        /** Replaces every {@code Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)} whose inner values feed nothing else. */
        private void fuseHardSwishes()
        {
            final Map<String, List<Node>> consumers = consumers();
            final Map<String, Node> producers = new HashMap<>();
            for (final Node n : nodes)
            {
                for (final String out : n.outputs())
                {
                    producers.put(out, n);
                }
            }
            for (int i = 0; i < nodes.size(); i++)
            {
                final Node div = nodes.get(i);
                if (!"Div".equals(div.opType()) || !isScalar(div.input(1), 6.0))
                {
                    continue;
                }
                final Node mul = soleProducer(div.input(0), "Mul", producers, consumers);
                if (mul == null)
                {
                    continue;
                }
                for (int side = 0; side < 2; side++)
                {
                    final String x = mul.input(side);
                    final Node clip = soleProducer(mul.input(1 - side), "Clip", producers, consumers);
                    if (clip == null || clip.attrFloat("min", Float.NaN) != 0f || clip.attrFloat("max", Float.NaN) != 6f)
                    {
                        continue;
                    }
                    final Node add = soleProducer(clip.input(0), "Add", producers, consumers);
                    if (add == null || !(add.input(0).equals(x) && isScalar(add.input(1), 3.0) ||
                        add.input(1).equals(x) && isScalar(add.input(0), 3.0)))
                    {
                        continue;
                    }
                    final Node hardSwish = new Node("HardSwish", fresh(div.name() + "_hardswish"), List.of(x),
                        List.of(div.output(0)), Map.of());
                    nodes.set(i, hardSwish);
                    for (final Node gone : List.of(add, clip, mul))
                    {
                        nodes.remove(gone);
                        shapes.remove(gone.output(0));
                    }
                    i = nodes.indexOf(hardSwish);
                    break;
                }
            }
        }

        /** @return the node of type {@code opType} producing {@code value}, if that value feeds only one node. */
        private Node soleProducer(
            final String value, final String opType, final Map<String, Node> producers,
            final Map<String, List<Node>> consumers)
        {
            final Node n = producers.get(value);
            final List<Node> readers = consumers.get(value);
            if (n == null || !opType.equals(n.opType()) || graph.outputs().contains(value) || readers == null ||
                readers.size() != 1 || !nodes.contains(n))
            {
                return null;
            }
            return n;
        }

        private boolean isScalar(final String value, final double expected)
        {
            final ConstTensor c = constants.get(value);
            return c != null && c.size() == 1 && c.floats()[0] == expected;
        }

        /** @return whether a node was folded into a conv; the graph is then changed. */
        private boolean foldOneIntoConv()
        {
            final Map<String, List<Node>> consumers = consumers();
            for (int i = 0; i < nodes.size(); i++)
            {
                final Node conv = nodes.get(i);
                if (!"Conv".equals(conv.opType()) && !"ConvTranspose".equals(conv.opType()))
                {
                    continue;
                }
                final String out = conv.output(0);
                final List<Node> readers = consumers.get(out);
                if (graph.outputs().contains(out) || readers == null || readers.size() != 1)
                {
                    continue;
                }
                final Node next = readers.get(0);
                final int channels = (int)shapes.get(out)[1];
                final double[][] scaleShift = affineOf(next, out, channels);
                if (scaleShift != null)
                {
                    nodes.set(i, rescaled(conv, scaleShift[0], scaleShift[1], next.output(0)));
                    nodes.remove(next);
                    shapes.remove(out);
                    return true;
                }
            }
            return false;
        }

        /**
         * @return {scale, shift} per channel such that {@code next(x) = x * scale + shift} for the conv output
         * {@code x}, or null when {@code next} is not such an operation.
         */
        private double[][] affineOf(final Node next, final String x, final int channels)
        {
            final String op = next.opType();
            if ("BatchNormalization".equals(op))
            {
                return next.input(0).equals(x) ? batchNorm(next, channels) : null;
            }
            if (!"Add".equals(op) && !"Sub".equals(op) && !"Mul".equals(op) && !"Div".equals(op))
            {
                return null;
            }
            final boolean first = next.input(0).equals(x);
            if (first == next.input(1).equals(x))
            {
                return null;
            }
            if (!first && ("Sub".equals(op) || "Div".equals(op)))
            {
                return null;
            }
            final double[] c = perChannel(constants.get(next.input(first ? 1 : 0)), channels);
            if (c == null)
            {
                return null;
            }
            final double[] scale = filled(channels, 1.0);
            final double[] shift = new double[channels];
            for (int m = 0; m < channels; m++)
            {
                switch (op)
                {
                    case "Add":
                        shift[m] = c[m];
                        break;
                    case "Sub":
                        shift[m] = -c[m];
                        break;
                    case "Mul":
                        scale[m] = c[m];
                        break;
                    default:
                        scale[m] = 1.0 / c[m];
                        break;
                }
            }
            return new double[][]{scale, shift};
        }

        /**
         * @return the constant's value per channel of a {@code [N, channels, ...]} output when it is a scalar or
         * varies along the channel dim only (and so cannot change the output's shape), else null.
         */
        private double[] perChannel(final ConstTensor c, final int channels)
        {
            if (c == null)
            {
                return null;
            }
            final long[] d = c.dims();
            final int rank = 4;
            if (d.length > rank)
            {
                return null;
            }
            for (int i = 0; i < d.length; i++)
            {
                final int axis = i + rank - d.length;
                if (d[i] != 1 && !(axis == 1 && d[i] == channels))
                {
                    return null;
                }
            }
            final float[] v = c.floats();
            final double[] out = new double[channels];
            for (int m = 0; m < channels; m++)
            {
                out[m] = v.length == 1 ? v[0] : v[m];
            }
            return out;
        }

        private double[][] batchNorm(final Node bn, final int channels)
        {
            final float[] gamma = constants.get(bn.input(1)).floats();
            final float[] beta = constants.get(bn.input(2)).floats();
            final float[] mean = constants.get(bn.input(3)).floats();
            final float[] variance = constants.get(bn.input(4)).floats();
            final double epsilon = bn.attrFloat("epsilon", 1e-5f);
            final double[] scale = new double[channels];
            final double[] shift = new double[channels];
            for (int m = 0; m < channels; m++)
            {
                scale[m] = gamma[m] / Math.sqrt((double)variance[m] + epsilon);
                shift[m] = beta[m] - mean[m] * scale[m];
            }
            return new double[][]{scale, shift};
        }

        private static double[] filled(final int n, final double v)
        {
            final double[] out = new double[n];
            Arrays.fill(out, v);
            return out;
        }

        /** @return {@code conv} computing {@code conv(x) * scale + shift} per output channel, writing {@code out}. */
        private Node rescaled(final Node conv, final double[] scale, final double[] shift, final String out)
        {
            final ConstTensor w = constants.get(conv.input(1));
            final long[] wd = w.dims();
            final float[] weights = w.floats();
            final float[] scaled = new float[weights.length];
            final int kernel = (int)(wd[2] * wd[3]);
            final boolean transposed = "ConvTranspose".equals(conv.opType());
            final long group = conv.attrInt("group", 1);
            for (int block = 0; block < wd[0] * wd[1]; block++)
            {
                final int channel;
                if (transposed)
                {
                    // W is [C, M/group, kH, kW]: block (ci, j) feeds output channel (ci / (C/group)) * (M/group) + j.
                    final int ci = (int)(block / wd[1]);
                    final int j = (int)(block % wd[1]);
                    channel = (int)((ci / (wd[0] / group)) * wd[1] + j);
                }
                else
                {
                    channel = (int)(block / wd[1]);
                }
                for (int k = 0; k < kernel; k++)
                {
                    final int at = block * kernel + k;
                    scaled[at] = (float)(weights[at] * scale[channel]);
                }
            }
            final int channels = scale.length;
            final ConstTensor b = conv.input(2).isEmpty() ? null : constants.get(conv.input(2));
            final float[] bias = new float[channels];
            for (int m = 0; m < channels; m++)
            {
                bias[m] = (float)((b == null ? 0.0 : b.floats()[m]) * scale[m] + shift[m]);
            }
            final String weightName = fresh(conv.name() + "_weights_folded");
            final String biasName = fresh(conv.name() + "_bias_folded");
            constants.put(weightName, ConstTensor.ofFloats(wd, scaled));
            constants.put(biasName, ConstTensor.ofFloats(new long[]{channels}, bias));
            return new Node(conv.opType(), conv.name(), List.of(conv.input(0), weightName, biasName), List.of(out),
                conv.attributes());
        }

        private void splitBatchNorms()
        {
            for (int i = 0; i < nodes.size(); i++)
            {
                final Node bn = nodes.get(i);
                if (!"BatchNormalization".equals(bn.opType()))
                {
                    continue;
                }
                final long[] x = shapes.get(bn.input(0));
                final int channels = (int)x[1];
                final double[][] scaleShift = batchNorm(bn, channels);
                final long[] dims = new long[x.length];
                Arrays.fill(dims, 1);
                dims[1] = channels;
                final String scaleName = fresh(bn.name() + "_scale");
                final String shiftName = fresh(bn.name() + "_shift");
                constants.put(scaleName, ConstTensor.ofFloats(dims, rounded(scaleShift[0])));
                constants.put(shiftName, ConstTensor.ofFloats(dims, rounded(scaleShift[1])));
                final String scaled = fresh(bn.output(0) + "_scaled");
                shapes.put(scaled, x.clone());
                final Map<String, Attribute> none = Map.of();
                nodes.set(i, new Node("Mul", fresh(bn.name() + "_mul"), List.of(bn.input(0), scaleName),
                    List.of(scaled), none));
                nodes.add(i + 1, new Node("Add", fresh(bn.name() + "_add"), List.of(scaled, shiftName),
                    List.of(bn.output(0)), none));
            }
        }

        private static float[] rounded(final double[] v)
        {
            final float[] out = new float[v.length];
            for (int i = 0; i < v.length; i++)
            {
                out[i] = (float)v[i];
            }
            return out;
        }
    }
}
