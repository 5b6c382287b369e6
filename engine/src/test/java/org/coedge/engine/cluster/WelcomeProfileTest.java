package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.aeron.Publication;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.RowMap;
import org.coedge.transport.ClusterKey;
import org.coedge.transport.ControlAdapter;
import org.coedge.transport.ControlListener;
import org.coedge.transport.ControlProxy;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.coedge.transport.sbe.MessageHeaderDecoder;
import org.coedge.transport.sbe.MessageHeaderEncoder;
import org.coedge.transport.sbe.Status;
import org.coedge.transport.sbe.WelcomeDecoder;
import org.coedge.transport.sbe.WelcomeEncoder;
import org.junit.jupiter.api.Test;

/**
 * A profile travels in a welcome: through the proxy, an embedded media driver and the adapter it arrives whole, and
 * the coordinator's checks drop one that does not fit its graph (one log line, the calibrated rate kept), read an
 * old welcome as having none, and a truncated one fails the read (the adapter counts it as malformed).
 */
class WelcomeProfileTest
{
    private static final ClusterKey KEY = ClusterKey.fromBytes(
        "0123456789abcdef-profile-key".getBytes(StandardCharsets.US_ASCII), "test key");
    private static final byte[] SHA = new byte[32];

    /** A source of 8 rows, a layer of 8 rows and a global layer of 1 row. */
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int src = b.addSource("in", 8, 8, 3);
        final int conv = b.addLayer("conv", new int[] {src}, new RowMap[] {RowMap.window(3, 1, 1, 1, 8, 8)}, 8, 8, 4,
            1000, 128);
        b.addLayer("fc", new int[] {conv}, new RowMap[] {RowMap.global(8, 1)}, 1, 1, 10, 500, 40);
        return b.build();
    }

    /** Receives one welcome and decodes its profile. */
    private static final class Receiver implements ControlListener
    {
        WelcomeProfile profile;
        double flops;
        long memory;

        @Override
        public boolean acceptsSession(final long sessionToken, final int templateId)
        {
            return sessionToken == 42;
        }

        @Override
        public void onWelcome(final WelcomeDecoder welcome)
        {
            flops = welcome.flopsPerSecond();
            memory = welcome.memoryBytes();
            profile = WelcomeProfile.decode(welcome);
        }
    }

    @Test
    void shouldCarryAProfileFromWorkerToCoordinator()
    {
        final DeviceProfile sent = DeviceProfile.of("cpu=test;threads=1", 3e9, 300L << 20, new int[] {1, 2, 1},
            new int[] {8, 1, 2}, new long[] {5_000, 700, 1_300});
        try (TransportNode worker = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0"));
            TransportNode coordinator = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0")))
        {
            final Receiver receiver = new Receiver();
            final ControlAdapter adapter = new ControlAdapter(coordinator.controlSubscription(), KEY, receiver);
            final Publication pub = worker.addControlPublication(coordinator.endpoint());
            final ControlProxy proxy = new ControlProxy(KEY, 0, TimeUnit.SECONDS.toNanos(10)).session(42, 1);
            assertEquals(TransportCodes.OK, WelcomeProfile.send(proxy, pub, Status.OK, 3e9, 300L << 20, SHA, sent,
                "pi4", "no error"));
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (receiver.profile == null)
            {
                adapter.poll(10);
                assertTrue(System.nanoTime() < deadline, "no welcome arrived");
                Thread.onSpinWait();
            }
            assertEquals("no error", receiver.profile.errorText());
            assertEquals("pi4", receiver.profile.power(), "the power model stated travels with the welcome");
            final StringWriter log = new StringWriter();
            final DeviceProfile got = receiver.profile.toProfile(graph(), receiver.flops, receiver.memory,
                new PrintWriter(log, true), "worker 1");
            assertEquals("", log.toString());
            assertEquals(sent.toString(), got.toString());
            assertEquals(300L << 20, got.memoryBytes());
            for (int i = 0; i < sent.sampleCount(); i++)
            {
                assertEquals(sent.layer(i), got.layer(i));
                assertEquals(sent.rows(i), got.rows(i));
                assertEquals(sent.ns(i), got.ns(i));
            }
        }
    }

    /** Encodes a welcome as the proxy does (the header, then the message) and reads it back as the adapter does. */
    private static WelcomeDecoder encode(final int[] layers, final int[] rows, final long[] ns, final int count)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[128 * 1024]);
        final WelcomeEncoder e = new WelcomeEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .sessionToken(42).status(Status.OK).flopsPerSecond(1e9).memoryBytes(1L << 30);
        final WelcomeEncoder.ProfileEncoder g = e.profileCount(count);
        for (int i = 0; i < count; i++)
        {
            g.next().layer(layers[i % layers.length]).rows(rows[i % rows.length]).ns(ns[i % ns.length]);
        }
        e.errorText("text after the group").deviceKey("key").power("");
        return decoderOver(buffer, MessageHeaderEncoder.ENCODED_LENGTH + e.encodedLength());
    }

    private static WelcomeDecoder decoderOver(final UnsafeBuffer buffer, final int length)
    {
        final UnsafeBuffer exact = new UnsafeBuffer(buffer.byteArray(), 0, length);
        final MessageHeaderDecoder h = new MessageHeaderDecoder().wrap(exact, 0);
        return new WelcomeDecoder().wrap(exact, MessageHeaderDecoder.ENCODED_LENGTH, h.blockLength(), h.version());
    }

    private static String rejected(final WelcomeDecoder welcome)
    {
        final WelcomeProfile p = WelcomeProfile.decode(welcome);
        assertEquals("text after the group", p.errorText());
        final StringWriter log = new StringWriter();
        final DeviceProfile got = p.toProfile(graph(), 1e9, 1L << 30, new PrintWriter(log, true), "worker 3");
        assertEquals(0, got.sampleCount(), got.toString());
        assertEquals(1e9, got.calibratedFlopsPerSecond());
        final String line = log.toString().trim();
        assertTrue(line.startsWith("coordinator: ignoring the profile of worker 3: ") && !line.contains("\n"), line);
        return line;
    }

    @Test
    void shouldIgnoreAProfileThatDoesNotFitTheGraphAndKeepTheCalibratedRate()
    {
        assertTrue(rejected(encode(new int[] {3}, new int[] {1}, new long[] {10}, 1)).contains("layer 3"));
        assertTrue(rejected(encode(new int[] {0}, new int[] {1}, new long[] {10}, 1)).contains("layer 0"));
        assertTrue(rejected(encode(new int[] {-1}, new int[] {1}, new long[] {10}, 1)).contains("layer -1"));
        assertTrue(rejected(encode(new int[] {1}, new int[] {0}, new long[] {10}, 1)).contains("0 rows"));
        assertTrue(rejected(encode(new int[] {2}, new int[] {2}, new long[] {10}, 1)).contains("2 rows"));
        assertTrue(rejected(encode(new int[] {1}, new int[] {8}, new long[] {-1}, 1)).contains("-1 ns"));
        final int tooMany = ControlProxy.MAX_WELCOME_SAMPLES + 1;
        assertTrue(rejected(encode(new int[] {1}, new int[] {8}, new long[] {10}, tooMany))
            .contains(tooMany + " samples"));
    }

    @Test
    void shouldReadAVersionOneWelcomeAsHavingNoProfile()
    {
        // version 1 had no group and no device key: its error text follows the fixed fields
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[4096]);
        final MessageHeaderEncoder header = new MessageHeaderEncoder();
        final WelcomeEncoder e = new WelcomeEncoder().wrapAndApplyHeader(buffer, 0, header)
            .sessionToken(42).status(Status.OK).flopsPerSecond(1e9).memoryBytes(1L << 30);
        header.version(1);
        e.errorText("text after the group");
        final WelcomeProfile p = WelcomeProfile.decode(
            decoderOver(buffer, MessageHeaderEncoder.ENCODED_LENGTH + e.encodedLength()));
        assertEquals("text after the group", p.errorText());
        assertEquals("", p.deviceKey());
        final StringWriter log = new StringWriter();
        assertEquals(0, p.toProfile(graph(), 1e9, 1L << 30, new PrintWriter(log, true), "worker 1").sampleCount());
        assertEquals("", log.toString());
    }

    @Test
    void shouldFailTheReadOfATruncatedWelcome()
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[4096]);
        final WelcomeEncoder e = new WelcomeEncoder().wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .sessionToken(42).status(Status.OK).flopsPerSecond(1e9).memoryBytes(1L << 30);
        final WelcomeEncoder.ProfileEncoder g = e.profileCount(100);
        for (int i = 0; i < 100; i++)
        {
            g.next().layer(1).rows(8).ns(10);
        }
        e.errorText("").deviceKey("");
        // the group says 100 samples; the message ends after 10 of them
        final WelcomeDecoder cut = decoderOver(buffer, MessageHeaderEncoder.ENCODED_LENGTH +
            WelcomeEncoder.BLOCK_LENGTH + 4 + 10 * 16);
        assertThrows(IndexOutOfBoundsException.class, () -> WelcomeProfile.decode(cut));
    }
}
