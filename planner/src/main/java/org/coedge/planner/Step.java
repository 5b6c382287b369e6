package org.coedge.planner;

/**
 * One step of a device's compiled program ({@link DeviceProgram}): compute rows of a layer, send rows of a layer's
 * output to a peer, or await rows of a layer's output from a peer. A SEND on one device and the AWAIT on its peer
 * describe the same message: same layer, rows and sequence number in the (sender, receiver) stream, which is FIFO.
 * <p>
 * Built by {@link StepCompiler}; immutable, so safe on any thread.
 */
public final class Step
{
    /** What the device does. */
    public enum Kind
    {
        COMPUTE, SEND, AWAIT
    }

    /** Why rows move: the purpose is only for reports; the executor treats every move alike. */
    public enum Purpose
    {
        /** Computing rows, nothing moves. */
        NONE,
        /** Rows of a model input from the coordinator (device 0) to the devices that read them. */
        SCATTER,
        /** Boundary rows between devices inside a stage. */
        HALO,
        /** Rows moving between stages with different shares or modes. */
        REDISTRIBUTE,
        /**
         * Rows collected on one device: into a SINGLE_DEVICE stage, the model outputs onto the coordinator, or the
         * input of a FEATURES stage and the other devices' feature slices onto each device that computes a slice.
         */
        GATHER
    }

    private final Kind kind;
    private final Purpose purpose;
    private final int layer;
    private final RowRange rows;
    private final int peer;
    private final int sequence;
    private final long bytes;
    private final boolean features;

    Step(
        final Kind kind, final Purpose purpose, final int layer, final RowRange rows, final int peer,
        final int sequence, final long bytes)
    {
        this(kind, purpose, layer, rows, peer, sequence, bytes, false);
    }

    Step(
        final Kind kind, final Purpose purpose, final int layer, final RowRange rows, final int peer,
        final int sequence, final long bytes, final boolean features)
    {
        this.features = features;
        this.kind = kind;
        this.purpose = purpose;
        this.layer = layer;
        this.rows = rows;
        this.peer = peer;
        this.sequence = sequence;
        this.bytes = bytes;
    }

    /** @return a step as given, unchecked (for tests that plant bugs, and for tools); the compiler builds the rest. */
    public static Step of(
        final Kind kind, final Purpose purpose, final int layer, final RowRange rows, final int peer,
        final int sequence, final long bytes)
    {
        return new Step(kind, purpose, layer, rows, peer, sequence, bytes);
    }

    /** @return as {@link #of}, with {@code rows} output features of a vector layer when {@code features}. */
    public static Step of(
        final Kind kind, final Purpose purpose, final int layer, final RowRange rows, final int peer,
        final int sequence, final long bytes, final boolean features)
    {
        return new Step(kind, purpose, layer, rows, peer, sequence, bytes, features);
    }

    /**
     * @return true if {@link #rows()} are output features {@code [start, end)} of a {@code 1 x 1 x C} layer computed
     * in a {@link Mode#FEATURES} stage rather than rows: a slice is then the contiguous floats {@code [start, end)}
     * of the vector (NHWC puts a 1x1 map's channels side by side), so it moves and is written exactly as a row
     * block would be, only with the feature as its unit.
     */
    public boolean features()
    {
        return features;
    }

    public Kind kind()
    {
        return kind;
    }

    public Purpose purpose()
    {
        return purpose;
    }

    /** @return the layer computed (COMPUTE) or whose output rows move (SEND, AWAIT). */
    public int layer()
    {
        return layer;
    }

    public RowRange rows()
    {
        return rows;
    }

    /** @return the receiving (SEND) or sending (AWAIT) device; -1 for COMPUTE. */
    public int peer()
    {
        return peer;
    }

    /** @return the message's index in the FIFO stream from sender to receiver; -1 for COMPUTE. */
    public int sequence()
    {
        return sequence;
    }

    /** @return payload bytes moved (rows times the layer's bytes per row, or features times bytes per feature). */
    public long bytes()
    {
        return bytes;
    }

    @Override
    public String toString()
    {
        final String unit = features ? " features " : " rows ";
        if (kind == Kind.COMPUTE)
        {
            return "COMPUTE layer " + layer + unit + rows;
        }
        return kind + " " + purpose + " layer " + layer + unit + rows + (kind == Kind.SEND ? " to " : " from ") +
            peer + " #" + sequence + " (" + bytes + " B)";
    }
}
