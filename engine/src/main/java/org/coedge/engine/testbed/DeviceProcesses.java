package org.coedge.engine.testbed;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The testbed's device processes: starts {@code coedge} JVMs inside a device's cgroup, namespace and CPUs
 * ({@link DeviceCommands}), keeps the workers of devices 1..n-1 running across planners, runs one-shot commands to
 * their end and reads back the JSON they printed, and kills whatever still runs on {@link #stopAll()}. Owned by a
 * {@link Testbed}; its thread, and the shutdown hook's for {@link #stopAll()}.
 */
final class DeviceProcesses
{
    private static final long START_TIMEOUT_S = 180;
    private static final long RUN_TIMEOUT_S = 3600;

    private final TestbedConfig config;
    private final PrintWriter log;
    private final Path work;
    private final List<CpuCgroup> cgroups;
    private final Network network;
    private final String[] cpus; // per device the CPUs it runs on (taskset lists), null where taskset is missing
    private final List<Process> processes = new CopyOnWriteArrayList<>();
    private final List<Process> workers = new ArrayList<>(); // device d >= 1 is element d - 1

    DeviceProcesses(final TestbedConfig config, final PrintWriter log, final Path work, final List<CpuCgroup> cgroups,
        final Network network, final String[] cpus)
    {
        this.config = config;
        this.log = log;
        this.work = work;
        this.cgroups = cgroups;
        this.network = network;
        this.cpus = cpus;
    }

    /** @return the pid of device {@code d}'s worker ({@code d >= 1}, started by {@link #startWorker}). */
    long workerPid(final int d)
    {
        return workers.get(d - 1).pid();
    }

    void startWorker(final int d, final Path key) throws IOException
    {
        final Path logFile = work.resolve("worker-d" + d + ".log");
        final Process p = start(d, DeviceCommands.worker(d, config.port, key, config.cores[d],
            config.powers.isEmpty() ? null : config.powers.get(d)), logFile, logFile);
        workers.add(p);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_S);
        while (true)
        {
            final String text = Files.exists(logFile) ? Files.readString(logFile) : "";
            if (text.contains("listening on"))
            {
                log.printf("testbed: worker on device %d (%.3f cores) %s%n", d, config.cores[d],
                    firstLine(text, "GFLOP/s"));
                return;
            }
            if (!p.isAlive())
            {
                throw new IllegalStateException("the worker of device " + d + " exited with code " + p.exitValue() +
                    ": " + lastLine(text));
            }
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("the worker of device " + d + " did not start within " +
                    START_TIMEOUT_S + " s: " + lastLine(text));
            }
            CpuCgroup.sleepMs(50);
        }
    }

    void checkWorkers()
    {
        for (int i = 0; i < workers.size(); i++)
        {
            final Process p = workers.get(i);
            if (!p.isAlive())
            {
                final Path logFile = work.resolve("worker-d" + (i + 1) + ".log");
                String text = "";
                try
                {
                    text = Files.exists(logFile) ? Files.readString(logFile) : "";
                }
                catch (final IOException e)
                {
                    // the exit code says enough
                }
                throw new IllegalStateException("the worker of device " + (i + 1) + " died (exit " + p.exitValue() +
                    "): " + lastLine(text));
            }
        }
    }

    Map<String, Object> runToEnd(final int d, final String name, final List<String> args) throws IOException
    {
        return runToEnd(d, name, args, null);
    }

    /**
     * Runs {@code args} on device {@code d} until it exits; returns the JSON object it printed last. With
     * {@code links}, its stderr goes through them (which play the link schedule by its progress lines).
     */
    Map<String, Object> runToEnd(final int d, final String name, final List<String> args,
        final LinkScheduler links) throws IOException
    {
        final Path stdout = work.resolve(name + ".out");
        final Path stderr = work.resolve(name + ".err");
        final Process p = start(d, args, stdout, links == null ? stderr : null);
        if (links != null)
        {
            links.follow(p.getErrorStream(), stderr);
        }
        try
        {
            if (!p.waitFor(RUN_TIMEOUT_S, TimeUnit.SECONDS))
            {
                p.destroyForcibly();
                throw new IllegalStateException(name + " did not finish within " + RUN_TIMEOUT_S + " s");
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted");
        }
        processes.remove(p);
        if (links != null)
        {
            links.await(30);
        }
        final String out = Files.readString(stdout, StandardCharsets.UTF_8);
        final String err = Files.readString(stderr, StandardCharsets.UTF_8);
        if (p.exitValue() != 0)
        {
            throw new IllegalStateException("device " + d + " (" + name + ") exited with code " + p.exitValue() +
                ": " + lastLine(err.isBlank() ? out : err));
        }
        for (final String line : err.split("\n"))
        {
            if (line.startsWith("coordinator:"))
            {
                log.println("  " + line);
            }
        }
        final String[] lines = out.split("\n");
        for (int i = lines.length - 1; i >= 0; i--)
        {
            if (lines[i].startsWith("{"))
            {
                return JsonReader.parseObject(lines[i]);
            }
        }
        throw new IllegalStateException("device " + d + " (" + name + ") printed no JSON: " + lastLine(out));
    }

    /**
     * @return what {@code coedge calibrate} reports in a device's JVM on {@code cpuList} without a quota; NaN if it
     * fails.
     */
    double unthrottledGflops(final String cpuList) throws IOException
    {
        final List<String> cmd = new ArrayList<>();
        if (!cpuList.isEmpty())
        {
            cmd.addAll(List.of("taskset", "-c", cpuList));
        }
        cmd.addAll(DeviceCommands.jvm(ProcessHandle.current().info().command().orElse("java"), 1.0,
            work.resolve("tmp-d0"), System.getProperty("java.class.path"), List.of()));
        cmd.add("calibrate");
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        processes.add(p);
        final String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try
        {
            p.waitFor();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        processes.remove(p);
        try
        {
            // the calibration's line is its last; a JVM may print warnings before it (incubator modules)
            final String[] lines = out.trim().split("\\R");
            return Double.parseDouble(lines[lines.length - 1].trim().split(" ")[0]);
        }
        catch (final NumberFormatException e)
        {
            log.println("testbed: no unthrottled calibration: " + out.trim());
            return Double.NaN;
        }
    }

    /** Starts {@code args} on device {@code d}; a null {@code stderr} leaves it a pipe for the caller to read. */
    private Process start(final int d, final List<String> args, final Path stdout, final Path stderr)
        throws IOException
    {
        final List<String> properties = new ArrayList<>();
        for (final String name : System.getProperties().stringPropertyNames())
        {
            if (name.startsWith("coedge."))
            {
                properties.add("-D" + name + "=" + System.getProperty(name));
            }
        }
        // inside its namespace a device cannot read its cgroup; its quota is part of the key of its profile
        properties.add("-D" + org.coedge.engine.cluster.DeviceFacts.CORES_PROP + "=" + config.cores[d]);
        properties.add("-D" + org.coedge.engine.cluster.DeviceFacts.PERIOD_PROP + "=" + cgroups.get(d).periodUs());
        final List<String> jvm = DeviceCommands.jvm(ProcessHandle.current().info().command().orElse("java"),
            config.cores[d], work.resolve("tmp-d" + d), System.getProperty("java.class.path"), properties);
        jvm.addAll(args);
        final ProcessBuilder pb = new ProcessBuilder(DeviceCommands.inDevice(cgroups.get(d).procsFile(),
            network.namespace(d), cpus == null ? "" : cpus[d], jvm));
        if (stdout.equals(stderr))
        {
            pb.redirectErrorStream(true);
        }
        else if (stderr != null)
        {
            pb.redirectError(stderr.toFile());
        }
        pb.redirectOutput(stdout.toFile());
        final Process p = pb.start();
        processes.add(p);
        return p;
    }

    static String lastLine(final String text)
    {
        final String[] lines = text.trim().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].trim();
    }

    private static String firstLine(final String text, final String containing)
    {
        for (final String line : text.split("\n"))
        {
            if (line.contains(containing))
            {
                return line.trim();
            }
        }
        return "";
    }

    /** Asks every process still running to stop, then kills those that have not within 5 s. */
    void stopAll()
    {
        for (final Process p : processes)
        {
            p.destroy();
        }
        for (final Process p : processes)
        {
            try
            {
                if (!p.waitFor(5, TimeUnit.SECONDS))
                {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException e)
            {
                p.destroyForcibly();
            }
        }
    }
}
