package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.engine.graph.Graph;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.graph.Node;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.RegionOwner;

/**
 * Turns a folded, optimized {@link Graph} (NCHW, static shapes) into a {@link PreparedModel}: NHWC values, layers
 * with prepared kernels, activations fused into their producers, reshapes that keep memory order turned into
 * aliases, and every activation buffer placed in one arena by liveness. Every region of prepared weights and constants
 * comes from one {@link RegionOwner} that the prepared model takes over (and frees when it is closed), or that is
 * freed here when lowering fails. Cold path, on the preparing thread.
 */
public final class Lowering
{
    /**
     * The rows of each value one device holds, for a model prepared for one device of a split: value ids are those of
     * {@link PlanGraphs} (model input {@code i} is {@code i}, layer {@code j}'s output is {@code inputs + j}).
     */
    @FunctionalInterface
    public interface RowWindows
    {
        /** Every row of every value: the unsplit model. */
        RowWindows FULL = (id, height) -> org.coedge.planner.RowRange.of(0, height);

        org.coedge.planner.RowRange rows(int valueId, int height);

        /**
         * @return whether this device computes any rows of layer {@code layerIndex} (an index into
         * {@link PreparedModel#layers()}); a layer it never computes is lowered without its weights.
         */
        default boolean runsLayer(final int layerIndex)
        {
            return true;
        }

        /**
         * @return the output features of fully-connected layer {@code layerIndex} this device computes when it
         * computes only a slice of them (a feature split): the layer is then lowered with that slice's weights only.
         * Null (the default) for all of them.
         */
        default org.coedge.planner.RowRange features(final int layerIndex)
        {
            return null;
        }
    }

    private final Graph graph;
    private final RowWindows windows;
    private final Map<String, Value> values = new HashMap<>();
    private final Map<String, List<Node>> consumers = new HashMap<>();
    private final Set<Node> absorbed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    /** Values that are an NCHW flatten of a map with H*W > 1, aliased without reordering: the source shape. */
    private final Map<String, MapShape> flattenedFrom = new HashMap<>();
    private final List<Layer> layers = new ArrayList<>();
    private final Set<String> graphOutputs;
    private final boolean winograd;
    private final boolean residualFusion;
    private final boolean affineFusion;
    private final RegionOwner memory;
    private long weightBytes;

