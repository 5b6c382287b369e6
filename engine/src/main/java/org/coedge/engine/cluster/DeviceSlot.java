package org.coedge.engine.cluster;

import java.util.List;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.exec.Layouts;
import org.coedge.engine.exec.LocalExecutor;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.exec.StepRunner;
import org.coedge.engine.exec.Value;
import org.coedge.planner.DeviceProgram;

/**
 * What one device of one plan epoch owns: its copy of the model prepared for its program (arena of its windows,
 * weights of the layers it computes), an executor, the Aeron exchange and the step runner over them. Built on the
 * cold path when a plan arrives, closed when the next one replaces it (its owner closes the old slot before it builds
 * the new one, so two copies of the weights are never held at once); run by one thread. Closing frees the weights,
 * arena and scratch off-heap at once rather than when a garbage collection finds them.
 */
final class DeviceSlot implements AutoCloseable
{
    final long epoch;
    final PreparedModel model;
    final LocalExecutor executor;
    final AeronExchange exchange;
    final StepRunner runner;

    DeviceSlot(final long epoch, final Model source, final Map<String, long[]> inputDims,
        final List<DeviceProgram> programs, final int device, final int threads, final AeronExchange exchange)
    {
        this.epoch = epoch;
        this.model = SplitExecutor.prepareFor(source, inputDims, programs.get(device));
        LocalExecutor made = null;
        try
        {
            made = new LocalExecutor(model, threads);
            this.runner = new StepRunner(programs.get(device), model, made, exchange);
        }
        catch (final RuntimeException | Error e)
        {
            if (made != null)
            {
                made.close();
            }
            model.close();
            throw e;
        }
        this.executor = made;
        this.exchange = exchange;
    }

    /** @return bytes of this device's arena, weights and scratch. */
    long memoryBytes()
    {
        return (long)model.arenaFloats() * Float.BYTES + model.weightBytes() +
            (long)Math.max(1, model.scratchFloats()) * Float.BYTES;
    }

    /** Coordinator only: gives input {@code index} (NCHW) to the rows this device scatters. */
    void setInput(final int index, final float[] nchw)
    {
        Layouts.inputRowsInto(model.inputs().get(index), nchw, executor.arena());
    }

    /** Coordinator only: copies output {@code index} (NCHW) out of the arena, where the plan gathered it. */
    void outputInto(final int index, final float[] nchw)
    {
        final Value v = model.outputs().get(index);
        Layouts.outputOf(v, executor.arena().floats(), nchw);
    }

    /** Closes the exchange, then frees the executor's arena and scratch and the model's weights; idempotent. */
    @Override
    public void close()
    {
        exchange.close();
        executor.close();
        model.close();
    }
}
