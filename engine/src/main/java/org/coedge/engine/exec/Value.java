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
    private final int firstRow;
    private final int rowCount;
    /** Images of the batch stacked in the map: rows {@code b*H..(b+1)*H-1} are image b (H = height / images). */
    private final int images;
    /** For a model input taken in another order: the dims the caller gives, the perm (null: same flat order). */
    private long[] givenDims;
    private int[] givenPerm;
    private long[] heldDims;
    private float[] reordered;
    private int[] givenStrides;

    Value(final String name, final MapShape shape, final Storage storage)
    {
        this(name, shape, storage, 0, shape.height());
    }

    /** A value of which this device holds only rows {@code [firstRow, firstRow + rowCount)} (split execution). */
    Value(final String name, final MapShape shape, final Storage storage, final int firstRow, final int rowCount)
    {
        this(name, shape, storage, firstRow, rowCount, 1);
    }

    /**
     * As {@link #Value(String, MapShape, Storage, int, int)} for a batch of {@code images} NHWC maps stacked in
     * {@code shape}, whose height is then {@code images} times an image's.
     */
    Value(final String name, final MapShape shape, final Storage storage, final int firstRow, final int rowCount,
        final int images)
    {
        if (images < 1 || shape.height() % images != 0)
        {
            throw new IllegalArgumentException("value " + name + ": " + images + " images do not divide " + shape);
        }
        this.images = images;
        if (firstRow < 0 || rowCount < 0 || firstRow + rowCount > shape.height())
        {
            throw new IllegalArgumentException("value " + name + ": rows [" + firstRow + ", " +
                (firstRow + rowCount) + ") outside " + shape);
        }
        if ((long)rowCount * shape.rowStride() > storage.sizeFloats)
        {
            throw new IllegalArgumentException("value " + name + " larger than its storage");
        }
        this.name = name;
        this.shape = shape;
        this.storage = storage;
        this.firstRow = firstRow;
        this.rowCount = rowCount;
    }

    /**
     * Marks this model input as taken from the caller's dims {@code given} through {@code perm} (a Transpose's, or
     * null for a reshape that keeps the flat order) into {@code held} dims; cold path.
     */
    void takeInputFrom(final long[] given, final long[] perm, final long[] held)
    {
        givenDims = given.clone();
        heldDims = held.clone();
        if (perm != null)
        {
            givenPerm = new int[perm.length];
            for (int i = 0; i < perm.length; i++)
            {
                givenPerm[i] = (int)perm[i];
            }
            reordered = new float[shape.size()];
            givenStrides = new int[given.length];
            int stride = 1;
            for (int i = given.length - 1; i >= 0; i--)
            {
                givenStrides[i] = stride;
                stride *= (int)given[i];
            }
        }
    }

    /**
     * @return the caller's row-major data in the order this input is held (the same array when no transpose applies);
     * allocation-free.
     */
    public float[] inHeldOrder(final float[] given)
    {
        if (givenPerm == null)
        {
            return given;
        }
        final int rank = heldDims.length;
        for (int j = 0; j < reordered.length; j++)
        {
            int rest = j;
            int src = 0;
            for (int a = rank - 1; a >= 0; a--)
            {
                final int d = (int)heldDims[a];
                src += (rest % d) * givenStrides[givenPerm[a]];
                rest /= d;
            }
            reordered[j] = given[src];
        }
        return reordered;
    }

    /** @return the first row held (0 unless the model was prepared for one device of a split). */
    public int firstRow()
    {
        return firstRow;
    }

    /** @return rows held (the height unless the model was prepared for one device of a split). */
    public int rowCount()
    {
        return rowCount;
    }

    /** @return the region offset of full-map row {@code row}, which must be held. */
    public int rowOffset(final int row)
    {
        if (row < firstRow || row >= firstRow + rowCount)
        {
            throw new IllegalArgumentException("value " + name + ": row " + row + " not held (rows [" + firstRow +
                ", " + (firstRow + rowCount) + "))");
        }
        return offset() + (row - firstRow) * shape.rowStride();
    }

    public String name()
    {
        return name;
    }

    /** @return images of the batch stacked in this map (1 unless an NCHW value of batch N above 1). */
    public int images()
    {
        return images;
    }

    /** @return the NHWC shape of one image of the batch ({@link #shape()} when the batch is 1). */
    public MapShape imageShape()
    {
        return images == 1 ? shape : new MapShape(shape.height() / images, shape.width(), shape.channels());
    }

    /**
     * @return one view per image of the batch over {@code arena}, each holding the rows of that image this device
     * holds (none where its window misses the image); cold path (bind).
     */
    public MapView[] imageViews(final FloatRegion arena)
    {
        final MapShape image = imageShape();
        final int h = image.height();
        final MapView[] views = new MapView[images];
        for (int b = 0; b < images; b++)
        {
            final int lo = Math.max(firstRow, b * h);
            final int hi = Math.min(firstRow + rowCount, (b + 1) * h);
            views[b] = hi > lo ?
                new MapView().wrap(arena, rowOffset(lo), h, image.width(), image.channels(), lo - b * h, hi - lo) :
                new MapView().wrap(arena, offset(), h, image.width(), image.channels(), 0, 0);
        }
        return views;
    }

    public MapShape shape()
    {
        return shape;
    }

    public Storage storage()
    {
        return storage;
    }

    /** @return the region offset of this value's first held float, once the arena is planned. */
    public int offset()
    {
        return storage.offset();
    }

    /** @return a view of the rows held over {@code arena}. */
    public MapView view(final FloatRegion arena)
    {
        return new MapView().wrap(arena, offset(), shape.height(), shape.width(), shape.channels(), firstRow,
            rowCount);
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
