package org.coedge.engine.exec;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.RowRange;
import org.coedge.planner.Stage;
import org.coedge.planner.StageRows;

/**
 * Runs one inference split by rows over simulated devices in this process: one thread and one arena (a
 * {@link LocalExecutor} over the device's own prepared copy of the model) per device. Each device computes the rows
 * the {@link Plan} gives it, layer by layer; before a layer it takes the input rows it needs but did not compute
 * itself (halo rows, or whole maps for a single-device stage) from the arenas of the devices that did. All devices
 * pass a barrier after every layer, so a row is only read once its producer has written it, and the liveness of
 * every device's arena (the same schedule as unsplit) keeps a value intact until its last reader has run.
 * <p>
 * Each device's copy of the model is prepared with row windows ({@link Lowering.RowWindows}) so that its arena holds,
 * for every value, only the rows it computes or reads (its share plus halos); the model input is scattered the same
 * way. This is the in-process form of the exchange: the transport issue replaces the arena-to-arena copy with Aeron.
 * The devices run on an owned worker pool (the caller is device 0); the barrier still allocates. One caller thread at
 * a time.
 */
public final class SplitExecutor implements AutoCloseable
{
    private final PreparedModel[] models;
    private final LocalExecutor[] devices;
    private final LayerGraph graph;
    private final Plan plan;
    private final int sources;
    private final int[][] producers; // (layer)(input): planner id of the layer that wrote each input
    private final RowRange[][] held; // (device)(planner id): rows of that layer's output valid in the device's arena
    private final RowRange[][][] computed; // (stage)(device)(layer in stage)
    private final RowRange[][] windows; // (device)(planner id): rows the device's arena holds
    private final CyclicBarrier barrier;
    private final WorkerPool pool; // one owned thread per device (the caller is device 0), reused across runs
    private final WorkerPool.Task deviceTask = this::runDeviceOrFail;
    private volatile Throwable rootFailure;

    /**
     * Prepares one copy of {@code model} per device, each holding only its rows, for {@code plan}.
     *
     * @param whole the model prepared unsplit (its layers give the halo functions).
     * @param graph the planner's view of it ({@link PlanGraphs#of}).
     * @param plan  a plan over the devices, validated against {@code graph}.
     */
    public static SplitExecutor create(
        final org.coedge.engine.api.Model model, final java.util.Map<String, long[]> inputDims,
        final PreparedModel whole, final LayerGraph graph, final Plan plan)
    {
        plan.validate(graph);
        final RowRange[][] windows = windows(whole, graph, plan);
        final List<PreparedModel> copies = new ArrayList<>();
        for (int d = 0; d < plan.deviceCount(); d++)
        {
            final RowRange[] rows = windows[d];
            copies.add(model.prepare(inputDims, (id, height) -> rows[id]));
        }
        return new SplitExecutor(copies, graph, plan, windows);
    }

    /** @return per device and value id, the rows the device computes or reads. */
    static RowRange[][] windows(final PreparedModel whole, final LayerGraph graph, final Plan plan)
    {
        final int sources = whole.inputs().size();
        final RowRange[][] windows = new RowRange[plan.deviceCount()][graph.layerCount()];
        for (final RowRange[] w : windows)
        {
            java.util.Arrays.fill(w, RowRange.EMPTY);
        }
        for (final Stage stage : plan.stages())
        {
            final RowRange[][] rows = StageRows.computed(graph, stage);
            for (int d = 0; d < windows.length; d++)
            {
                for (int id = Math.max(stage.firstLayer(), sources); id <= stage.lastLayer(); id++)
                {
                    final RowRange r = rows[d][id - stage.firstLayer()];
                    if (r.isEmpty())
                    {
                        continue;
                    }
                    windows[d][id] = windows[d][id].hull(r);
                    final Layer layer = whole.layers().get(id - sources);
                    final org.coedge.planner.Layer planned = graph.layer(id);
                    for (int j = 0; j < planned.inputCount(); j++)
                    {
                        final int p = planned.inputId(j);
                        final RowRange need = layer.isGlobal() ?
                            RowRange.of(0, graph.layer(p).heightRows()) : layer.inputRows(j, r);
                        windows[d][p] = windows[d][p].hull(need);
                    }
                }
            }
        }
        for (int i = 0; i < whole.outputs().size(); i++)
        {
            final int id = producerOf(whole, whole.outputs().get(i));
            windows[0][id] = RowRange.of(0, graph.layer(id).heightRows());
        }
        return windows;
    }

