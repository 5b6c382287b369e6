package org.coedge.engine.exec;

import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;

/**
 * One runtime tensor of a prepared model: its name in the model, its NHWC shape and where it lives. Several values
 * may share one {@link Storage} (a reshape that keeps the memory order is an alias, not a copy). Created by the
 * lowering on the preparing thread; read-only afterwards.
 */
public final class Value
{
    private final String name;
    private final MapShape shape;
    private final Storage storage;

    Value(final String name, final MapShape shape, final Storage storage)
    {
        if (shape.size() > storage.sizeFloats)
        {
            throw new IllegalArgumentException("value " + name + " larger than its storage");
        }
        this.name = name;
        this.shape = shape;
        this.storage = storage;
    }

    public String name()
    {
        return name;
    }

    public MapShape shape()
    {
        return shape;
    }

    public Storage storage()
    {
        return storage;
    }

    /** @return the region offset of this value's first float, once the arena is planned. */
    public int offset()
    {
        return storage.offset();
    }

    /** @return a view of the whole map over {@code arena}. */
    public MapView view(final FloatRegion arena)
    {
        return MapView.of(arena, offset(), shape.height(), shape.width(), shape.channels());
    }

    @Override
    public String toString()
    {
        return name + " " + shape;
    }

    /** A buffer in the arena with the steps during which it must stay intact. */
    public static final class Storage
    {
        final int sizeFloats;
        int firstStep;
        int lastStep;
        int offset = -1;

        Storage(final int sizeFloats, final int firstStep)
        {
            this.sizeFloats = sizeFloats;
            this.firstStep = firstStep;
            this.lastStep = firstStep;
        }

        void useAt(final int step)
        {
            firstStep = Math.min(firstStep, step);
            lastStep = Math.max(lastStep, step);
        }

        public int offset()
        {
            if (offset < 0)
            {
                throw new IllegalStateException("arena not planned yet");
            }
            return offset;
        }

        public int sizeFloats()
        {
            return sizeFloats;
        }
    }
}
