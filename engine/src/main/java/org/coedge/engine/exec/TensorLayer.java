package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.List;

import org.coedge.engine.graph.ConstTensor;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.RegionAllocator;
import org.coedge.kernels.TensorView;

/**
 * A layer running one generic tensor kernel ({@link org.coedge.kernels.TensorOps},
 * {@link org.coedge.kernels.TensorConv}) on whole tensors of any rank: each operand is a runtime value, read through a
 * {@link TensorView} of its logical ONNX dims over its memory (NHWC for a batch-1 map, row-major otherwise), or a
 * constant held off-heap in row-major order. It is one unit of work, computed by one thread, and it needs every row
 * of its inputs: for the planner it ends the row-split part of the model ({@link #isGlobal}).
 * <p>
 * Built by {@link TensorLayers} on the preparing thread; {@link #run} allocates nothing.
 */
final class TensorLayer extends Layer
{
    /** The kernel: derives the views it needs once they are bound, then runs. */
    interface Kernel
    {
        /** Cold: called once after the operand views are bound; may derive views (permuted, broadcast...). */
        void bind(TensorView[] operands, TensorView out);

        /** Hot: computes the whole output. */
        void run();
    }

    /** A kernel of one operand that reads it and writes the output as they are bound. */
    abstract static class OneToOne implements Kernel
    {
        protected TensorView in;
        protected TensorView out;

        @Override
        public void bind(final TensorView[] operands, final TensorView output)
        {
            in = operands[0];
            out = output;
        }
    }

    /** One operand: a runtime value with its logical dims, or a constant. */
    record Operand(Value value, long[] dims, ConstTensor constant)
    {
        static Operand of(final Value value, final long[] dims)
        {
            return new Operand(value, dims, null);
        }

        static Operand of(final ConstTensor constant)
        {
            return new Operand(null, constant.dims(), constant);
        }
    }

    private final List<Operand> operands;
    private final long[] outDims;
    private final Kernel kernel;
    private final long flops;
    private final FloatRegion[] constants;

    TensorLayer(final String name, final String opType, final List<Operand> operands, final Value output,
        final long[] outDims, final Kernel kernel, final long flops, final RegionAllocator memory)
    {
        super(name, opType, runtimeValues(operands), output);
        this.operands = java.util.Collections.unmodifiableList(new ArrayList<>(operands));
        this.outDims = outDims.clone();
        this.kernel = kernel;
        this.flops = flops;
        this.constants = new FloatRegion[operands.size()];
        for (int i = 0; i < operands.size(); i++)
        {
            final ConstTensor c = operands.get(i) == null ? null : operands.get(i).constant();
            if (c != null)
            {
                constants[i] = memory.allocate(Math.max(1, c.size()));
                constants[i].put(0, c.floats());
            }
        }
    }

    private static List<Value> runtimeValues(final List<Operand> operands)
    {
        final List<Value> values = new ArrayList<>();
        for (final Operand o : operands)
        {
            if (o != null && o.value() != null)
            {
                values.add(o.value());
            }
        }
        return values;
    }

    /** @return bytes of the constants this layer holds. */
    long constantBytes()
    {
        long bytes = 0;
        for (final FloatRegion r : constants)
        {
            bytes += r == null ? 0 : 4L * r.length();
        }
        return bytes;
    }

    /** @return a view of {@code value}'s memory in the arena, indexed by its logical dims. */
    static TensorView viewOf(final Value value, final long[] dims)
    {
        final int[] d = toInts(dims);
        if (Lowering.isMap(dims))
        {
            final MapShape s = value.imageShape();
            return new TensorView(d, new int[]{s.size(), 1, s.rowStride(), s.channels()});
        }
        return TensorView.rowMajor(d);
    }

    static int[] toInts(final long[] dims)
    {
        final int[] d = new int[dims.length];
        for (int i = 0; i < d.length; i++)
        {
            d[i] = Math.toIntExact(dims[i]);
        }
        return d;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        final TensorView[] views = new TensorView[operands.size()];
        for (int i = 0; i < views.length; i++)
        {
            final Operand o = operands.get(i);
            if (o == null)
            {
                continue;
            }
            if (o.value() != null)
            {
                checkWhole(o.value());
                views[i] = viewOf(o.value(), o.dims()).bind(arena.floats(), o.value().offset());
            }
            else
            {
                views[i] = TensorView.rowMajor(toInts(o.dims())).bind(constants[i].floats(), 0);
            }
        }
        checkWhole(output);
        kernel.bind(views, viewOf(output, outDims).bind(arena.floats(), output.offset()));
    }

    private void checkWhole(final Value v)
    {
        if (v.firstRow() != 0 || v.rowCount() != v.shape().height())
        {
            throw new IllegalStateException("layer '" + name() + "' needs all of '" + v.name() + "', holds rows [" +
                v.firstRow() + ", " + (v.firstRow() + v.rowCount()) + ")");
        }
    }

    @Override
    public int units()
    {
        return 1;
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        if (from < to)
        {
            kernel.run();
        }
    }

    @Override
    public boolean isGlobal()
    {
        return true;
    }

    @Override
    public long flops()
    {
        return flops;
    }
}
