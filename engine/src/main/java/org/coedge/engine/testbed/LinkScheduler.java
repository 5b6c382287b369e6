package org.coedge.engine.testbed;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Plays a {@link LinkSchedule} on the testbed's links during one cooperative run. {@link #start()} sets the rate the
 * run starts at, before the coordinator does; {@link #follow} then reads the coordinator's stderr while it runs
 * (its {@code --progress} lines, {@code request N latency_ms X epoch E}, one per timed request), copies every line to
 * the run's log file, and when request {@code k - 1} has ended sets the links to the rate of the entry at {@code k}.
 * <p>
 * The coordinator does not wait for the change: request {@code k} starts as its predecessor's line is printed, and
 * {@code tc} takes a few milliseconds, so part of request {@code k} may still run at the old rate. Each
 * {@link Change} says so: {@code firstFull} is the first request that started after the new rate was in place.
 * <p>
 * Threads: the caller's ({@link #start}, {@link #await}, {@link #changes}); a reader that copies and timestamps the
 * lines; an applier that runs {@code tc}, so a slow {@code tc} delays no line's timestamp.
 */
final class LinkScheduler
{
    static final Pattern PROGRESS = Pattern.compile("request (\\d+) latency_ms \\S+ epoch \\S+");
    private static final int END = Integer.MIN_VALUE;

    /** One entry of the schedule as it was applied. */
    static final class Change
    {
        /** The timed request from which the schedule asks for the rate. */
        int request;
        double mbps;
        /** The last timed request that had ended when the change began, -1 for one made before the run. */
        int afterRequest = -1;
        double tcMs;
        /** The first timed request that started after the new rate was in place. */
        int firstFull;
        long endNs;
    }

    private final LinkSchedule schedule;
    private final double linkMbps;
    private final DoubleConsumer setRate;
    private final long[] endedNs;
    private final LinkedBlockingQueue<Integer> ended = new LinkedBlockingQueue<>();
    private final List<Change> changes = new ArrayList<>();
    private int next;
    private volatile String failure;
    private Thread reader;
    private Thread applier;

    /**
     * @param linkMbps the rate links start at without an entry at 0 ({@code --link-mbps}).
     * @param setRate  sets every link to a rate in Mbit/s (the testbed's {@code Network::rate}); may throw.
     * @param repeat   the timed requests of the run.
     */
    LinkScheduler(final LinkSchedule schedule, final double linkMbps, final DoubleConsumer setRate, final int repeat)
    {
        this.schedule = schedule;
        this.linkMbps = linkMbps;
        this.setRate = setRate;
        this.endedNs = new long[repeat];
    }

    /** Sets the links to the rate the run starts at (the entry at 0, else {@code linkMbps}) before it starts. */
    void start()
    {
        next = 0;
        changes.clear();
        Arrays.fill(endedNs, 0);
        final long t0 = System.nanoTime();
        setRate.accept(schedule.startMbps(linkMbps));
        if (schedule.request(0) == 0)
        {
            final Change c = new Change();
            c.request = 0;
            c.mbps = schedule.mbps(0);
            c.tcMs = (System.nanoTime() - t0) / 1e6;
            c.endNs = System.nanoTime();
            changes.add(c);
            next = 1;
        }
    }

    /**
     * Follows the coordinator's stderr {@code in} until it ends, copying every line to {@code log}; returns at once
     * (two daemon threads do the work; {@link #await} waits for them).
     */
    void follow(final InputStream in, final Path log)
    {
        reader = new Thread(() -> read(in, log), "coedge-testbed-progress");
        applier = new Thread(this::apply, "coedge-testbed-link-schedule");
        reader.setDaemon(true);
        applier.setDaemon(true);
        applier.start();
        reader.start();
    }

    private void read(final InputStream in, final Path log)
    {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            Writer w = Files.newBufferedWriter(log, StandardCharsets.UTF_8))
        {
            String line;
            while ((line = r.readLine()) != null)
            {
                final Matcher m = PROGRESS.matcher(line);
                if (m.matches())
                {
                    final int n = Integer.parseInt(m.group(1));
                    if (n >= 0 && n < endedNs.length)
                    {
                        endedNs[n] = System.nanoTime();
                        ended.add(n);
                    }
                }
                w.write(line);
                w.write('\n');
            }
        }
        catch (final IOException | NumberFormatException e)
        {
            failure = "reading the coordinator's progress: " + e.getMessage();
        }
        finally
        {
            ended.add(END);
        }
    }

    private void apply()
    {
        try
        {
            while (true)
            {
                final int done = ended.take();
                if (done == END)
                {
                    return;
                }
                while (next < schedule.size() && schedule.request(next) <= done + 1 && failure == null)
                {
                    final Change c = new Change();
                    c.request = schedule.request(next);
                    c.mbps = schedule.mbps(next);
                    c.afterRequest = done;
                    final long t0 = System.nanoTime();
                    try
                    {
                        setRate.accept(c.mbps);
                    }
                    catch (final RuntimeException e)
                    {
                        failure = "setting the links to " + c.mbps + " Mbit/s: " + e.getMessage();
                    }
                    c.endNs = System.nanoTime();
                    c.tcMs = (c.endNs - t0) / 1e6;
                    synchronized (changes)
                    {
                        changes.add(c);
                    }
                    next++;
                }
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits for the coordinator's stderr to end and the last change to be made.
     *
     * @throws IllegalStateException when a change failed or the threads did not end within {@code timeoutS}.
     */
    void await(final long timeoutS)
    {
        try
        {
            reader.join(TimeUnit.SECONDS.toMillis(timeoutS));
            applier.join(TimeUnit.SECONDS.toMillis(timeoutS));
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        if (reader.isAlive() || applier.isAlive())
        {
            applier.interrupt();
            throw new IllegalStateException("--link-schedule: the coordinator's progress did not end");
        }
        if (failure != null)
        {
            throw new IllegalStateException("--link-schedule: " + failure);
        }
    }

    /** @return the changes made as the testbed's result lists them, each also printed to {@code log}. */
    List<TestbedResult.LinkChange> results(final java.io.PrintWriter log)
    {
        final List<TestbedResult.LinkChange> out = new ArrayList<>();
        for (final Change c : changes())
        {
            final TestbedResult.LinkChange l = new TestbedResult.LinkChange();
            l.request = c.request;
            l.mbps = c.mbps;
            l.afterRequest = c.afterRequest;
            l.tcMs = c.tcMs;
            l.firstFull = c.firstFull;
            out.add(l);
            log.printf(java.util.Locale.ROOT, "testbed: links at %.0f Mbit/s for request %d (after request %d, tc " +
                "%.1f ms; wholly from request %d)%n", c.mbps, c.request, c.afterRequest, c.tcMs, c.firstFull);
        }
        return out;
    }

    /** @return the changes made, each with the first request that ran wholly at its rate. */
    List<Change> changes()
    {
        synchronized (changes)
        {
            for (final Change c : changes)
            {
                if (c.afterRequest < 0)
                {
                    c.firstFull = 0;
                    continue;
                }
                // request k started when k - 1's line came
                int k = c.afterRequest + 1;
                while (k < endedNs.length && endedNs[k - 1] != 0 && endedNs[k - 1] < c.endNs)
                {
                    k++;
                }
                c.firstFull = k;
            }
            return new ArrayList<>(changes);
        }
    }
}
