package org.coedge.engine.exec;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.BitUtil;
import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.ControlledMessageHandler;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.coedge.kernels.FloatRegion;
import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Step;

/**
 * The in-process {@link RowExchange} between simulated devices: one single-producer single-consumer ring buffer
 * (Agrona's {@link OneToOneRingBuffer}, off-heap) per (sender, receiver) stream. A send claims space in the ring and
 * copies the rows from the sender's arena into it; an await reads the stream's next record, checks its header and
 * copies the rows into the receiver's arena. Rows cross threads only through the rings, as they will cross the
 * network, so an ordering bug in the step programs shows here.
 * <p>
 * Each ring holds every message of its stream for one request (sized from the compiled programs), so a sender never
 * waits for room and devices cannot deadlock through a full ring. Blocks larger than a chunk are split into chunks
 * and reassembled in place.
 * <p>
 * Created by {@link SplitExecutor}; each endpoint is used by one device thread; {@link #reset} and {@link #abort} by
 * the coordinating thread.
 */
public final class LocalExchange
{
    /** Payload bytes of one chunk. */
    public static final int CHUNK_BYTES = 64 * 1024;
    private static final int MSG_TYPE_ID = 1;
    private static final int REQUEST_OFFSET = 0;
    private static final int SEQUENCE_OFFSET = 8;
    private static final int LAYER_OFFSET = 12;
    private static final int FIRST_ROW_OFFSET = 16;
    private static final int ROW_COUNT_OFFSET = 20;
    private static final int CHUNK_OFFSET_OFFSET = 24;
    private static final int TOTAL_BYTES_OFFSET = 28;
    private static final int HEADER_BYTES = 32;

    private final OneToOneRingBuffer[][] rings; // (sender)(receiver); null where no stream
    private final Endpoint[] endpoints;
    private final long timeoutNs;
    private final ControlledMessageHandler discard = (type, buffer, index, length) ->
        ControlledMessageHandler.Action.COMMIT;
    private volatile boolean aborted;

    /**
     * @param programs  the compiled programs of every device, which size the streams.
     * @param timeoutNs how long one send or await may wait before it fails.
     */
    public LocalExchange(final List<DeviceProgram> programs, final long timeoutNs)
    {
        if (timeoutNs <= 0)
        {
            throw new IllegalArgumentException("timeoutNs must be > 0: " + timeoutNs);
        }
        final int devices = programs.size();
        this.timeoutNs = timeoutNs;
        this.rings = new OneToOneRingBuffer[devices][devices];
        final int maxRecord = BitUtil.align(RecordDescriptor.HEADER_LENGTH + HEADER_BYTES + CHUNK_BYTES,
            RecordDescriptor.ALIGNMENT);
        for (final DeviceProgram p : programs)
        {
            final long[] recordBytes = new long[devices];
            for (final Step s : p.steps())
            {
                if (s.kind() == Step.Kind.SEND)
                {
                    final long chunks = Math.max(1, (s.bytes() + CHUNK_BYTES - 1) / CHUNK_BYTES);
                    recordBytes[s.peer()] += chunks * maxRecord;
                }
            }
            for (int r = 0; r < devices; r++)
            {
                if (recordBytes[r] > 0)
                {
                    // a one-to-one ring takes records of at most an eighth of its capacity
                    final long capacity = BitUtil.findNextPositivePowerOfTwo(Math.max(recordBytes[r], 8L * maxRecord));
                    if (capacity > (1L << 30))
                    {
                        throw new IllegalArgumentException("stream " + p.device() + " -> " + r + " needs " +
                            recordBytes[r] + " bytes per request, more than a ring can hold");
                    }
                    final int length = (int)capacity + RingBufferDescriptor.TRAILER_LENGTH;
                    rings[p.device()][r] = new OneToOneRingBuffer(
                        new UnsafeBuffer(BufferUtil.allocateDirectAligned(length, 64)));
                }
            }
        }
        this.endpoints = new Endpoint[devices];
        for (int d = 0; d < devices; d++)
        {
            endpoints[d] = new Endpoint(d);
        }
    }