    private Lowering(final Graph graph, final RowWindows windows, final boolean winograd)
    {
        this.graph = graph;
        this.windows = windows;
        this.winograd = winograd;
        this.residualFusion = !"false".equalsIgnoreCase(System.getProperty(RESIDUAL_FUSION_PROPERTY, "true").trim());
        this.affineFusion = !"false".equalsIgnoreCase(System.getProperty(AFFINE_FUSION_PROPERTY, "true").trim());
        this.memory = new RegionOwner("prepared weights of model '" + graph.name() + "'");
        this.graphOutputs = new HashSet<>(graph.outputs());
        for (final Node n : graph.nodes())
        {
            for (final String in : n.inputs())
            {
                if (!in.isEmpty())
                {
                    consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
    }

    /**
     * Lowers a folded graph.
     *
     * @throws ModelException naming the node when an operator or a shape cannot be executed.
     */
    public static PreparedModel lower(final Graph folded)
    {
        return lower(folded, RowWindows.FULL);
    }

    /**
     * Lowers a folded graph for one device of a split: each value holds only the rows {@code windows} gives it, so
     * the arena is planned for those rows alone.
     */
    public static PreparedModel lower(final Graph folded, final RowWindows windows)
    {
        return lower(folded, windows, winogradByDefault());
    }

    /**
     * As {@link #lower(Graph, RowWindows)}, choosing whether 3x3 stride-1 convolutions may use Winograd F(4x4, 3x3)
     * where it is faster ({@link org.coedge.kernels.WinogradConv2d#preferred}).
     */
    public static PreparedModel lower(final Graph folded, final RowWindows windows, final boolean winograd)
    {
        final Lowering lowering = new Lowering(folded, windows, winograd);
        try
        {
            return lowering.build();
        }
        catch (final RuntimeException | Error e)
        {
            lowering.memory.close();
            throw e;
        }
    }

    /**
     * Name of the system property that turns Winograd off for the whole process ({@code -Dcoedge.winograd=false};
     * the command line's {@code --winograd off} sets it). Every device of a cluster must use the same choice: it
     * changes the rows a layer reads, so the coordinator's plan and each worker's program depend on it.
     */
    public static final String WINOGRAD_PROPERTY = "coedge.winograd";

    /**
     * Name of the system property that keeps every {@code Add} a layer of its own
     * ({@code -Dcoedge.fuseResidual=false}), for measuring what the fusion saves; like {@link #WINOGRAD_PROPERTY} it changes the layer list, so every device
     * of a cluster must run with the same value.
     */
    public static final String RESIDUAL_FUSION_PROPERTY = "coedge.fuseResidual";
    /**
     * Name of the system property that keeps every scalar {@code Mul} and {@code Add} after a convolution a layer of
     * its own ({@code -Dcoedge.fuseAffine=false}), for measuring what {@link Fusion#affine} saves; like
     * {@link #RESIDUAL_FUSION_PROPERTY}, every device of a cluster must run with the same value.
     */
    public static final String AFFINE_FUSION_PROPERTY = "coedge.fuseAffine";

    /** @return the process's default: Winograd allowed unless {@link #WINOGRAD_PROPERTY} is {@code false}. */
    public static boolean winogradByDefault()
    {
        return !"false".equalsIgnoreCase(System.getProperty(WINOGRAD_PROPERTY, "true").trim());
    }

    /** @return true if this lowering may choose Winograd convolutions. */
    boolean winograd()
    {
        return winograd;
    }

    private PreparedModel build()
    {
        final List<Value> inputs = new ArrayList<>();
        final List<long[]> inputDims = new ArrayList<>();
        for (final String in : graph.inputs())
        {
            final long[] dims = graph.shape(in);
            final Node layout = layoutReader(in);
            final Value v;
            if (layout != null)
            {
                // The model's first step only reorders its input (an exporter's NHWC -> NCHW transpose, a flatten):
                // the input is taken in that order as it is copied in, so the rows after it can be split.
                final long[] held = graph.shape(layout.output(0));
                v = newValue(in, toMapShape(held, "input '" + in + "'"), imagesOf(held), inputs.size());
                v.takeInputFrom(dims, "Transpose".equals(layout.opType()) ? layout.attrInts("perm", null) : null,
                    held);
                values.put(layout.output(0), v);
                absorbed.add(layout);
            }
            else
            {
                v = newValue(in, toMapShape(dims, "input '" + in + "'"), imagesOf(dims), inputs.size());
            }
            values.put(in, v);
            inputs.add(v);
            inputDims.add(dims);
        }
        for (final Node node : graph.nodes())
        {
            if (!absorbed.contains(node))
            {
                try
                {
                    LayerFactory.lower(this, node);
                }
                catch (final IllegalArgumentException ex)
                {
                    throw ModelException.at(node, ex.getMessage());
                }
            }
        }
        final List<Value> outputs = new ArrayList<>();
        final List<long[]> outputDims = new ArrayList<>();
        for (final String out : graph.outputs())
        {
            final Value v = values.get(out);
            if (v == null)
            {
                throw new ModelException("output '" + out + "' is a constant or not computed by any node");
            }
            v.storage().useAt(layers.size());
            outputs.add(v);
            outputDims.add(graph.shape(out));
        }
        // inputs stay live to the end, so a model run again without new inputs reads the same ones
        for (final Value v : inputs)
        {
            v.storage().useAt(layers.size());
        }
        final ArenaPlanner planner = new ArenaPlanner();
        final Map<Value.Storage, Integer> ids = new LinkedHashMap<>();
        for (final Value v : values.values())
        {
            ids.computeIfAbsent(v.storage(), s -> planner.add(s.sizeFloats, s.firstStep, s.lastStep));
        }
        final long arenaFloats = planner.plan();
        if (arenaFloats > Integer.MAX_VALUE - 64)
        {
            throw new ModelException("activations need " + arenaFloats + " floats, more than one arena can hold");
        }
        for (final Map.Entry<Value.Storage, Integer> e : ids.entrySet())
        {
            e.getKey().offset = (int)planner.offset(e.getValue());
        }
        int scratch = 0;
        for (final Layer l : layers)
        {
            scratch = Math.max(scratch, l.scratchFloats());
        }
        return new PreparedModel(graph.name(), layers, inputs, inputDims, outputs, outputDims, (int)arenaFloats,
            planner.sizeWithoutReuse(), scratch, weightBytes, memory);
    }

    /**
     * @return the node that is the only reader of model input {@code in} when it only reorders it (a Transpose, or a
     * Reshape whose element order differs from the map's), so that the input can be taken in that order; else null.
     */
    private Node layoutReader(final String in)
    {
        final List<Node> readers = consumersOf(in);
        if (readers.size() != 1 || isGraphOutput(in))
        {
            return null;
        }
        final Node r = readers.get(0);
        final boolean layout = "Transpose".equals(r.opType()) || "Reshape".equals(r.opType());
        if (!layout || isGraphOutput(r.output(0)) || graph.inputs().contains(r.output(0)))
        {
            return null;
        }
        final long[] out = graph.shape(r.output(0));
        // Only worth it where the reordered input is a map the convolutions after it split by rows.
        return isMap(out) && out[2] > 1 ? r : null;
    }

    // ---------------------------------------------------------------- services for LayerFactory

    Graph graph()
    {
        return graph;
    }

    /** @return where every prepared weight and constant of this model is allocated; the model frees it on close. */
    RegionOwner memory()
    {
        return memory;
    }

    /** @return the runtime value {@code name}, or throws if it is a constant or unknown. */
    Value value(final String name)
    {
        final Value v = values.get(name);
        if (v == null)
        {
            if (graph.isConstant(name))
            {
                throw new IllegalArgumentException("input '" + name + "' is a constant where runtime data is needed");
            }
            throw new IllegalArgumentException("input '" + name + "' is not computed by any earlier node");
        }
        return v;
    }

    boolean isConstant(final String name)
    {
        return graph.isConstant(name);
    }

    ConstTensor constant(final String name)
    {
        final ConstTensor c = graph.constants().get(name);
        if (c == null)
        {
            throw new IllegalArgumentException("input '" + name + "' must be a constant");
        }
        return c;
    }

    long[] dims(final String name)
    {
        return graph.shape(name);
    }

    /** @return the NHWC shape the source of a flatten alias had, or null. */
    MapShape flattenedFrom(final String name)
    {
        return flattenedFrom.get(name);
    }

    /** Creates the output value of a new layer, in fresh storage. */
    Value newOutput(final String name)
    {
        final long[] dims = graph.shape(name);
        final Value v = newValue(name, toMapShape(dims, "value '" + name + "'"), imagesOf(dims),
            graph.inputs().size() + layers.size());
        values.put(name, v);
        return v;
    }

    /** Registers {@code name} as another view of {@code source}'s memory with shape {@code shape}. */
    void alias(final String name, final Value source, final MapShape shape, final MapShape flattenSource)
    {
        final boolean sameRows = shape.height() == source.shape().height();
        final boolean whole = source.firstRow() == 0 && source.rowCount() == source.shape().height();
        final int images = imagesOf(graph.shape(name));
        values.put(name, sameRows ? new Value(name, shape, source.storage(), source.firstRow(), source.rowCount(),
            images) : new Value(name, shape, source.storage(), 0, whole ? shape.height() : 0, images));
        if (flattenSource != null)
        {
            flattenedFrom.put(name, flattenSource);
        }
    }

    /** @return whether the layer lowered next runs on this device (else it is added as an {@link IdleLayer}). */
    boolean runsNextLayer()
    {
        return windows.runsLayer(layers.size());
    }

    /** @return the slice of the next layer's output features this device computes, or null for all of them. */
    org.coedge.planner.RowRange nextLayerFeatures()
    {
        return windows.features(layers.size());
    }

    /**
     * Adds a layer as the next step; records the lifetimes of its values. A layer this device never runs is replaced
     * by an {@link IdleLayer} and its weights are dropped.
     */
    void add(final Layer built, final long layerWeightBytes)
    {
        add(built, layerWeightBytes, layerWeightBytes);
    }

    /**
     * As {@link #add(Layer, long)} for a layer whose kernel holds only {@code heldWeightBytes} of its
     * {@code layerWeightBytes} (a slice of a fully-connected layer's features): the layer still reports the whole
     * layer's bytes to the planner, the device counts what it holds.
     */
    void add(final Layer built, final long layerWeightBytes, final long heldWeightBytes)
    {
        final int step = layers.size();
        final boolean runs = windows.runsLayer(step);
        final Layer layer = runs || built instanceof IdleLayer ? built :
            IdleLayer.of(built);
        for (final Value v : layer.inputs())
        {
            v.storage().useAt(step);
        }
        layer.output().storage().useAt(step);
        layer.weightBytes(layerWeightBytes);
        layers.add(layer);
        weightBytes += runs ? heldWeightBytes : 0;
    }

    /** @return the nodes reading {@code value}. */
    List<Node> consumersOf(final String value)
    {
        return consumers.getOrDefault(value, List.of());
    }

    boolean isGraphOutput(final String value)
    {
        return graphOutputs.contains(value);
    }

    /** Marks {@code n} as computed by the layer being built (a fusion absorbed it). */
    void absorb(final Node n)
    {
        absorbed.add(n);
    }

    boolean residualFusion()
    {
        return residualFusion;
    }

    boolean affineFusion()
    {
        return affineFusion;
    }

    boolean hasValue(final String name)
    {
        return values.containsKey(name);
    }

    // ---------------------------------------------------------------- shapes and constants

    private Value newValue(final String name, final MapShape shape, final int images, final int valueId)
    {
        final org.coedge.planner.RowRange rows = windows.rows(valueId, shape.height());
        return new Value(name, shape, new Value.Storage(rows.rows() * shape.rowStride(), layers.size()),
            rows.start(), rows.rows(), images);
    }

    /** @return whether a value of {@code dims} is held as NHWC maps: rank 4, of any batch ({@link ImageBatch}). */
    static boolean isMap(final long[] dims)
    {
        return dims.length == 4;
    }

    /** @return the images a value of {@code dims} stacks: its batch if it is a map, else 1. */
    static int imagesOf(final long[] dims)
    {
        return isMap(dims) ? Math.toIntExact(dims[0]) : 1;
    }

    /**
     * Maps NCHW dims to NHWC: {@code [N,C,H,W]} to (N*H,W,C), the N images stacked by rows ({@link ImageBatch});
     * every other tensor (a vector, rank 0..3 or 5..8) is held dense in row-major order as (1,1,size).
     */
    static MapShape toMapShape(final long[] dims, final String what)
    {
        long size = 1;
        for (final long d : dims)
        {
            if (d < 1 || d > Integer.MAX_VALUE)
            {
                throw new ModelException(what + " has unusable dims " + Arrays.toString(dims));
            }
            size *= d;
            if (size > Integer.MAX_VALUE)
            {
                throw new ModelException(what + " of dims " + Arrays.toString(dims) + " is too large");
            }
        }
        if (dims.length > 8)
        {
            throw new ModelException(what + " has rank " + dims.length + "; the engine handles ranks 0 to 8");
        }
        if (isMap(dims))
        {
            return new MapShape(Math.toIntExact(dims[0] * dims[2]), (int)dims[3], (int)dims[1]);
        }
        return new MapShape(1, 1, (int)size);
    }

    /**
     * Lays out a constant operand of a broadcasting binary op in NHWC, aligned to an output of rank
     * {@code outputRank} per ONNX (numpy) broadcasting.
     *
     * @return (region, shape) with each of the shape's H, W, C either the output's or 1.
     */
    ConstOperand nhwcConstant(final ConstTensor c, final int outputRank)
    {
        final long[] d = c.dims();
        if (d.length > outputRank)
        {
            throw new IllegalArgumentException("constant of rank " + d.length + " broadcast to rank " + outputRank);
        }
        final long[] aligned = new long[outputRank];
        Arrays.fill(aligned, 1);
        System.arraycopy(d, 0, aligned, outputRank - d.length, d.length);
        final long batch = outputRank >= 2 ? aligned[0] : 1;
        final int ch = (int)(outputRank == 4 ? aligned[1] : aligned[outputRank - 1]);
        final int h = outputRank == 4 ? (int)aligned[2] : 1;
        final int w = outputRank == 4 ? (int)aligned[3] : 1;
        if (batch != 1 || (outputRank != 4 && outputRank != 2 && outputRank != 1))
        {
            throw new IllegalArgumentException("constant " + Arrays.toString(d) + " cannot broadcast to a rank " +
                outputRank + " batch-1 tensor");
        }
        final MapShape shape = new MapShape(h, w, ch);
        final float[] src = c.floats();
        final float[] nhwc = new float[shape.size()];
        for (int k = 0; k < ch; k++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    nhwc[(y * w + x) * ch + k] = src[(k * h + y) * w + x];
                }
            }
        }
        final FloatRegion region = memory.allocate(nhwc.length);
        region.put(0, nhwc);
        return new ConstOperand(region, shape);
    }

    /** A constant operand in NHWC off-heap memory. */
    record ConstOperand(FloatRegion region, MapShape shape)
    {
    }
}
