package org.coedge.planner;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Compiles a {@link Plan} into one {@link DeviceProgram} per device. The coordinator, device 0, holds the model inputs
 * and receives the gathered outputs.
 * <p>
 * The compiler walks the layers in order and tracks, per device and layer, which rows the device holds. Before a
 * device computes rows of a layer it needs, of each input, the rows the layer's row map gives; every needed row it
 * does not hold becomes part of a message from the lowest-index other device that computed that row (consecutive
 * rows from one sender make one message). A row that no device computed is a plan error, reported here rather than
 * at run time.
 * <p>
 * Placement, so that no buffer is written while it holds something else and no device can deadlock:
 * <ul>
 * <li>a SEND follows the sender's COMPUTE of the rows it carries (input rows: at the start of the coordinator's
 * program); the messages from one sender to one receiver form a FIFO stream, ordered by layer, then by need;</li>
 * <li>an AWAIT comes before the receiver's first COMPUTE that needs it, moved earlier when a later message of the same
 * stream is needed sooner, so the receiver consumes each stream in order. It never moves before the message's layer
 * (every later message in the stream carries a layer at least as late, read by a still later layer), so an engine
 * whose buffers live from their producer to their last reader can write received rows in place.</li>
 * </ul>
 * Every message is sent at its layer and awaited at a later layer, so with buffering for one inference's messages
 * per stream no device waits on a device that waits on it.
 * <p>
 * A {@link Mode#FEATURES} stage's layers are {@code 1 x 1 x C} vectors split by output feature. Their unit is a
 * feature rather than a row: the compiler tracks, moves and steps them in features (steps say so,
 * {@link Step#features()}), and everything else stays in rows. Treating the vector as a map of {@code C} one-float
 * "rows" keeps one code path for holdings, streams and placement; only the edges differ: a feature slice needs the
 * whole input (vector or map), a row-split or single-device reader of a split vector needs all its features, and a
 * device's window of such a vector is its one row, whole, since a vector is small beside the weights it is split to
 * spare.
 * <p>
 * Called by the engine when it prepares a split (the coordinator compiles every device's program and each worker
 * can compile its own from the same plan); stateless, any thread.
 */
public final class StepCompiler
{
    /** The device that holds the model inputs and gathers the outputs. */
    public static final int COORDINATOR = 0;

    private StepCompiler()
    {
    }

    /**
     * @param outputs layer ids whose whole output the coordinator must hold at the end (the model outputs); layers
     *                none of them reads, directly or not, are computed by no device whatever the plan says.
     * @return one program per device of {@code plan}.
     * @throws IllegalArgumentException if the plan does not fit the graph or leaves a needed row uncomputed.
     */
    public static List<DeviceProgram> compile(final LayerGraph graph, final Plan plan, final int[] outputs)
    {
        plan.validate(graph);
        final int devices = plan.deviceCount();
        final int layers = graph.layerCount();
        final RowRange[][] computed = new RowRange[devices][layers];
        final int[] stageOf = new int[layers];
        final boolean[] features = new boolean[layers];
        for (final RowRange[] c : computed)
        {
            Arrays.fill(c, RowRange.EMPTY);
        }
        for (int id = 0; id < layers; id++)
        {
            if (graph.layer(id).isSource())
            {
                computed[COORDINATOR][id] = RowRange.of(0, graph.layer(id).heightRows());
                stageOf[id] = -1;
            }
        }
        for (int s = 0; s < plan.stages().size(); s++)
        {
            final Stage stage = plan.stages().get(s);
            final RowRange[][] rows = StageRows.computed(graph, stage);
            for (int id = stage.firstLayer(); id <= stage.lastLayer(); id++)
            {
                if (graph.layer(id).isSource())
                {
                    continue;
                }
                stageOf[id] = s;
                features[id] = stage.mode() == Mode.FEATURES;
                for (int d = 0; d < devices; d++)
                {
                    computed[d][id] = rows[d][id - stage.firstLayer()];
                }
            }
        }

        dropUnneeded(graph, computed, outputs);
        final Holdings held = new Holdings(devices, layers);
        final RowRange[][] windows = new RowRange[devices][layers];
        for (int d = 0; d < devices; d++)
        {
            for (int id = 0; id < layers; id++)
            {
                windows[d][id] = computed[d][id];
                held.add(d, id, computed[d][id]);
            }
        }
        final List<Message> messages = new ArrayList<>();
        for (int id = 0; id < layers; id++)
        {
            final Layer layer = graph.layer(id);
            for (int d = 0; d < devices; d++)
            {
                final RowRange rows = computed[d][id];
                if (layer.isSource() || rows.isEmpty())
                {
                    continue;
                }
                for (int j = 0; j < layer.inputCount(); j++)
                {
                    final int p = layer.inputId(j);
                    // a feature slice reads the whole input vector; a row of a vector layer's reader needs all its
                    // features, as its one row holds them
                    final RowRange inputRows = features[id] ? RowRange.of(0, graph.layer(p).heightRows()) :
                        RowRanges.inputRows(layer, j, rows);
                    final RowRange need = !features[p] || inputRows.isEmpty() ? inputRows :
                        RowRange.of(0, graph.layer(p).channels());
                    final Mode mode = plan.stages().get(stageOf[id]).mode();
                    final Step.Purpose purpose = graph.layer(p).isSource() ? Step.Purpose.SCATTER :
                        mode == Mode.SINGLE_DEVICE || mode == Mode.FEATURES ? Step.Purpose.GATHER :
                        stageOf[p] == stageOf[id] ? Step.Purpose.HALO : Step.Purpose.REDISTRIBUTE;
                    request(graph, computed, held, messages, d, p, need, id, purpose, features);
                    windows[d][p] = windows[d][p].hull(need);
                }
            }
        }
        for (final int out : outputs)
        {
            if (out < 0 || out >= layers)
            {
                throw new IllegalArgumentException("output layer " + out + " outside [0, " + layers + ")");
            }
            final RowRange all = RowRange.of(0, units(graph, out, features));
            request(graph, computed, held, messages, COORDINATOR, out, all, layers, Step.Purpose.GATHER, features);
            windows[COORDINATOR][out] = windows[COORDINATOR][out].hull(all);
        }
        for (int id = 0; id < layers; id++)
        {
            for (int d = 0; d < devices && features[id]; d++)
            {
                // a device holding any feature of a vector holds the whole vector: its one row
                windows[d][id] = windows[d][id].isEmpty() ? RowRange.EMPTY : RowRange.of(0, 1);
            }
        }
        return assemble(graph, devices, computed, windows, messages, features);
    }

    /**
     * Clears what the plan gives of layers that no output reads, directly or through other layers (the other exits'
     * branches of a multi-exit model when the coordinator gathers one exit): nobody computes or moves them.
     */
    private static void dropUnneeded(final LayerGraph graph, final RowRange[][] computed, final int[] outputs)
    {
        final int layers = graph.layerCount();
        final boolean[] needed = new boolean[layers];
        for (final int out : outputs)
        {
            if (out >= 0 && out < layers)
            {
                needed[out] = true;
            }
        }
        for (int id = layers - 1; id >= 0; id--)
        {
            final Layer layer = graph.layer(id);
            if (needed[id])
            {
                for (int j = 0; j < layer.inputCount(); j++)
                {
                    needed[layer.inputId(j)] = true;
                }
            }
            else if (!layer.isSource())
            {
                for (final RowRange[] c : computed)
                {
                    c[id] = RowRange.EMPTY;
                }
            }
        }
    }

    /** @return how many units a layer's output has: its features if it is split by them, else its rows. */
    private static int units(final LayerGraph graph, final int id, final boolean[] features)
    {
        return features[id] ? graph.layer(id).channels() : graph.layer(id).heightRows();
    }

    /**
     * Adds messages that bring units {@code need} (rows, or features of a layer split by them) of layer {@code p}
     * which device {@code d} lacks.
     */
    private static void request(
        final LayerGraph graph, final RowRange[][] computed, final Holdings held, final List<Message> messages,
        final int d, final int p, final RowRange need, final int consumer, final Step.Purpose purpose,
        final boolean[] features)
    {
        int row = need.start();
        while (row < need.end())
        {
            final int heldEnd = held.endOfHeldRun(d, p, row);
            if (heldEnd > row)
            {
                row = Math.min(heldEnd, need.end());
                continue;
            }
            final int sender = sender(computed, p, row, d);
            if (sender < 0)
            {
                throw new IllegalArgumentException("plan leaves " + (features[p] ? "feature " : "row ") + row +
                    " of layer " + p + " (" +
                    graph.layer(p).name() + ") uncomputed, but device " + d + " needs it for " +
                    (consumer < graph.layerCount() ? "layer " + consumer + " (" + graph.layer(consumer).name() + ")" :
                    "the gathered output"));
            }
            final int end = Math.min(Math.min(need.end(), computed[sender][p].end()), held.startOfNextRun(d, p, row));
            final RowRange rows = RowRange.of(row, end);
            final Layer layer = graph.layer(p);
            final long bytesPerUnit = features[p] ? layer.bytesPerRow() / layer.channels() : layer.bytesPerRow();
            messages.add(new Message(messages.size(), sender, d, p, rows, consumer, purpose,
                rows.rows() * bytesPerUnit));
            held.add(d, p, rows);
            row = end;
        }
    }

    private static int sender(final RowRange[][] computed, final int layer, final int row, final int except)
    {
        for (int e = 0; e < computed.length; e++)
        {
            if (e != except && computed[e][layer].contains(row))
            {
                return e;
            }
        }
        return -1;
    }

    private static List<DeviceProgram> assemble(
        final LayerGraph graph, final int devices, final RowRange[][] computed, final RowRange[][] windows,
        final List<Message> messages, final boolean[] features)
    {
        final int layers = graph.layerCount();
        // streams: per (sender, receiver), ordered by layer then by creation; sequence numbers and await positions
        final List<Message> ordered = new ArrayList<>(messages);
        ordered.sort(Comparator.comparingInt((Message m) -> m.sender).thenComparingInt(m -> m.receiver)
            .thenComparingInt(m -> m.layer).thenComparingInt(m -> m.index));
        int i = 0;
        while (i < ordered.size())
        {
            int j = i;
            while (j < ordered.size() && ordered.get(j).sender == ordered.get(i).sender &&
                ordered.get(j).receiver == ordered.get(i).receiver)
            {
                j++;
            }
            int earliest = Integer.MAX_VALUE;
            for (int k = j - 1; k >= i; k--)
            {
                final Message m = ordered.get(k);
                earliest = Math.min(earliest, m.consumer);
                m.awaitAt = earliest;
                m.sequence = k - i;
            }
            i = j;
        }
        final List<DeviceProgram> programs = new ArrayList<>();
        for (int d = 0; d < devices; d++)
        {
            final List<Step> steps = new ArrayList<>();
            for (int id = 0; id <= layers; id++)
            {
                for (final Message m : ordered)
                {
                    if (m.receiver == d && m.awaitAt == id)
                    {
                        steps.add(new Step(Step.Kind.AWAIT, m.purpose, m.layer, m.rows, m.sender, m.sequence,
                            m.bytes, features[m.layer]));
                    }
                }
                if (id == layers)
                {
                    break;
                }
                if (!graph.layer(id).isSource() && !computed[d][id].isEmpty())
                {
                    steps.add(new Step(Step.Kind.COMPUTE, Step.Purpose.NONE, id, computed[d][id], -1, -1, 0,
                        features[id]));
                }
                for (final Message m : ordered)
                {
                    if (m.sender == d && m.layer == id)
                    {
                        steps.add(new Step(Step.Kind.SEND, m.purpose, m.layer, m.rows, m.receiver, m.sequence,
                            m.bytes, features[m.layer]));
                    }
                }
            }
            programs.add(new DeviceProgram(d, devices, steps, windows[d]));
        }
        return programs;
    }

    /** One row block moving from a sender to a receiver. */
    private static final class Message
    {
        final int index;
        final int sender;
        final int receiver;
        final int layer;
        final RowRange rows;
        final int consumer;
        final Step.Purpose purpose;
        final long bytes;
        int sequence;
        int awaitAt;

        Message(
            final int index, final int sender, final int receiver, final int layer, final RowRange rows,
            final int consumer, final Step.Purpose purpose, final long bytes)
        {
            this.index = index;
            this.sender = sender;
            this.receiver = receiver;
            this.layer = layer;
            this.rows = rows;
            this.consumer = consumer;
            this.purpose = purpose;
            this.bytes = bytes;
        }
    }

    /** Rows held per device and layer, as sorted disjoint runs (a device may hold two pieces of one map). */
    private static final class Holdings
    {
        private final List<List<RowRange>> runs = new ArrayList<>();
        private final int layers;

        Holdings(final int devices, final int layers)
        {
            this.layers = layers;
            for (int i = 0; i < devices * layers; i++)
            {
                runs.add(new ArrayList<>());
            }
        }

        void add(final int d, final int layer, final RowRange rows)
        {
            if (rows.isEmpty())
            {
                return;
            }
            final List<RowRange> list = runs.get(d * layers + layer);
            int start = rows.start();
            int end = rows.end();
            final List<RowRange> merged = new ArrayList<>();
            for (final RowRange r : list)
            {
                if (r.end() < start || r.start() > end)
                {
                    merged.add(r);
                }
                else
                {
                    start = Math.min(start, r.start());
                    end = Math.max(end, r.end());
                }
            }
            merged.add(RowRange.of(start, end));
            merged.sort(Comparator.comparingInt(RowRange::start));
            list.clear();
            list.addAll(merged);
        }

        /** @return the end of the held run containing {@code row}, or {@code row} if it is not held. */
        int endOfHeldRun(final int d, final int layer, final int row)
        {
            for (final RowRange r : runs.get(d * layers + layer))
            {
                if (r.contains(row))
                {
                    return r.end();
                }
            }
            return row;
        }

        /** @return the start of the first held run after {@code row}, or MAX_VALUE. */
        int startOfNextRun(final int d, final int layer, final int row)
        {
            for (final RowRange r : runs.get(d * layers + layer))
            {
                if (r.start() > row)
                {
                    return r.start();
                }
            }
            return Integer.MAX_VALUE;
        }
    }
}
