package org.coedge.engine.testbed;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@code coedge testbed} was asked for: the devices' cores (the first is the coordinator), the links, the model,
 * the planners and the number of timed requests. Validated by {@link #validate()}; plain data otherwise.
 */
public final class TestbedConfig
{
    public double[] cores = {0.9, 0.45, 0.225};
    public double linkMbps = 100;
    public double delayMs;
    /** Print the adaptive planner's explain table of each run. */
    public boolean explain;
    /** CFS period of every device's quota, in microseconds (lengthened where a quota would be under 1 ms). */
    public long cfsPeriodUs = 10_000;
    /** A zoo model name, or null when {@link #model} is given. */
    public String modelName;
    public Path model;
    public List<Path> inputs = List.of();
    public List<String> planners = List.of("equal", "proportional", "adaptive");
    public int repeat = 5;
    public int warmup = 20;
    public String fuse = "1";
    /** Per device the power model it states (coedge worker --power), or empty for none. */
    public List<String> powers = List.of();
    /** What the extra adaptive runs optimise ({@code latency}: none are made). */
    public String objective = "latency";
    /**
     * The deadlines of the extra adaptive runs, one run each: milliseconds, or {@code Fx}, F times the median of
     * the {@code adaptive} run measured before in the same testbed.
     */
    public List<String> deadlines = List.of();
    /** The UDP port every device listens on (each has its own address). */
    public int port = 40100;
    /** {@code --link-schedule}: {@code INDEX:MBPS,...} over each cooperative run's timed requests; null for none. */
    public String linkSchedule;

    /** @return {@link #linkSchedule} parsed against {@link #repeat}, or null when there is none. */
    public LinkSchedule schedule()
    {
        return linkSchedule == null ? null : LinkSchedule.parse(linkSchedule, repeat);
    }

    /** @throws IllegalArgumentException naming the first bad value. */
    public TestbedConfig validate()
    {
        if (cores == null || cores.length < 1)
        {
            throw new IllegalArgumentException("--devices needs at least one device");
        }
        if (cfsPeriodUs < 1000 || cfsPeriodUs > 1_000_000)
        {
            throw new IllegalArgumentException("--cfs-period-ms must be in [1, 1000]: " + cfsPeriodUs / 1000.0);
        }
        if (cores.length > 200)
        {
            throw new IllegalArgumentException("--devices: at most 200 devices, got " + cores.length);
        }
        final int cpus = Runtime.getRuntime().availableProcessors();
        for (final double c : cores)
        {
            if (!(c >= 0.01) || c > cpus)
            {
                throw new IllegalArgumentException("--devices: every entry is a core count in [0.01, " + cpus +
                    "] (this machine's CPUs), got " + c);
            }
        }
        if (!(linkMbps >= 0) || Double.isInfinite(linkMbps))
        {
            throw new IllegalArgumentException("--link-mbps must be >= 0 (0: unlimited), got " + linkMbps);
        }
        if (!(delayMs >= 0) || delayMs > 10_000)
        {
            throw new IllegalArgumentException("--link-delay-ms must be in [0, 10000], got " + delayMs);
        }
        if ((modelName == null) == (model == null))
        {
            throw new IllegalArgumentException("give either --model-name or --model (with --input)");
        }
        if (model != null && inputs.isEmpty())
        {
            throw new IllegalArgumentException("--model needs --input");
        }
        if (modelName != null && !org.coedge.engine.zoo.ModelZoo.isKnown(modelName))
        {
            throw new IllegalArgumentException("unknown zoo model '" + modelName + "'; known: " +
                org.coedge.engine.zoo.ModelZoo.names());
        }
        for (final Path p : model == null ? inputs : concat(model, inputs))
        {
            if (!java.nio.file.Files.isRegularFile(p))
            {
                throw new IllegalArgumentException("no such file: " + p);
            }
        }
        if (modelName != null && !inputs.isEmpty())
        {
            throw new IllegalArgumentException("--input goes with --model, not with --model-name");
        }
        if (repeat < 1 || warmup < 0)
        {
            throw new IllegalArgumentException("--repeat must be >= 1 and --warmup >= 0");
        }
        if (planners.isEmpty())
        {
            throw new IllegalArgumentException("--planner needs at least one planner");
        }
        for (final String p : planners)
        {
            org.coedge.planner.policy.Planners.canonical(p);
        }
        if (!powers.isEmpty() && powers.size() != cores.length)
        {
            throw new IllegalArgumentException("--power needs one power model per device (" + cores.length +
                "), got " + powers.size());
        }
        for (final String power : powers)
        {
            org.coedge.planner.PowerModel.parse(power);
        }
        final org.coedge.planner.policy.PlanObjective.Kind kind = org.coedge.planner.policy.PlanObjective.of(
            objective, 1).kind();
        if (kind != org.coedge.planner.policy.PlanObjective.Kind.LATENCY)
        {
            if (deadlines.isEmpty())
            {
                throw new IllegalArgumentException("--objective " + objective + " needs --deadline-ms");
            }
            for (final String d : deadlines)
            {
                deadlineMs(d, 1);
            }
            if (kind == org.coedge.planner.policy.PlanObjective.Kind.ENERGY && powers.isEmpty())
            {
                throw new IllegalArgumentException("--objective energy needs --power, one model per device");
            }
            if (cores.length < 2)
            {
                throw new IllegalArgumentException("--objective " + objective + " plans a cooperative run: give at " +
                    "least 2 --devices");
            }
        }
        if (port < 1 || port > 65535)
        {
            throw new IllegalArgumentException("--port must be in [1, 65535]");
        }
        if (linkSchedule != null)
        {
            schedule();
            if (cores.length < 2)
            {
                throw new IllegalArgumentException("--link-schedule needs at least two devices (a link to change)");
            }
            if (delayMs > 0)
            {
                // changing a tbf in place with a netem child under it is untested (this machine has no netem)
                throw new IllegalArgumentException("--link-schedule does not go with --link-delay-ms");
            }
        }
        return this;
    }

    /**
     * @param deadline  milliseconds, or {@code Fx}: F times {@code adaptiveMs}.
     * @param adaptiveMs the median latency of the testbed's {@code adaptive} run, for a relative deadline.
     * @return the deadline in milliseconds.
     * @throws IllegalArgumentException naming a deadline that is not a positive number or factor.
     */
    public static double deadlineMs(final String deadline, final double adaptiveMs)
    {
        final String d = deadline.trim();
        final boolean relative = d.endsWith("x");
        final double v;
        try
        {
            v = Double.parseDouble(relative ? d.substring(0, d.length() - 1) : d);
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("--deadline-ms takes milliseconds or a factor Fx of the adaptive " +
                "run's median (e.g. 1.25x), got '" + deadline + "'");
        }
        if (!(v > 0) || v > 3_600_000)
        {
            throw new IllegalArgumentException("--deadline-ms must be in (0, 3600000] (ms) or a factor > 0, got '" +
                deadline + "'");
        }
        return relative ? v * adaptiveMs : v;
    }

    private static List<Path> concat(final Path first, final List<Path> rest)
    {
        final List<Path> all = new java.util.ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return all;
    }
}
