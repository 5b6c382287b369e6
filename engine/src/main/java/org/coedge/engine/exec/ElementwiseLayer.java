package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.List;

import org.coedge.kernels.Elementwise;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;
import org.coedge.planner.RowRange;

/** A broadcasting binary op; each operand is a runtime value or an NHWC constant. */
final class ElementwiseLayer extends Layer
{
    private final Elementwise kernel;
    private final Value a;
    private final Value b;
    private final MapView constA;
    private final MapView constB;
    private MapView viewA;
    private MapView viewB;
    private MapView out;

    ElementwiseLayer(final String name, final String opType, final Elementwise kernel,
        final Value a, final MapView constA, final Value b, final MapView constB, final Value output)
    {
        super(name, opType, runtime(a, b), output);
        this.kernel = kernel;
        this.a = a;
        this.b = b;
        this.constA = constA;
        this.constB = constB;
    }

    private static List<Value> runtime(final Value a, final Value b)
    {
        final List<Value> list = new ArrayList<>(2);
        if (a != null)
        {
            list.add(a);
        }
        if (b != null)
        {
            list.add(b);
        }
        return list;
    }

    @Override
    protected void bind(final FloatRegion arena)
    {
        viewA = a != null ? a.view(arena) : constA;
        viewB = b != null ? b.view(arena) : constB;
        out = output.view(arena);
    }

    @Override
    public void run(final int from, final int to, final FloatRegion scratch, final int scratchOffset)
    {
        kernel.forward(viewA, viewB, out, from, to);
    }

    @Override
    public RowRange inputRows(final int inputIndex, final RowRange out)
    {
        // an operand of height 1 (a per-channel vector) is read at its row 0 for every output row
        if (!out.isEmpty() && inputs.get(inputIndex).shape().height() == 1)
        {
            return RowRange.of(0, 1);
        }
        return super.inputRows(inputIndex, out);
    }

    @Override
    public long flops()
    {
        return output.shape().size();
    }
}
