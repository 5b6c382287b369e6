package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.coedge.engine.api.Model;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.StepCompiler;

/**
 * Runs one inference split by rows over simulated devices in this process. The {@link Plan} is compiled into one
 * {@link DeviceProgram} per device ({@link StepCompiler}); each device owns a copy of the model prepared for its
 * program (an arena holding only its rows plus halos, weights only of the layers it computes, and of a
 * fully-connected layer split by output features only its slice's), a {@link StepRunner},
 * and an endpoint of a {@link LocalExchange}, through which every row that crosses devices travels as a message.
 * Device 0 is the coordinator: it takes the inputs, scatters their rows, and gathers the outputs.
 * <p>
 * The devices run on an owned worker pool, one thread each (the caller is device 0). When a device fails, it aborts
 * the exchange so that no other device waits for it, and {@link #run()} throws with the failing step named. One
 * caller thread at a time; after construction a run allocates nothing but the pool's hand-off. It owns the copies it
 * prepared: {@link #close()} frees their weights, arenas and scratch off-heap.
 */
public final class SplitExecutor implements AutoCloseable
{
    /** How long a device waits for a message before the run fails, unless told otherwise. */
    public static final long DEFAULT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    private final List<DeviceProgram> programs;
    private final PreparedModel[] models;
    private final LocalExecutor[] executors;
    private final StepRunner[] runners;
    private final int[] codes;
    private final LocalExchange exchange;
    private final WorkerPool pool;
    private final WorkerPool.Task deviceTask = this::runDevice;
    private long request;

    /**
     * Compiles {@code plan} and prepares one copy of {@code model} per device for its program.
     *
     * @param whole the model prepared unsplit (its outputs name what to gather).
     * @param graph the planner's view of it ({@link PlanGraphs#of}).
     */
    public static SplitExecutor create(
        final Model model, final Map<String, long[]> inputDims, final PreparedModel whole, final LayerGraph graph,
        final Plan plan)
    {
        return create(model, inputDims, compile(whole, graph, plan), DEFAULT_TIMEOUT_NS);
    }

    /** @return every device's program for {@code plan}, gathering {@code whole}'s outputs on device 0. */
    public static List<DeviceProgram> compile(final PreparedModel whole, final LayerGraph graph, final Plan plan)
    {
        return StepCompiler.compile(graph, plan, outputLayers(whole, graph));
    }

    /** @return the planner layers whose outputs are {@code whole}'s outputs, in its output order. */
    public static int[] outputLayers(final PreparedModel whole, final LayerGraph graph)
    {
        final int[] outputs = new int[whole.outputs().size()];
        for (int i = 0; i < outputs.length; i++)
        {
            outputs[i] = producerOf(whole, whole.outputs().get(i));
        }
        return outputs;
    }

    /** Prepares one copy of {@code model} per program; a send or await waits at most {@code timeoutNs}. */
    public static SplitExecutor create(
        final Model model, final Map<String, long[]> inputDims, final List<DeviceProgram> programs,
        final long timeoutNs)
    {
        final List<PreparedModel> copies = new ArrayList<>();
        try
        {
            for (final DeviceProgram program : programs)
            {
                copies.add(prepareFor(model, inputDims, program));
            }
            return new SplitExecutor(copies, programs, timeoutNs);
        }
        catch (final RuntimeException | Error e)
        {
            copies.forEach(PreparedModel::close);
            throw e;
        }
    }

    /**
     * @return {@code model} prepared for one device's program: an arena for its windows only, and weights only for
     * the layers it computes.
     */
    public static PreparedModel prepareFor(
        final Model model, final Map<String, long[]> inputDims, final DeviceProgram program)
    {
        final int sources = model.inputNames().size();
        return model.prepare(inputDims, new Lowering.RowWindows()
        {
            public org.coedge.planner.RowRange rows(final int valueId, final int height)
            {
                return program.window(valueId);
            }

            public boolean runsLayer(final int layerIndex)
            {
                return program.computes(sources + layerIndex);
            }

            public org.coedge.planner.RowRange features(final int layerIndex)
            {
                return program.computesFeatures(sources + layerIndex) ? program.computed(sources + layerIndex) : null;
            }
        });
    }

