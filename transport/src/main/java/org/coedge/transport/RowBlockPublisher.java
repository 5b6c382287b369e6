package org.coedge.transport;


import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.logbuffer.BufferClaim;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.coedge.transport.sbe.MessageHeaderEncoder;
import org.coedge.transport.sbe.RowBlockEncoder;

/**
 * Sends blocks of rows to one peer over an exclusive Aeron publication. A block is cut into chunks that each fit one
 * frame; each chunk is claimed in the publication's term buffer, its {@code RowBlock} header written there by the SBE
 * flyweight, and its bytes copied there straight from the caller's memory (the sender's arena): no staging buffer,
 * no allocation. Back-pressure and a not-yet-connected peer are retried until the timeout, never dropped.
 * <p>
 * Owned by one thread (the device thread that runs the steps).
 */
public final class RowBlockPublisher implements AutoCloseable
{
    /** Bytes of the SBE header and fixed fields in front of a chunk's payload. */
    public static final int CHUNK_OVERHEAD_BYTES =
        MessageHeaderEncoder.ENCODED_LENGTH + RowBlockEncoder.BLOCK_LENGTH + RowBlockEncoder.payloadHeaderLength();

    /**
     * Driver duty cycles run after a block is committed (INVOKER mode), beyond one per chunk, at most, to push it out:
     * a duty cycle sends one frame, and a block left partly in the log waited for the sender's next wait or for the
     * keeper (a 300 KB input slice arrived over 3-23 ms on a 1 Gbit/s link: its first 6-8 frames at once, the rest
     * when the sender's driver next ran).
     */
    private static final int FLUSH_INVOCATIONS = 16;

    private final ExclusivePublication publication;
    private final TransportNode node;
    private final BufferClaim claim = new BufferClaim();
    private final MessageHeaderEncoder header = new MessageHeaderEncoder();
    private final RowBlockEncoder encoder = new RowBlockEncoder();
    private final IdleStrategy idle;
    private final int chunkBytes;
    private long lastResult;

    public RowBlockPublisher(final ExclusivePublication publication)
    {
        this(publication, null);
    }

    /**
     * @param node the node whose driver to run while waiting and after each block when it has no thread of its own
     *             ({@link TransportNode#invokeDriver()}), and whose wait settings to use; null for neither.
     */
    public RowBlockPublisher(final ExclusivePublication publication, final TransportNode node)
    {
        this.publication = publication;
        this.node = node;
        this.chunkBytes = publication.maxPayloadLength() - CHUNK_OVERHEAD_BYTES;
        this.idle = node == null ? TransportContext.waitIdle(TransportContext.WAIT_MAX_PARK_DEFAULT_US * 1000) :
            node.waitIdle();
    }

    /** @return payload bytes per chunk (frame payload less the header). */
    public int chunkBytes()
    {
        return chunkBytes;
    }

    public ExclusivePublication publication()
    {
        return publication;
    }

    /** @return Aeron's result of the last claim refused, for error messages. */
    public long lastResult()
    {
        return lastResult;
    }

    /**
     * Sends {@code lengthBytes} bytes at {@code srcOffset} in {@code src} as one block.
     *
     * @return {@link TransportCodes#OK}, or {@link TransportCodes#TIMED_OUT} / {@link TransportCodes#ABORTED} /
     * {@link TransportCodes#CLOSED} / {@link TransportCodes#BAD_RANGE}.
     */
    public int send(
        final long sessionToken, final long epoch, final long requestId, final int sequence, final int layer,
        final int firstRow, final int rowCount, final DirectBuffer src, final int srcOffset, final int lengthBytes,
        final long timeoutNs, final WaitHook hook)
    {
        if (srcOffset < 0 || lengthBytes < 0 || (long)srcOffset + lengthBytes > src.capacity())
        {
            return TransportCodes.BAD_RANGE;
        }
        final long deadline = System.nanoTime() + timeoutNs;
        int chunkOffset = 0;
        int chunks = 0;
        do
        {
            final int bytes = Math.min(chunkBytes, lengthBytes - chunkOffset);
            final int length = CHUNK_OVERHEAD_BYTES + bytes;
            idle.reset();
            long result;
            while ((result = publication.tryClaim(length, claim)) < 0)
            {
                if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
                {
                    lastResult = result;
                    return TransportCodes.CLOSED;
                }
                lastResult = result;
                if (!hook.keepWaiting())
                {
                    return TransportCodes.ABORTED;
                }
                if (System.nanoTime() > deadline)
                {
                    return TransportCodes.TIMED_OUT;
                }
                idle.idle(node == null ? 0 : node.invokeDriver());
            }
            final MutableDirectBuffer buffer = claim.buffer();
            encoder.wrapAndApplyHeader(buffer, claim.offset(), header)
                .sessionToken(sessionToken)
                .epoch(epoch)
                .requestId(requestId)
                .sequence(sequence)
                .layer(layer)
                .firstRow(firstRow)
                .rowCount(rowCount)
                .chunkOffset(chunkOffset)
                .totalBytes(lengthBytes)
                .putPayload(src, srcOffset + chunkOffset, bytes);
            claim.commit();
            chunkOffset += bytes;
            chunks++;
        }
        while (chunkOffset < lengthBytes);
        if (node != null)
        {
            node.sent();
            for (int i = 0, n = chunks + FLUSH_INVOCATIONS; i < n && node.invokeDriver() > 0; i++)
            {
                Thread.onSpinWait();
            }
        }
        return TransportCodes.OK;
    }

    @Override
    public void close()
    {
        publication.close();
    }
}
