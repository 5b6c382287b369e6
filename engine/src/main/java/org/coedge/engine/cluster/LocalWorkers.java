package org.coedge.engine.cluster;

import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Worker processes on this machine ({@code coedge worker} in fresh JVMs on loopback ports), for {@code coedge demo}
 * and the multi-process tests. Each writes its output to {@code worker-N.log} in the given directory. Optionally
 * pins worker {@code i} to CPU {@code i + 1} with {@code taskset}. Cold path; one owner thread.
 */
public final class LocalWorkers implements AutoCloseable
{
    private final Path keyFile;
    private final Path logDir;
    private final int threads;
    private final int pinCpus;
    private final List<String> endpoints = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();

    /**
     * Starts {@code count} workers and waits until each listens.
     *
     * @param pinCpus 0 for no pinning, else the machine's CPU count: worker {@code i} is pinned to CPU
     *                {@code (i + 1) % pinCpus} (read before the caller pins itself, which shrinks what the JVM sees).
     * @throws IllegalStateException if one does not start within 60 s (its log is named).
     */
    public LocalWorkers(final int count, final Path keyFile, final Path logDir, final int threads, final int pinCpus)
    {
        this.keyFile = keyFile;
        this.logDir = logDir;
        this.threads = threads;
        this.pinCpus = pinCpus;
        try
        {
            for (int i = 0; i < count; i++)
            {
                endpoints.add("127.0.0.1:" + freePort());
                processes.add(null);
            }
            // one at a time, so that each calibrates its throughput on an otherwise idle machine
            for (int i = 0; i < count; i++)
            {
                start(i);
                awaitListening(i);
            }
        }
        catch (final RuntimeException e)
        {
            close();
            throw e;
        }
    }

    private static int freePort()
    {
        try (DatagramSocket s = new DatagramSocket(0))
        {
            return s.getLocalPort();
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("no free UDP port: " + e.getMessage(), e);
        }
    }

    public List<String> endpoints()
    {
        return List.copyOf(endpoints);
    }

    public Path log(final int i)
    {
        return logDir.resolve("worker-" + (i + 1) + ".log");
    }

    /** Starts (or starts again) worker {@code i} at its endpoint. */
    public void start(final int i)
    {
        final List<String> cmd = new ArrayList<>();
        if (pinCpus > 0)
        {
            cmd.add("taskset");
            cmd.add("-c");
            cmd.add(Integer.toString((i + 1) % pinCpus));
        }
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--add-exports");
        cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        if (org.coedge.kernels.DepthwiseConv2d.vectorAvailable())
        {
            // the same depthwise loop as this JVM's (the launcher's --add-modules)
            cmd.add("--add-modules");
            cmd.add("jdk.incubator.vector");
        }
        cmd.add("-Xss4m");
        // the demo's and tests' transport settings (coedge.*) hold for the workers too
        for (final String name : System.getProperties().stringPropertyNames())
        {
            if (name.startsWith("coedge."))
            {
                cmd.add("-D" + name + "=" + System.getProperty(name));
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.coedge.engine.cli.CoEdgeCli");
        cmd.add("worker");
        cmd.add("--listen");
        cmd.add(endpoints.get(i));
        cmd.add("--key-file");
        cmd.add(keyFile.toString());
        cmd.add("--threads");
        cmd.add(Integer.toString(threads));
        cmd.add("--exit-with-parent"); // a parent killed outright (SIGKILL, a test run stopped) takes them along
        try
        {
            Files.deleteIfExists(log(i));
            processes.set(i, new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(log(i).toFile()).start());
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot start worker " + (i + 1) + ": " + e.getMessage(), e);
        }
    }

    /** Waits until worker {@code i} prints that it listens. */
    public void awaitListening(final int i)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline)
        {
            try
            {
                if (Files.exists(log(i)) && Files.readString(log(i)).contains("listening on"))
                {
                    return;
                }
                if (!processes.get(i).isAlive())
                {
                    break;
                }
                Thread.sleep(20);
            }
            catch (final IOException e)
            {
                // the log is being written; look again
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new IllegalStateException("worker " + (i + 1) + " did not start; see " + log(i));
    }

    /**
     * Stops worker {@code i}'s JVM (SIGSTOP) or lets it go on (SIGCONT), as a JVM stalled at a safepoint for
     * seconds would.
     *
     * @param stop true to stop, false to continue.
     */
    public void suspend(final int i, final boolean stop)
    {
        final Process p = processes.get(i);
        if (p == null)
        {
            return;
        }
        try
        {
            new ProcessBuilder("kill", stop ? "-STOP" : "-CONT", Long.toString(p.pid())).inheritIO().start()
                .waitFor(10, TimeUnit.SECONDS);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot signal worker " + (i + 1) + ": " + e.getMessage(), e);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Kills worker {@code i} at once (SIGKILL), as a crash would. */
    public void kill(final int i)
    {
        final Process p = processes.get(i);
        if (p != null)
        {
            p.destroyForcibly();
            try
            {
                p.waitFor(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close()
    {
        for (final Process p : processes)
        {
            if (p != null)
            {
                p.destroy();
            }
        }
        for (final Process p : processes)
        {
            try
            {
                if (p != null && !p.waitFor(5, TimeUnit.SECONDS))
                {
                    p.destroyForcibly();
                }
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
