package org.coedge.planner;

/**
 * A contiguous run of layers {@code [firstLayer, lastLayer]}, a {@link Mode}, and per device the rows of the last
 * layer it outputs (for a {@link Mode#FEATURES} stage, output features instead of rows: see {@link #features}). The device ranges are checked here to be contiguous, disjoint and in device order (empty ranges
 * allowed anywhere); {@link Plan#validate(LayerGraph)} checks them against the graph.
 * <p>
 * A PER_LAYER stage built by {@link #perLayer} carries every layer's split, so each layer can be apportioned by its
 * own height. One built by the constructor carries only the last layer's, and its earlier layers are split in
 * proportion to those rows ({@link StageRows}); a stage ending in a very short layer then gives its earlier layers
 * the short layer's coarse ratio (7 rows split 4:3 between equal devices splits 224 rows 128:96).
 * <p>
 * Built by {@link Planner}; immutable, so safe on any thread.
 */
public final class Stage
{
    private final int firstLayer;
    private final int lastLayer;
    private final Mode mode;
    private final RowRange[] deviceRows;
    private final RowRange[][] layerRows; // (layer offset, device); null unless built by perLayer

    public Stage(final int firstLayer, final int lastLayer, final Mode mode, final RowRange[] deviceRows)
    {
        this(firstLayer, lastLayer, mode, deviceRows, null);
    }

    private Stage(
        final int firstLayer,
        final int lastLayer,
        final Mode mode,
        final RowRange[] deviceRows,
        final RowRange[][] layerRows)
    {
        if (firstLayer < 0 || lastLayer < firstLayer)
        {
            throw new IllegalArgumentException("invalid stage layers [" + firstLayer + ", " + lastLayer + "]");
        }
        if (mode == null || deviceRows.length == 0)
        {
            throw new IllegalArgumentException("stage needs a mode and at least one device");
        }
        final int nonEmpty = checkOrdered(firstLayer, lastLayer, lastLayer, deviceRows);
        if (mode == Mode.SINGLE_DEVICE && nonEmpty != 1)
        {
            throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer +
                "]: SINGLE_DEVICE needs exactly one device with rows, got " + nonEmpty);
        }
        this.firstLayer = firstLayer;
        this.lastLayer = lastLayer;
        this.mode = mode;
        this.deviceRows = deviceRows.clone();
        this.layerRows = layerRows;
    }

    /**
     * A PER_LAYER stage from layer {@code firstLayer} on, with every layer's split given: each layer's device ranges
     * obey the same rules as a stage's last-layer ranges, and {@link Plan#validate(LayerGraph)} checks that each
     * covers its layer's height.
     *
     * @param rowsByLayer {@code rowsByLayer[l][device]}: rows of layer {@code firstLayer + l} that the device computes;
     *                    the last entry becomes the stage's {@link #deviceRows(int)}. Copied.
     */
    public static Stage perLayer(final int firstLayer, final RowRange[][] rowsByLayer)
    {
        if (rowsByLayer.length == 0)
        {
            throw new IllegalArgumentException("PER_LAYER stage from layer " + firstLayer + " has no layers");
        }
        final int lastLayer = firstLayer + rowsByLayer.length - 1;
        final int devices = rowsByLayer[rowsByLayer.length - 1].length;
        final RowRange[][] copy = new RowRange[rowsByLayer.length][];
        for (int l = 0; l < rowsByLayer.length; l++)
        {
            if (rowsByLayer[l].length != devices)
            {
                throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer + "]: layer " +
                    (firstLayer + l) + " has " + rowsByLayer[l].length + " device ranges, the last layer " + devices);
            }
            checkOrdered(firstLayer, lastLayer, firstLayer + l, rowsByLayer[l]);
            copy[l] = rowsByLayer[l].clone();
        }
        return new Stage(firstLayer, lastLayer, Mode.PER_LAYER, copy[copy.length - 1], copy);
    }

    /**
     * A FEATURES stage from layer {@code firstLayer} on: a run of fully-connected layers on a {@code 1 x 1 x C}
     * vector, each device computing a contiguous slice of every layer's output features. The ranges here are
     * feature ranges, with the same ordering rules as row ranges; {@link Plan#validate(LayerGraph)} checks that each
     * layer is such a vector layer and that its ranges cover {@code [0, channels)}.
     *
     * @param featuresByLayer {@code featuresByLayer[l][device]}: output features of layer {@code firstLayer + l}
     *                        that the device computes. Copied.
     */
    public static Stage features(final int firstLayer, final RowRange[][] featuresByLayer)
    {
        final Stage perLayer = perLayer(firstLayer, featuresByLayer);
        return new Stage(firstLayer, perLayer.lastLayer, Mode.FEATURES, perLayer.deviceRows, perLayer.layerRows);
    }

    public int firstLayer()
    {
        return firstLayer;
    }

    public int lastLayer()
    {
        return lastLayer;
    }

    public int layerCount()
    {
        return lastLayer - firstLayer + 1;
    }

    public Mode mode()
    {
        return mode;
    }

    public int deviceCount()
    {
        return deviceRows.length;
    }

    /**
     * @return rows of the last layer that device {@code device} outputs.
     */
    public RowRange deviceRows(final int device)
    {
        return deviceRows[device];
    }

    /**
     * @return rows covered by all devices together: {@code [0, heightRows)} of the last layer in a valid plan.
     */
    public int coveredRows()
    {
        int end = 0;
        for (final RowRange r : deviceRows)
        {
            end = Math.max(end, r.end());
        }
        return end;
    }

    /**
     * @return the one device with rows (meaningful for SINGLE_DEVICE), else the first device with rows.
     */
    public int firstDeviceWithRows()
    {
        for (int d = 0; d < deviceRows.length; d++)
        {
            if (!deviceRows[d].isEmpty())
            {
                return d;
            }
        }
        return -1;
    }

    /**
     * @return true if built by {@link #perLayer} or {@link #features}, so {@link #layerRows} gives every layer's
     * split (feature ranges for FEATURES).
     */
    public boolean hasLayerRows()
    {
        return layerRows != null;
    }

    /**
     * @return rows of layer {@code firstLayer() + layerOffset} that {@code device} computes; only if
     * {@link #hasLayerRows()}.
     */
    public RowRange layerRows(final int layerOffset, final int device)
    {
        return layerRows[layerOffset][device];
    }

    public String toString()
    {
        final StringBuilder sb = new StringBuilder("Stage{[").append(firstLayer).append(", ").append(lastLayer)
            .append("] ").append(mode).append(' ').append(java.util.Arrays.toString(deviceRows));
        if (layerRows != null)
        {
            sb.append(" by layer ").append(java.util.Arrays.deepToString(layerRows));
        }
        return sb.append('}').toString();
    }

    /**
     * @return how many ranges are non-empty, after checking that they are contiguous and in device order.
     */
    private static int checkOrdered(
        final int firstLayer, final int lastLayer, final int layer, final RowRange[] ranges)
    {
        int next = 0;
        int nonEmpty = 0;
        for (int d = 0; d < ranges.length; d++)
        {
            final RowRange r = ranges[d];
            if (r == null)
            {
                throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer + "]: device " + d +
                    " has no row range of layer " + layer);
            }
            if (!r.isEmpty())
            {
                if (r.start() != next)
                {
                    throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer + "]: device " + d +
                        " rows " + r + " of layer " + layer + " do not start where the previous device's end (" +
                        next + ")");
                }
                next = r.end();
                nonEmpty++;
            }
        }
        return nonEmpty;
    }
}
