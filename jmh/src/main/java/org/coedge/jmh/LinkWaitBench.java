package org.coedge.jmh;

import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.coedge.transport.RowBlockPublisher;
import org.coedge.transport.RowBlockReceiver;
import org.coedge.transport.TransportCodes;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;
import org.coedge.transport.WaitHook;

/**
 * Two processes, as two devices: a sender that commits a row block and goes straight on computing (a busy loop of
 * {@code computeMs}), and a receiver that waits for each block and records when it arrived against the sender's
 * {@link System#nanoTime()} stamped in it (one machine, one monotonic clock). Prints the send-to-arrival latency
 * (median, p90) and the CPU each process used over its run as a fraction of one core: the receiver's is what a device
 * burns while it waits for rows. Start the receiver first; pin them (taskset) or put them in CPU cgroups to model
 * small devices; choose the driver threading and the waits' park with {@code -Dcoedge.driver.threading} and
 * {@code -Dcoedge.wait.max.park.us}.
 * <pre>
 * java -cp jmh/target/benchmarks.jar org.coedge.jmh.LinkWaitBench recv 127.0.0.1:40400 200
 * java -cp jmh/target/benchmarks.jar org.coedge.jmh.LinkWaitBench send 127.0.0.1:40400 200 10 [127.0.0.1:40401]
 * </pre>
 */
public final class LinkWaitBench
{
    private static final int SENDER_NODE = 1;
    private static final int SESSION_ID = 424242;
    private static final int BLOCK_BYTES = 16 * 1024;
    /** Blocks before the measurement starts (JIT compilation at both ends). */
    private static final int WARMUP_BLOCKS = 100;

    private LinkWaitBench()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        if (args.length < 3)
        {
            System.err.println("usage: recv LISTEN COUNT | send PEER COUNT COMPUTE_MS [LISTEN]");
            System.exit(2);
        }
        final int count = Integer.parseInt(args[2]);
        if (count <= WARMUP_BLOCKS)
        {
            System.err.println("COUNT must be > " + WARMUP_BLOCKS);
            System.exit(2);
        }
        if (args[0].equals("recv"))
        {
            receive(args[1], count);
        }
        else
        {
            send(args[1], count, Long.parseLong(args[3]), args.length > 4 ? args[4] : "127.0.0.1:0");
        }
    }

    private static long cpuNs()
    {
        return ((com.sun.management.OperatingSystemMXBean)ManagementFactory.getOperatingSystemMXBean())
            .getProcessCpuTime();
    }

    /** Prints each thread's CPU time since it started (cold; where a waiting process spends its CPU). */
    private static void printThreads()
    {
        final java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        final StringBuilder sb = new StringBuilder("recv: CPU ms by thread:");
        for (final java.lang.management.ThreadInfo t : threads.getThreadInfo(threads.getAllThreadIds()))
        {
            if (t != null)
            {
                final long ns = threads.getThreadCpuTime(t.getThreadId());
                if (ns > 20_000_000L)
                {
                    sb.append(' ').append(t.getThreadName()).append('=').append(ns / 1_000_000);
                }
            }
        }
        System.out.println(sb);
    }

    private static void receive(final String listen, final int count)
    {
        try (TransportNode node = new TransportNode(new TransportContext().listenEndpoint(listen)))
        {
            final RowBlockReceiver receiver = new RowBlockReceiver(node.addRowBlockSubscription(SENDER_NODE), node);
            receiver.expectSession(SESSION_ID);
            final UnsafeBuffer dst = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BLOCK_BYTES, 64));
            final long[] latencyNs = new long[count];
            final long timeout = TimeUnit.SECONDS.toNanos(60);
            final int chunk = TransportNode.chunkBytes(node.context().mtuLength());
            System.out.println("recv: listening on " + node.endpoint() + ", driver " +
                node.context().driverThreadingMode() + ", wait park " + node.context().waitMaxParkNs() / 1000 + " us");
            long cpu0 = 0;
            long wall0 = 0;
            for (int i = 0; i < count; i++)
            {
                final int code = receiver.receive(1, 1, 1, i, 0, 0, 1, dst, 0, BLOCK_BYTES, chunk, timeout,
                    WaitHook.NONE);
                final long now = System.nanoTime();
                if (code != TransportCodes.OK)
                {
                    System.out.println("recv: block " + i + ": " + TransportCodes.name(code) + " " +
                        receiver.lastMismatch());
                    return;
                }
                latencyNs[i] = now - dst.getLong(0);
                if (i == WARMUP_BLOCKS)
                {
                    cpu0 = cpuNs();
                    wall0 = now;
                }
            }
            final double cpu = (cpuNs() - cpu0) / (double)(System.nanoTime() - wall0);
            printThreads();
            final long[] rest = Arrays.copyOfRange(latencyNs, WARMUP_BLOCKS, count);
            Arrays.sort(rest);
            System.out.printf("recv: %d blocks of %d B: send-to-arrival median %.1f us, p90 %.1f us, max %.1f us; " +
                "receiver CPU %.1f%% of a core while waiting%n", rest.length, BLOCK_BYTES,
                rest[rest.length / 2] / 1e3, rest[(int)(rest.length * 0.9)] / 1e3, rest[rest.length - 1] / 1e3,
                100 * cpu);
        }
    }

    private static void send(final String peer, final int count, final long computeMs, final String listen)
        throws InterruptedException
    {
        try (TransportNode node = new TransportNode(new TransportContext().listenEndpoint(listen)))
        {
            final RowBlockPublisher publisher = new RowBlockPublisher(
                node.addRowBlockPublication(peer, SENDER_NODE, SESSION_ID, 1024 * 1024), node);
            final long connectBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!publisher.publication().isConnected() && System.nanoTime() < connectBy)
            {
                node.invokeDriver();
                Thread.sleep(1);
            }
            final UnsafeBuffer src = new UnsafeBuffer(BufferUtil.allocateDirectAligned(BLOCK_BYTES, 64));
            final long timeout = TimeUnit.SECONDS.toNanos(30);
            final long cpu0 = cpuNs();
            final long wall0 = System.nanoTime();
            double sink = 0;
            for (int i = 0; i < count; i++)
            {
                src.putLong(0, System.nanoTime());
                if (publisher.send(1, 1, 1, i, 0, 0, 1, src, 0, BLOCK_BYTES, timeout, WaitHook.NONE) !=
                    TransportCodes.OK)
                {
                    System.out.println("send: block " + i + " failed, Aeron " + publisher.lastResult());
                    return;
                }
                // computing on: the core is this thread's until the next block
                final long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(computeMs);
                while (System.nanoTime() < until)
                {
                    for (int k = 0; k < 1000; k++)
                    {
                        sink += Math.sqrt(k + sink);
                    }
                }
            }
            final double cpu = (cpuNs() - cpu0) / (double)(System.nanoTime() - wall0);
            System.out.printf("send: %d blocks, %d ms computing after each; sender CPU %.1f%% of a core (%s)%n",
                count, computeMs, 100 * cpu, sink > 0 ? "ok" : "");
            Thread.sleep(200);
        }
    }
}
