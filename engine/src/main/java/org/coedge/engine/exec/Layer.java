package org.coedge.engine.exec;

import java.util.List;

import org.coedge.kernels.FloatRegion;
import org.coedge.planner.LayerKind;
import org.coedge.planner.RowRange;

/**
 * One prepared operator of a model: its kernel with weights already transformed, bound to the arena views of its
 * inputs and output. The executor calls {@link #run} from several threads at once on disjoint unit ranges (output
 * rows, unless a layer says otherwise), each thread with its own scratch; a layer keeps no mutable state in
 * {@code run}.
 */
public abstract class Layer
{
    private final String name;
    private final String opType;
    protected final List<Value> inputs;
    protected final Value output;
    private Object boundTo;
    private LayerKind kind;
    private long weightBytes;

    protected Layer(final String name, final String opType, final List<Value> inputs, final Value output)
    {
        this.name = name;
        this.opType = opType;
        this.inputs = List.copyOf(inputs);
        this.output = output;
    }

    public String name()
    {
        return name;
    }

    /** @return the operator, with what was fused into it, e.g. {@code Conv+Relu}. */
    public String opType()
    {
        return opType;
    }

    public List<Value> inputs()
    {
        return inputs;
    }

    public Value output()
    {
        return output;
    }

    /**
     * Binds this layer to the arena of its one executor.
     *
     * @throws IllegalStateException if another executor already bound it.
     */
    final void bindTo(final Object executor, final FloatRegion arena)
    {
        if (boundTo != null && boundTo != executor)
        {
            throw new IllegalStateException("layer '" + name + "' is already bound to another executor");
        }
        boundTo = executor;
        bind(arena);
    }

    /** Creates views over {@code arena}; called once after the arena is planned. */
    protected abstract void bind(FloatRegion arena);

    /** @return how many independent units {@link #run} splits: output rows by default. */
    public int units()
    {
        return output.shape().height();
    }

    /** Computes units {@code [from, to)}. Allocates nothing. */
    public abstract void run(int from, int to, FloatRegion scratch, int scratchOffset);

    /**
     * Computes part {@code part} of {@code parts} of the whole layer, the threads of one executor calling it at once
     * with their own scratch: by default an even share of the {@link #units}. Allocates nothing.
     */
    public void runPart(final int part, final int parts, final FloatRegion scratch, final int scratchOffset)
    {
        final int units = units();
        final int from = (int)((long)units * part / parts);
        final int to = (int)((long)units * (part + 1) / parts);
        if (from < to)
        {
            run(from, to, scratch, scratchOffset);
        }
    }

    /** @return scratch floats one call of {@link #run} needs per thread. */
    public int scratchFloats()
    {
        return 0;
    }

    /**
     * The halo function: the rows of input {@code inputIndex} that output rows {@code out} need, clipped to the input.
     * Pointwise by default (the same rows); window operators override it with their kernel's own arithmetic.
     */
    public RowRange inputRows(final int inputIndex, final RowRange out)
    {
        final int height = inputs.get(inputIndex).shape().height();
        return out.isEmpty() ? RowRange.EMPTY : RowRange.of(Math.min(out.start(), height), Math.min(out.end(), height));
    }

    /** @return whether every output row needs every input row (global pooling, fully-connected, reordering reshape). */
    public boolean isGlobal()
    {
        return false;
    }

    /** @return floating-point operations of one full run (a multiply-add counts 2). */
    public abstract long flops();

    /**
     * @return the class of kernel the planner's latency models file this layer under: as set by the lowering for
     * convolutions, else from the operator.
     */
    public LayerKind kind()
    {
        if (kind != null)
        {
            return kind;
        }
        if (isGlobal())
        {
            return LayerKind.GLOBAL;
        }
        final String op = opType;
        if (op.startsWith("MaxPool") || op.startsWith("AveragePool") || op.startsWith("LpPool"))
        {
            return LayerKind.POOL;
        }
        if (op.startsWith("Resize") || op.startsWith("Upsample"))
        {
            return LayerKind.RESIZE;
        }
        if (op.startsWith("Gemm") || op.startsWith("MatMul"))
        {
            return LayerKind.FULLY_CONNECTED;
        }
        if (op.startsWith("Conv") || op.startsWith("Winograd") || op.startsWith("Depthwise"))
        {
            return LayerKind.OTHER;
        }
        return LayerKind.ELEMENTWISE;
    }

    /** Sets the kind the lowering knows better than the operator's name (a convolution's kernel class). */
    Layer kind(final LayerKind kind)
    {
        this.kind = kind;
        return this;
    }

    /** @return bytes of constant weights this layer's kernel holds, as the lowering counted them (0 if idle). */
    public long weightBytes()
    {
        return weightBytes;
    }

    void weightBytes(final long bytes)
    {
        weightBytes = bytes;
    }

    @Override
    public String toString()
    {
        return opType + " '" + name + "' -> " + output.shape();
    }
}
