package org.coedge.planner;

/**
 * A contiguous run of layers {@code [firstLayer, lastLayer]}, a {@link Mode}, and per device the rows of the last
 * layer it outputs. The device ranges are checked here to be contiguous, disjoint and in device order (empty ranges
 * allowed anywhere); {@link Plan#validate(LayerGraph)} checks them against the graph. A PER_LAYER stage's earlier
 * layers are split in proportion to these last-layer rows ({@link StageRows}), so a stage ending in a very short
 * layer should be cut before it.
 * <p>
 * Built by {@link Planner}; immutable, so safe on any thread.
 */
public final class Stage
{
    private final int firstLayer;
    private final int lastLayer;
    private final Mode mode;
    private final RowRange[] deviceRows;

    public Stage(final int firstLayer, final int lastLayer, final Mode mode, final RowRange[] deviceRows)
    {
        if (firstLayer < 0 || lastLayer < firstLayer)
        {
            throw new IllegalArgumentException("invalid stage layers [" + firstLayer + ", " + lastLayer + "]");
        }
        if (mode == null || deviceRows.length == 0)
        {
            throw new IllegalArgumentException("stage needs a mode and at least one device");
        }
        int next = 0;
        int nonEmpty = 0;
        for (int d = 0; d < deviceRows.length; d++)
        {
            final RowRange r = deviceRows[d];
            if (r == null)
            {
                throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer + "]: device " + d +
                    " has no row range");
            }
            if (!r.isEmpty())
            {
                if (r.start() != next)
                {
                    throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer + "]: device " + d +
                        " rows " + r + " do not start where the previous device's end (" + next + ")");
                }
                next = r.end();
                nonEmpty++;
            }
        }
        if (mode == Mode.SINGLE_DEVICE && nonEmpty != 1)
        {
            throw new IllegalArgumentException("stage [" + firstLayer + ", " + lastLayer +
                "]: SINGLE_DEVICE needs exactly one device with rows, got " + nonEmpty);
        }
        this.firstLayer = firstLayer;
        this.lastLayer = lastLayer;
        this.mode = mode;
        this.deviceRows = deviceRows.clone();
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

    public String toString()
    {
        return "Stage{[" + firstLayer + ", " + lastLayer + "] " + mode + " " + java.util.Arrays.toString(deviceRows) +
            "}";
    }
}
