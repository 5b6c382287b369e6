package org.coedge.planner;

/**
 * One node of a {@link LayerGraph}: its output shape, which layers it reads, one {@link RowMap} per input, and its
 * cost per output row. A source (the model input) reads nothing and costs nothing to compute.
 * <p>
 * Created by {@link LayerGraph.Builder}; immutable, so safe on any thread.
 */
public final class Layer
{
    private final int id;
    private final String name;
    private final int[] inputIds;
    private final RowMap[] rowMaps;
    private final int heightRows;
    private final int width;
    private final int channels;
    private final long flopsPerRow;
    private final long bytesPerRow;
    private LayerKind kind;
    private long weightBytes;

    Layer(
        final int id,
        final String name,
        final int[] inputIds,
        final RowMap[] rowMaps,
        final int heightRows,
        final int width,
        final int channels,
        final long flopsPerRow,
        final long bytesPerRow)
    {
        this.id = id;
        this.name = name;
        this.inputIds = inputIds.clone();
        this.rowMaps = rowMaps.clone();
        this.heightRows = heightRows;
        this.width = width;
        this.channels = channels;
        this.flopsPerRow = flopsPerRow;
        this.bytesPerRow = bytesPerRow;
        this.kind = inputIds.length == 0 ? LayerKind.SOURCE : LayerKind.OTHER;
    }

    /** Set once by {@link LayerGraph.Builder#describe} before the graph is built; the graph is immutable after. */
    void describe(final LayerKind kind, final long weightBytes)
    {
        this.kind = kind;
        this.weightBytes = weightBytes;
    }

    /** @return the class of kernel this layer runs ({@link LayerKind#OTHER} unless the builder was told). */
    public LayerKind kind()
    {
        return kind;
    }

    /** @return bytes of constant weights (and bias) the layer reads, 0 unless the builder was told. */
    public long weightBytes()
    {
        return weightBytes;
    }

    public int id()
    {
        return id;
    }

    public String name()
    {
        return name;
    }

    public int inputCount()
    {
        return inputIds.length;
    }

    public int inputId(final int index)
    {
        return inputIds[index];
    }

    public RowMap rowMap(final int index)
    {
        return rowMaps[index];
    }

    public boolean isSource()
    {
        return inputIds.length == 0;
    }

    /**
     * @return true if any input map is GLOBAL: the layer needs whole input maps and ends the spatial part.
     */
    public boolean isGlobal()
    {
        for (final RowMap map : rowMaps)
        {
            if (map.isGlobal())
            {
                return true;
            }
        }
        return false;
    }

    public int heightRows()
    {
        return heightRows;
    }

    public int width()
    {
        return width;
    }

    public int channels()
    {
        return channels;
    }

    public long flopsPerRow()
    {
        return flopsPerRow;
    }

    public long bytesPerRow()
    {
        return bytesPerRow;
    }

    public String toString()
    {
        return "Layer{" + id + " " + name + " " + heightRows + "x" + width + "x" + channels + "}";
    }
}