    /** @return device {@code device}'s endpoint, for its thread only. */
    public RowExchange endpoint(final int device)
    {
        return endpoints[device];
    }

    /** @return bytes of the rings device {@code device} receives through. */
    public long receiveBufferBytes(final int device)
    {
        long sum = 0;
        for (final OneToOneRingBuffer[] from : rings)
        {
            if (from[device] != null)
            {
                sum += from[device].buffer().capacity();
            }
        }
        return sum;
    }

    /** Discards anything a failed request left in the streams and clears the abort; no device may be running. */
    public void reset()
    {
        for (final OneToOneRingBuffer[] from : rings)
        {
            for (final OneToOneRingBuffer ring : from)
            {
                if (ring != null)
                {
                    int drained;
                    do
                    {
                        drained = ring.controlledRead(discard);
                    }
                    while (drained > 0);
                }
            }
        }
        aborted = false;
    }

    /** Fails every send and await now waiting or to come, until {@link #reset}: another device has failed. */
    public void abort()
    {
        aborted = true;
    }

    /** One device's endpoint: its state is touched by that device's thread only. */
    private final class Endpoint implements RowExchange, ControlledMessageHandler
    {
        private final int device;
        private final UnsafeBuffer arenaView = new UnsafeBuffer(0, 0);
        private final IdleStrategy idle = new BackoffIdleStrategy(
            100, 10, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));
        private long expectedRequest;
        private int expectedSequence;
        private int expectedLayer;
        private int expectedFirstRow;
        private int expectedRowCount;
        private int expectedChunkOffset;
        private int expectedChunkBytes;
        private int expectedTotalBytes;
        private int dstOffsetBytes;
        private int status;
        private long gotRequest;
        private int gotSequence;
        private int gotLayer;
        private int gotFirstRow;
        private int gotRowCount;
        private int gotChunkOffset;
        private int gotChunkBytes;
        private String lastError = "none";

        Endpoint(final int device)
        {
            this.device = device;
        }

        @Override
        public int send(
            final int peer, final long request, final int sequence, final int layer, final int firstRow,
            final int rowCount, final FloatRegion src, final int offsetFloats, final int floats)
        {
            if (peer < 0 || peer >= rings.length || rings[device][peer] == null)
            {
                return fail(BAD_PEER, "no stream from device " + device + " to " + peer);
            }
            if (offsetFloats < 0 || floats <= 0 || (long)offsetFloats + floats > src.length())
            {
                return fail(BAD_RANGE, "send of " + floats + " floats at " + offsetFloats + " outside a region of " +
                    src.length());
            }
            final OneToOneRingBuffer ring = rings[device][peer];
            arenaView.wrap(src.address(), src.length() * Float.BYTES);
            final int totalBytes = floats * Float.BYTES;
            final long deadline = System.nanoTime() + timeoutNs;
            for (int chunkOffset = 0; chunkOffset < totalBytes; chunkOffset += CHUNK_BYTES)
            {
                final int chunkBytes = Math.min(CHUNK_BYTES, totalBytes - chunkOffset);
                int index;
                idle.reset();
                while ((index = ring.tryClaim(MSG_TYPE_ID, HEADER_BYTES + chunkBytes)) < 0)
                {
                    if (aborted)
                    {
                        return ABORTED;
                    }
                    if (System.nanoTime() > deadline)
                    {
                        return fail(TIMED_OUT, "no room in the stream to device " + peer);
                    }
                    idle.idle();
                }
                final MutableDirectBuffer buffer = ring.buffer();
                buffer.putLong(index + REQUEST_OFFSET, request);
                buffer.putInt(index + SEQUENCE_OFFSET, sequence);
                buffer.putInt(index + LAYER_OFFSET, layer);
                buffer.putInt(index + FIRST_ROW_OFFSET, firstRow);
                buffer.putInt(index + ROW_COUNT_OFFSET, rowCount);
                buffer.putInt(index + CHUNK_OFFSET_OFFSET, chunkOffset);
                buffer.putInt(index + TOTAL_BYTES_OFFSET, totalBytes);
                buffer.putBytes(index + HEADER_BYTES, arenaView, offsetFloats * Float.BYTES + chunkOffset, chunkBytes);
                ring.commit(index);
            }
            return OK;
        }