    /**
     * @return {@code model} lowered with every row and no weights (every layer idle): enough to plan and compile,
     * at the cost of an unsplit arena and none of the weights.
     */
    public static PreparedModel skeleton(final Model model, final Map<String, long[]> inputDims)
    {
        return model.prepare(inputDims, new Lowering.RowWindows()
        {
            public org.coedge.planner.RowRange rows(final int valueId, final int height)
            {
                return org.coedge.planner.RowRange.of(0, height);
            }

            public boolean runsLayer(final int layerIndex)
            {
                return false;
            }
        });
    }

    private SplitExecutor(final List<PreparedModel> models, final List<DeviceProgram> programs, final long timeoutNs)
    {
        this.programs = List.copyOf(programs);
        this.models = models.toArray(new PreparedModel[0]);
        final int devices = this.models.length;
        this.exchange = new LocalExchange(programs, timeoutNs);
        this.executors = new LocalExecutor[devices];
        this.runners = new StepRunner[devices];
        this.codes = new int[devices];
        try
        {
            for (int d = 0; d < devices; d++)
            {
                executors[d] = new LocalExecutor(this.models[d], 1);
                runners[d] = new StepRunner(programs.get(d), this.models[d], executors[d], exchange.endpoint(d));
            }
        }
        catch (final RuntimeException | Error e)
        {
            for (final LocalExecutor made : executors)
            {
                if (made != null)
                {
                    made.close();
                }
            }
            throw e; // create() closes the models
        }
        this.pool = new WorkerPool(devices, "coedge-device");
    }

    /** @return the coordinator's prepared model (every device has the same values, with other windows). */
    public PreparedModel model()
    {
        return models[0];
    }

    public int deviceCount()
    {
        return models.length;
    }

    public List<DeviceProgram> programs()
    {
        return programs;
    }

    /** @return device {@code d}'s runner (its compute, send and wait times). */
    public StepRunner runner(final int d)
    {
        return runners[d];
    }

    /** Gives input {@code index} (NCHW) to the coordinator, which scatters its rows when the plan runs. */
    public void setInput(final int index, final float[] nchw)
    {
        Layouts.inputRowsInto(models[0].inputs().get(index), nchw, executors[0].arena());
    }

    /**
     * Runs every device's program once; the outputs are then on device 0.
     *
     * @throws IllegalStateException naming the device and step that failed first.
     */
    public void run()
    {
        exchange.reset();
        request++;
        pool.run(deviceTask);
        for (int d = 0; d < runners.length; d++)
        {
            if (codes[d] != RowExchange.OK && runners[d].failedFirst())
            {
                throw new IllegalStateException("split run failed: " + runners[d].failure(),
                    runners[d].failureCause());
            }
        }
        for (int d = 0; d < runners.length; d++)
        {
            if (codes[d] != RowExchange.OK)
            {
                throw new IllegalStateException("split run failed: " + runners[d].failure());
            }
        }
    }

    private void runDevice(final int d, final int devices)
    {
        codes[d] = runners[d].run(request);
        if (codes[d] != RowExchange.OK)
        {
            exchange.abort();
        }
    }

    /** @return bytes of device {@code d}'s activation arena (its rows plus halos of every value, with reuse). */
    public long arenaBytes(final int d)
    {
        return (long)models[d].arenaFloats() * Float.BYTES;
    }

    /** @return bytes of prepared weights and constants of the layers device {@code d} computes. */
    public long weightBytes(final int d)
    {
        return models[d].weightBytes();
    }

    /**
     * @return device {@code d}'s peak memory for activations, weights, kernel scratch and receive buffers: all of it
     * allocated when the executor is built and held for its life, so peak and steady state are the same.
     */
    public long memoryBytes(final int d)
    {
        return arenaBytes(d) + weightBytes(d) + (long)Math.max(1, models[d].scratchFloats()) * Float.BYTES +
            exchange.receiveBufferBytes(d);
    }

    /** @return bytes of device {@code d}'s receive buffers. */
    public long receiveBufferBytes(final int d)
    {
        return exchange.receiveBufferBytes(d);
    }

    /** Copies output {@code index} (NCHW) out of device 0. */
    public void outputInto(final int index, final float[] nchw)
    {
        final Value v = models[0].outputs().get(index);
        Layouts.outputOf(v, executors[0].arena().floats(), nchw);
    }

    public static int producerOf(final PreparedModel model, final Value v)
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

    @Override
    public void close()
    {
        pool.close();
        for (final LocalExecutor e : executors)
        {
            e.close();
        }
        for (final PreparedModel m : models)
        {
            m.close();
        }
    }
}
