package org.coedge.transport;


import io.aeron.Image;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.coedge.transport.sbe.MessageHeaderDecoder;
import org.coedge.transport.sbe.RowBlockDecoder;

/**
 * Receives the blocks of rows one peer sends to this node, from the one image whose session id the authenticated
 * plan named: images of any other session on the stream (a node outside the cluster) are never read. A chunk is
 * read in place from Aeron's term buffer; its header is checked against the block the caller expects (session token,
 * plan epoch, request, sequence, layer, rows, chunk offset, lengths) and only then are its bytes copied straight into
 * the caller's memory (the receiver's arena). A chunk from an earlier request (left by an aborted one) or with a
 * foreign session token or epoch is dropped and counted; a chunk of this request that is not the one expected fails
 * the receive as {@link TransportCodes#OUT_OF_ORDER} and is left unread.
 * <p>
 * Owned by one thread (the device thread that runs the steps); the counters may be read from any thread.
 */
public final class RowBlockReceiver implements ControlledFragmentHandler, AutoCloseable
{
    private final Subscription subscription;
    private final TransportNode node;
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final RowBlockDecoder decoder = new RowBlockDecoder();
    private final IdleStrategy idle;
    private int sessionId;
    private Image image;
    private final int[] earlierSessions = new int[16]; // the plans' sessions before this one, newest last
    private int earlierCount;

    private long expectedToken;
    private long expectedEpoch;
    private long expectedRequest;
    private int expectedSequence;
    private int expectedLayer;
    private int expectedFirstRow;
    private int expectedRowCount;
    private int expectedChunkOffset;
    private int expectedChunkBytes;
    private int expectedTotalBytes;
    private MutableDirectBuffer dst;
    private int dstOffset;
    private int status;

    private volatile long malformedChunks;
    private volatile long foreignChunks;
    private volatile long staleChunks;
    private long gotRequest;
    private int gotSequence;
    private int gotLayer;
    private int gotFirstRow;
    private int gotChunkOffset;

    public RowBlockReceiver(final Subscription subscription)
    {
        this(subscription, null);
    }

    /**
     * @param node the node whose driver to run while waiting when it has no thread of its own
     *             ({@link TransportNode#invokeDriver()}), and whose wait settings to use; null for neither.
     */
    public RowBlockReceiver(final Subscription subscription, final TransportNode node)
    {
        this.subscription = subscription;
        this.node = node;
        this.idle = node == null ? TransportContext.waitIdle(TransportContext.WAIT_MAX_PARK_DEFAULT_US * 1000) :
            node.waitIdle();
    }

    /** Accepts blocks only from the publication with this session id from now on (a new plan's). */
    public void expectSession(final int sessionId)
    {
        if (this.sessionId != 0 && this.sessionId != sessionId)
        {
            earlierSessions[earlierCount % earlierSessions.length] = this.sessionId;
            earlierCount++;
        }
        this.sessionId = sessionId;
        this.image = null;
    }

