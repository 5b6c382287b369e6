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
        /** Rows collected on one device: into a SINGLE_DEVICE stage, or the model outputs onto the coordinator. */
        GATHER
    }

    private final Kind kind;
    private final Purpose purpose;
    private final int layer;
    private final RowRange rows;
    private final int peer;
    private final int sequence;
    private final long bytes;

    Step(
        final Kind kind, final Purpose purpose, final int layer, final RowRange rows, final int peer,
        final int sequence, final long bytes)
    {
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

    /** @return payload bytes moved (rows times the layer's bytes per row); 0 for COMPUTE. */
    public long bytes()
    {
        return bytes;
    }

    @Override
    public String toString()
    {
        if (kind == Kind.COMPUTE)
        {
            return "COMPUTE layer " + layer + " rows " + rows;
        }
        return kind + " " + purpose + " layer " + layer + " rows " + rows + (kind == Kind.SEND ? " to " : " from ") +
            peer + " #" + sequence + " (" + bytes + " B)";
    }
}