    SplitExecutor(
        final List<PreparedModel> models, final LayerGraph graph, final Plan plan, final RowRange[][] windows)
    {
        plan.validate(graph);
        if (plan.deviceCount() != models.size())
        {
            throw new IllegalArgumentException("plan has " + plan.deviceCount() + " devices, " + models.size() +
                " models given");
        }
        this.models = models.toArray(new PreparedModel[0]);
        this.graph = graph;
        this.plan = plan;
        this.sources = this.models[0].inputs().size();
        this.devices = new LocalExecutor[this.models.length];
        for (int d = 0; d < devices.length; d++)
        {
            devices[d] = new LocalExecutor(this.models[d], 1);
        }
        final List<Layer> layers = this.models[0].layers();
        this.producers = new int[layers.size()][];
        for (int i = 0; i < layers.size(); i++)
        {
            final org.coedge.planner.Layer planned = graph.layer(sources + i);
            producers[i] = new int[planned.inputCount()];
            for (int j = 0; j < producers[i].length; j++)
            {
                producers[i][j] = planned.inputId(j);
            }
        }
        this.held = new RowRange[devices.length][graph.layerCount()];
        this.windows = windows;
        this.barrier = new CyclicBarrier(devices.length);
        this.pool = new WorkerPool(devices.length, "coedge-device");
        this.computed = new RowRange[plan.stages().size()][][];
        for (int s = 0; s < computed.length; s++)
        {
            computed[s] = StageRows.computed(graph, plan.stages().get(s));
        }
    }

    /** @return device 0's prepared model (all devices hold the same). */
    public PreparedModel model()
    {
        return models[0];
    }

    public int deviceCount()
    {
        return devices.length;
    }

    /** Gives input {@code index} (NCHW) to every device. */
    public void setInput(final int index, final float[] nchw)
    {
        for (int d = 0; d < devices.length; d++)
        {
            final Value v = models[d].inputs().get(index);
            if (nchw.length != v.shape().size())
            {
                throw new IllegalArgumentException("input '" + v.name() + "' needs " + v.shape().size() +
                    " floats, got " + nchw.length);
            }
            Layouts.nchwRowsToNhwc(nchw, devices[d].arena().floats(), v.offset(), v.shape(), v.firstRow(),
                v.rowCount());
        }
    }

    /** Runs the plan once; the outputs are then gathered on device 0. */
    public void run()
    {
        for (int d = 0; d < held.length; d++)
        {
            java.util.Arrays.fill(held[d], RowRange.EMPTY);
            for (int i = 0; i < sources; i++)
            {
                held[d][i] = windows[d][i];
            }
        }
        rootFailure = null;
        pool.run(deviceTask);
        if (rootFailure != null)
        {
            throw new IllegalStateException("split run failed: " + rootFailure, rootFailure);
        }
        for (final Value out : models[0].outputs())
        {
            final int id = producerOf(models[0], out);
            final Value written = outputOf(0, id);
            fetch(0, id, written, RowRange.of(0, written.shape().height()));
        }
    }

    private void runDeviceOrFail(final int d, final int devicesCount)
    {
        try
        {
            runDevice(d);
        }
        catch (final BrokenBarrierException | InterruptedException ex)
        {
            if (ex instanceof InterruptedException)
            {
                Thread.currentThread().interrupt();
            }
            recordFailure(ex);
        }
    }

    private void recordFailure(final Throwable ex)
    {
        synchronized (barrier)
        {
            if (rootFailure == null)
            {
                rootFailure = ex;
            }
        }
    }