        @Override
        public int await(
            final int peer, final long request, final int sequence, final int layer, final int firstRow,
            final int rowCount, final FloatRegion dst, final int offsetFloats, final int floats)
        {
            if (peer < 0 || peer >= rings.length || rings[peer][device] == null)
            {
                return fail(BAD_PEER, "no stream from device " + peer + " to " + device);
            }
            if (offsetFloats < 0 || floats <= 0 || (long)offsetFloats + floats > dst.length())
            {
                return fail(BAD_RANGE, "await of " + floats + " floats at " + offsetFloats + " outside a region of " +
                    dst.length());
            }
            final OneToOneRingBuffer ring = rings[peer][device];
            arenaView.wrap(dst.address(), dst.length() * Float.BYTES);
            expectedRequest = request;
            expectedSequence = sequence;
            expectedLayer = layer;
            expectedFirstRow = firstRow;
            expectedRowCount = rowCount;
            expectedTotalBytes = floats * Float.BYTES;
            dstOffsetBytes = offsetFloats * Float.BYTES;
            final long deadline = System.nanoTime() + timeoutNs;
            for (int chunkOffset = 0; chunkOffset < expectedTotalBytes; chunkOffset += CHUNK_BYTES)
            {
                expectedChunkOffset = chunkOffset;
                expectedChunkBytes = Math.min(CHUNK_BYTES, expectedTotalBytes - chunkOffset);
                idle.reset();
                while (ring.controlledRead(this, 1) == 0)
                {
                    if (aborted)
                    {
                        return ABORTED;
                    }
                    if (System.nanoTime() > deadline)
                    {
                        return fail(TIMED_OUT, "no message #" + sequence + " (layer " + layer + " rows [" + firstRow +
                            ", " + (firstRow + rowCount) + ")) from device " + peer);
                    }
                    idle.idle();
                }
                if (status != OK)
                {
                    return fail(status, "from device " + peer + " expected #" + sequence + " layer " + layer +
                        " rows [" + firstRow + ", " + (firstRow + rowCount) + ") chunk at " + chunkOffset +
                        ", got #" + gotSequence + " of request " + gotRequest + " (expected " + request +
                        ") layer " + gotLayer + " rows [" + gotFirstRow + ", " + (gotFirstRow + gotRowCount) +
                        ") chunk at " + gotChunkOffset + " of " + gotChunkBytes + " bytes");
                }
            }
            return OK;
        }

        @Override
        public Action onMessage(final int msgTypeId, final MutableDirectBuffer buffer, final int index,
            final int length)
        {
            gotRequest = buffer.getLong(index + REQUEST_OFFSET);
            gotSequence = buffer.getInt(index + SEQUENCE_OFFSET);
            gotLayer = buffer.getInt(index + LAYER_OFFSET);
            gotFirstRow = buffer.getInt(index + FIRST_ROW_OFFSET);
            gotRowCount = buffer.getInt(index + ROW_COUNT_OFFSET);
            gotChunkOffset = buffer.getInt(index + CHUNK_OFFSET_OFFSET);
            gotChunkBytes = length - HEADER_BYTES;
            if (msgTypeId != MSG_TYPE_ID || gotRequest != expectedRequest || gotSequence != expectedSequence ||
                gotLayer != expectedLayer || gotFirstRow != expectedFirstRow || gotRowCount != expectedRowCount ||
                gotChunkOffset != expectedChunkOffset || gotChunkBytes != expectedChunkBytes ||
                buffer.getInt(index + TOTAL_BYTES_OFFSET) != expectedTotalBytes)
            {
                status = OUT_OF_ORDER;
                return Action.COMMIT;
            }
            buffer.getBytes(index + HEADER_BYTES, arenaView, dstOffsetBytes + gotChunkOffset, gotChunkBytes);
            status = OK;
            return Action.COMMIT;
        }

        @Override
        public String lastError()
        {
            return lastError;
        }

        /** Cold path: only reached once a request has failed. */
        private int fail(final int code, final String what)
        {
            lastError = RowExchange.codeName(code) + ": device " + device + ": " + what;
            return code;
        }
    }
}
