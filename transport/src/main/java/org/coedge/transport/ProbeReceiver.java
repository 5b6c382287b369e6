package org.coedge.transport;

import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.coedge.transport.sbe.MessageHeaderDecoder;
import org.coedge.transport.sbe.RowBlockDecoder;

/**
 * The receiving end of a link probe over the data path: a coordinator sends bursts of row blocks
 * ({@link RowBlockPublisher}, epoch {@link #PROBE_EPOCH}, request id = probe id, sequence = index in the burst,
 * row count = blocks in the burst) on the node's probe stream, exactly as a plan's rows travel (same channel, frame
 * size and socket, no MAC); this counts them and reports each burst whose last block arrived, so the coordinator
 * learns the round trip and the rate the link carries row blocks at, not the rate of signed control messages. Blocks
 * of a session other than the caller's are ignored (they can only make this node answer the coordinator with a
 * probe reply it did not ask for, which it drops).
 * <p>
 * Owned by the node's control thread, which calls {@link #poll} in its loop.
 */
public final class ProbeReceiver implements FragmentHandler
{
    /** The epoch a probe's row blocks carry; plans number their epochs from 1. */
    public static final long PROBE_EPOCH = -1;

    private final Subscription subscription;
    private final MessageHeaderDecoder header = new MessageHeaderDecoder();
    private final RowBlockDecoder decoder = new RowBlockDecoder();
    private long sessionToken;
    private long probeId = -1;
    private int blocks;
    private long bytes;
    private boolean complete;

    public ProbeReceiver(final Subscription subscription)
    {
        this.subscription = subscription;
    }

    /**
     * Reads what arrived on the probe stream for session {@code token}.
     *
     * @return fragments read.
     */
    public int poll(final long token, final int limit)
    {
        sessionToken = token;
        complete = false;
        return subscription.poll(this, limit);
    }

    /** @return true if the last {@link #poll} saw the last block of a burst (then read its id, blocks and bytes). */
    public boolean burstComplete()
    {
        return complete;
    }

    public long probeId()
    {
        return probeId;
    }

    public int blocks()
    {
        return blocks;
    }

    public long bytes()
    {
        return bytes;
    }

    @Override
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header frame)
    {
        if (complete || sessionToken == 0 || length < RowBlockPublisher.CHUNK_OVERHEAD_BYTES)
        {
            return;
        }
        header.wrap(buffer, offset);
        if (header.templateId() != RowBlockDecoder.TEMPLATE_ID || header.schemaId() != RowBlockDecoder.SCHEMA_ID ||
            header.blockLength() != RowBlockDecoder.BLOCK_LENGTH)
        {
            return;
        }
        decoder.wrap(buffer, offset + MessageHeaderDecoder.ENCODED_LENGTH, RowBlockDecoder.BLOCK_LENGTH,
            header.version());
        final int payloadBytes = length - RowBlockPublisher.CHUNK_OVERHEAD_BYTES;
        if (decoder.sessionToken() != sessionToken || decoder.epoch() != PROBE_EPOCH ||
            decoder.payloadLength() != payloadBytes)
        {
            return;
        }
        if (decoder.requestId() != probeId)
        {
            probeId = decoder.requestId();
            blocks = 0;
            bytes = 0;
        }
        bytes += payloadBytes;
        if ((long)decoder.chunkOffset() + payloadBytes >= decoder.totalBytes())
        {
            blocks++;
            complete = decoder.sequence() == decoder.rowCount() - 1;
        }
    }
}