    /**
     * Computes device {@code d}'s rows layer by layer. Once any device has failed, no device computes further, but
     * every device still passes every remaining barrier, so all of them finish and none waits for a party that left.
     */
    private void runDevice(final int d) throws InterruptedException, BrokenBarrierException
    {
        final List<Layer> layers = models[d].layers();
        for (int s = 0; s < plan.stages().size(); s++)
        {
            final Stage stage = plan.stages().get(s);
            for (int id = stage.firstLayer(); id <= stage.lastLayer(); id++)
            {
                if (id >= sources && rootFailure == null)
                {
                    try
                    {
                        computeLayer(d, s, stage, id, layers);
                    }
                    catch (final RuntimeException | Error ex)
                    {
                        recordFailure(ex);
                    }
                }
                barrier.await();
            }
        }
    }

    private void computeLayer(final int d, final int s, final Stage stage, final int id, final List<Layer> layers)
    {
        final RowRange rows = computed[s][d][id - stage.firstLayer()];
        final int index = id - sources;
        final Layer layer = layers.get(index);
        if (!rows.isEmpty())
        {
            for (int j = 0; j < producers[index].length; j++)
            {
                final int producer = producers[index][j];
                final Value written = outputOf(d, producer);
                // a global reader (FC after a flatten alias) needs every row of the producer's map
                final RowRange needed = layer.isGlobal() ?
                    RowRange.of(0, written.shape().height()) : layer.inputRows(j, rows);
                fetch(d, producer, written, needed);
            }
            final boolean whole = rows.start() == 0 && rows.end() == layer.output().shape().height();
            devices[d].runLayer(index, whole ? 0 : rows.start(), whole ? layer.units() : rows.end());
        }
        held[d][id] = rows;
    }

    /**
     * Makes rows {@code needed} of layer {@code id}'s output (read by device {@code d} as value {@code v}) valid in
     * device {@code d}'s arena, copying the rows it lacks from the devices that computed them.
     */
    private void fetch(final int d, final int id, final Value v, final RowRange needed)
    {
        final RowRange have = held[d][id];
        if (needed.isEmpty() || (have.start() <= needed.start() && needed.end() <= have.end()))
        {
            return;
        }
        final int rowFloats = v.shape().rowStride();
        final FloatBuffer dst = devices[d].arena().floats();
        for (int row = needed.start(); row < needed.end(); row++)
        {
            if (row >= have.start() && row < have.end())
            {
                continue;
            }
            final int source = holderOf(id, row, d);
            dst.put(v.rowOffset(row), devices[source].arena().floats(), outputOf(source, id).rowOffset(row),
                rowFloats);
        }
        held[d][id] = have.isEmpty() ? needed : RowRange.of(Math.min(have.start(), needed.start()),
            Math.max(have.end(), needed.end()));
    }

    /** @return device {@code d}'s value written by planner layer {@code id} (a model input for a source). */
    private Value outputOf(final int d, final int id)
    {
        return id < sources ? models[d].inputs().get(id) : models[d].layers().get(id - sources).output();
    }

    private int holderOf(final int id, final int row, final int except)
    {
        for (int e = 0; e < devices.length; e++)
        {
            final RowRange r = held[e][id];
            if (e != except && row >= r.start() && row < r.end())
            {
                return e;
            }
        }
        throw new IllegalStateException("no device holds row " + row + " of " + graph.layer(id).name());
    }

    private static int producerOf(final PreparedModel model, final Value v)
    {
        final int sources = model.inputs().size();
        for (int i = model.layers().size() - 1; i >= 0; i--)
        {
            if (model.layers().get(i).output().storage() == v.storage())
            {
                return sources + i;
            }
        }
        for (int i = 0; i < sources; i++)
        {
            if (model.inputs().get(i).storage() == v.storage())
            {
                return i;
            }
        }
        throw new IllegalStateException("no producer for output " + v.name());
    }

    /** @return bytes of device {@code d}'s activation arena (its rows plus halos of every value, with reuse). */
    public long arenaBytes(final int d)
    {
        return (long)models[d].arenaFloats() * Float.BYTES;
    }

    /** Copies output {@code index} (NCHW) out of device 0. */
    public void outputInto(final int index, final float[] nchw)
    {
        final Value v = models[0].outputs().get(index);
        Layouts.nhwcToNchw(devices[0].arena().floats(), v.offset(), nchw, 0, v.shape());
    }

    @Override
    public void close()
    {
        pool.close();
        for (final LocalExecutor e : devices)
        {
            e.close();
        }
    }
}
