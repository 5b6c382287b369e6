package org.coedge.engine.exec;

import org.coedge.kernels.FloatRegion;
import org.coedge.transport.TransportCodes;

/**
 * One device's side of the row exchange: the only way a {@link StepRunner} talks to other devices. A message is a
 * block of whole rows of one layer's output, taken straight from the sender's arena and written straight into the
 * receiver's arena at the same rows; messages from one sender to one receiver form a FIFO stream numbered from 0 in
 * each request, and the receiver names the message it expects, so a message out of order is detected, not used.
 * <p>
 * Hot path: both calls allocate nothing and throw nothing; they return {@link #OK} or a negative code. Called only by
 * the owning device's thread. {@link LocalExchange} connects simulated devices in one process; the transport's Aeron
 * exchange is a drop-in replacement.
 */
public interface RowExchange
{
    // the transport's codes where the meaning is the same, so the Aeron exchange passes them through
    int OK = TransportCodes.OK;
    /** No message (or no room) within the exchange's timeout. */
    int TIMED_OUT = TransportCodes.TIMED_OUT;
    /** The next message in the stream is not the one expected (request, sequence, layer, rows or length differ). */
    int OUT_OF_ORDER = TransportCodes.OUT_OF_ORDER;
    /** The request was aborted because another device failed. */
    int ABORTED = TransportCodes.ABORTED;
    /** The region and offset given do not hold the floats named. */
    int BAD_RANGE = TransportCodes.BAD_RANGE;
    /** The peer is not part of this exchange. */
    int BAD_PEER = -5;
    /** The channel to the peer is closed. */
    int CLOSED = TransportCodes.CLOSED;

    /**
     * Sends rows {@code [firstRow, firstRow + rowCount)} of layer {@code layer}: {@code floats} floats at
     * {@code offsetFloats} in {@code src}.
     */
    int send(
        int peer, long request, int sequence, int layer, int firstRow, int rowCount, FloatRegion src,
        int offsetFloats, int floats);

    /**
     * Waits for the message named and copies its {@code floats} floats to {@code offsetFloats} in {@code dst}.
     */
    int await(
        int peer, long request, int sequence, int layer, int firstRow, int rowCount, FloatRegion dst,
        int offsetFloats, int floats);

    /** @return a short description of the last failure on this endpoint (cold path, may allocate). */
    String lastError();

    /** @return a name for a return code. */
    static String codeName(final int code)
    {
        return code == BAD_PEER ? "BAD_PEER" : TransportCodes.name(code);
    }
}