    private boolean wasExpected(final int id)
    {
        for (int i = 0, n = Math.min(earlierCount, earlierSessions.length); i < n; i++)
        {
            if (earlierSessions[i] == id)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Waits for the block named and copies its {@code lengthBytes} bytes to {@code dstOffset} in {@code dst}.
     *
     * @return {@link TransportCodes#OK}, or {@link TransportCodes#TIMED_OUT} / {@link TransportCodes#ABORTED} /
     * {@link TransportCodes#OUT_OF_ORDER} / {@link TransportCodes#BAD_RANGE}.
     */
    public int receive(
        final long sessionToken, final long epoch, final long requestId, final int sequence, final int layer,
        final int firstRow, final int rowCount, final MutableDirectBuffer dst, final int dstOffset,
        final int lengthBytes, final int chunkBytes, final long timeoutNs, final WaitHook hook)
    {
        if (dstOffset < 0 || lengthBytes < 0 || chunkBytes <= 0 || (long)dstOffset + lengthBytes > dst.capacity())
        {
            return TransportCodes.BAD_RANGE;
        }
        expectedToken = sessionToken;
        expectedEpoch = epoch;
        expectedRequest = requestId;
        expectedSequence = sequence;
        expectedLayer = layer;
        expectedFirstRow = firstRow;
        expectedRowCount = rowCount;
        expectedTotalBytes = lengthBytes;
        this.dst = dst;
        this.dstOffset = dstOffset;
        final long deadline = System.nanoTime() + timeoutNs;
        int chunkOffset = 0;
        do
        {
            expectedChunkOffset = chunkOffset;
            expectedChunkBytes = Math.min(chunkBytes, lengthBytes - chunkOffset);
            status = Integer.MIN_VALUE;
            idle.reset();
            while (true)
            {
                final int driverWork = node == null ? 0 : node.invokeDriver();
                final Image image = image();
                if (image != null)
                {
                    image.controlledPoll(this, 1);
                    if (status != Integer.MIN_VALUE)
                    {
                        break;
                    }
                }
                if (!hook.keepWaiting())
                {
                    return TransportCodes.ABORTED;
                }
                if (System.nanoTime() > deadline)
                {
                    return TransportCodes.TIMED_OUT;
                }
                idle.idle(driverWork);
            }
            if (status != TransportCodes.OK)
            {
                return status;
            }
            chunkOffset += expectedChunkBytes;
        }
        while (chunkOffset < lengthBytes);
        this.dst = null;
        return TransportCodes.OK;
    }

    private Image image()
    {
        Image current = image;
        if (current == null || current.isClosed())
        {
            current = subscription.imageBySessionId(sessionId);
            image = current;
        }
        return current;
    }

    @Override
    public Action onFragment(final DirectBuffer buffer, final int offset, final int length, final Header frame)
    {
        if (length < RowBlockPublisher.CHUNK_OVERHEAD_BYTES)
        {
            malformedChunks++;
            return Action.CONTINUE;
        }
        header.wrap(buffer, offset);
        if (header.templateId() != RowBlockDecoder.TEMPLATE_ID || header.schemaId() != RowBlockDecoder.SCHEMA_ID ||
            header.blockLength() != RowBlockDecoder.BLOCK_LENGTH)
        {
            malformedChunks++;
            return Action.CONTINUE;
        }
        decoder.wrap(buffer, offset + MessageHeaderDecoder.ENCODED_LENGTH, RowBlockDecoder.BLOCK_LENGTH,
            header.version());
        final int payloadBytes = length - RowBlockPublisher.CHUNK_OVERHEAD_BYTES;
        if (decoder.payloadLength() != payloadBytes)
        {
            malformedChunks++;
            return Action.CONTINUE;
        }
        if (decoder.sessionToken() != expectedToken || decoder.epoch() != expectedEpoch)
        {
            foreignChunks++;
            return Action.CONTINUE;
        }
        gotRequest = decoder.requestId();
        if (gotRequest < expectedRequest)
        {
            staleChunks++;
            return Action.CONTINUE;
        }
        gotSequence = decoder.sequence();
        gotLayer = decoder.layer();
        gotFirstRow = decoder.firstRow();
        gotChunkOffset = decoder.chunkOffset();
        if (gotRequest != expectedRequest || gotSequence != expectedSequence || gotLayer != expectedLayer ||
            gotFirstRow != expectedFirstRow || decoder.rowCount() != expectedRowCount ||
            gotChunkOffset != expectedChunkOffset || decoder.totalBytes() != expectedTotalBytes ||
            payloadBytes != expectedChunkBytes)
        {
            status = TransportCodes.OUT_OF_ORDER;
            return Action.ABORT;
        }
        decoder.getPayload(dst, dstOffset + expectedChunkOffset, payloadBytes);
        status = TransportCodes.OK;
        return Action.COMMIT;
    }

    /** @return chunks too short, of another schema or message, or whose length field disagrees with the frame. */
    public long malformedChunks()
    {
        return malformedChunks;
    }

    /** @return chunks with another session token or plan epoch, dropped. */
    public long foreignChunks()
    {
        return foreignChunks;
    }

    /** @return chunks of an earlier request (left by an aborted one), dropped. */
    public long staleChunks()
    {
        return staleChunks;
    }

    /**
     * @return images on this stream of a session no plan of this node named: never read (a node outside the
     * cluster). Cold path.
     */
    public int foreignImages()
    {
        int n = 0;
        for (final Image i : subscription.images())
        {
            if (i.sessionId() != sessionId && !wasExpected(i.sessionId()))
            {
                n++;
            }
        }
        return n;
    }

    /**
     * @return images of an earlier plan's session, still there: a plan's publications are closed when the next plan
     * replaces it, and their images stay until Aeron's liveness timeout passes (seconds). Cold path.
     */
    public int earlierPlanImages()
    {
        int n = 0;
        for (final Image i : subscription.images())
        {
            if (i.sessionId() != sessionId && wasExpected(i.sessionId()))
            {
                n++;
            }
        }
        return n;
    }

    /** @return a description of the last chunk that failed a receive (cold path). */
    public String lastMismatch()
    {
        return "request " + gotRequest + " #" + gotSequence + " layer " + gotLayer + " first row " + gotFirstRow +
            " chunk at " + gotChunkOffset;
    }

    @Override
    public void close()
    {
        subscription.close();
    }
}
