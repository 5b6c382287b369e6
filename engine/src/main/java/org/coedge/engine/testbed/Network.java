package org.coedge.engine.testbed;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The emulated cluster's network: one network namespace per device and one for a bridge, each device joined to the
 * bridge by a veth pair, addresses {@code 10.77.0.(10 + i)/24} that exist only inside these namespaces (nothing is
 * added to the machine's own namespace), and every veth end rate-limited with {@code tc tbf}, so a link carries
 * {@code --link-mbps} each way. Built and removed by {@link Testbed}; cold path, one thread.
 */
final class Network
{
    static final String SUBNET = "10.77.0.";
    static final int FIRST_HOST = 10;

    private final String prefix;
    private final int devices;
    private final double linkMbps;
    private final double delayMs;
    private final List<String> created = new ArrayList<>();

    /**
     * @param prefix   names of the namespaces start with it ({@code PREFIX-br}, {@code PREFIX-d0}, ...).
     * @param linkMbps each link's rate each way; 0 leaves links unlimited (veth speed).
     * @param delayMs  one-way delay between two devices; 0 for none (needs the kernel's {@code netem}).
     */
    Network(final String prefix, final int devices, final double linkMbps, final double delayMs)
    {
        this.prefix = prefix;
        this.devices = devices;
        this.linkMbps = linkMbps;
        this.delayMs = delayMs;
    }

    String bridgeNamespace()
    {
        return prefix + "-br";
    }

    String namespace(final int device)
    {
        return prefix + "-d" + device;
    }

    static String address(final int device)
    {
        return SUBNET + (FIRST_HOST + device);
    }

    /** Creates the namespaces, the bridge, the veths, the addresses and the rate limits. */
    void create()
    {
        final String br = bridgeNamespace();
        addNamespace(br);
        Shell.run("ip", "-n", br, "link", "add", "br0", "type", "bridge");
        Shell.run("ip", "-n", br, "link", "set", "br0", "up");
        if (delayMs > 0)
        {
            requireNetem(br);
        }
        for (int d = 0; d < devices; d++)
        {
            final String ns = namespace(d);
            addNamespace(ns);
            final String port = "port" + d;
            Shell.run("ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
            Shell.run("ip", "-n", br, "link", "set", port, "master", "br0", "up");
            Shell.run("ip", "-n", ns, "addr", "add", address(d) + "/24", "dev", "eth0");
            Shell.run("ip", "-n", ns, "link", "set", "eth0", "up");
            Shell.run("ip", "-n", ns, "link", "set", "lo", "up");
            // a message from a to b leaves a's eth0 and then the bridge's port towards b: each end carries half the
            // delay and the full rate
            shape(ns, "eth0");
            shape(br, port);
        }
    }

    private void addNamespace(final String ns)
    {
        Shell.run("ip", "netns", "add", ns);
        created.add(ns);
    }

    private void shape(final String ns, final String dev)
    {
        if (linkMbps > 0)
        {
            for (final List<String> cmd : shapingCommands(dev, linkMbps, delayMs))
            {
                final List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
                full.addAll(cmd);
                Shell.run(full);
            }
        }
        else if (delayMs > 0)
        {
            Shell.run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem", "delay",
                ms(delayMs / 2));
        }
    }

    /** A token bucket's burst in microseconds of its rate (see {@link #shapingCommands}). */
    static final long BURST_US = 100;
    /** The least burst a token bucket gets, in bytes. */
    static final long MIN_BURST_BYTES = 16 * 1024;

    /**
     * @return the {@code tc} commands that limit {@code dev} to {@code mbps}: a token bucket whose burst is
     * {@value #BURST_US} us of the rate, at least {@value #MIN_BURST_BYTES} bytes (ten full 1500-byte frames, so the
     * kernel's timer keeps up), and whose queue holds 100 ms; with a delay, a {@code netem} child adds half of it.
     * A real link never carries more than its rate: with a bucket of 1 ms (125 KB at 1 Gbit/s) every halo message
     * and a 128 KiB probe went through at the veth's speed (a 128 KiB TCP transfer at 261 MB/s on a 1 Gbit/s link;
     * with 16 KiB, 107 MB/s), and large transfers ran no faster with the bigger bucket.
     */
    static List<List<String>> shapingCommands(final String dev, final double mbps, final double delayMs)
    {
        final long bytesPerSecond = (long)(mbps * 1e6 / 8);
        final long burst = Math.max(MIN_BURST_BYTES, bytesPerSecond * BURST_US / 1_000_000);
        final List<List<String>> cmds = new ArrayList<>();
        cmds.add(List.of("tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "tbf", "rate",
            String.format(Locale.ROOT, "%.3fmbit", mbps), "burst", Long.toString(burst), "latency", "100ms"));
        if (delayMs > 0)
        {
            cmds.add(List.of("tc", "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:", "netem", "delay",
                ms(delayMs / 2)));
        }
        return cmds;
    }

    /**
     * Sets every link to {@code mbps} each way, at once, keeping the queueing discipline ({@code tc qdisc replace}
     * changes a {@code tbf} in place, and adds one where links were unlimited): both ends of every device's veth, as
     * {@link #create} shaped them. {@code mbps <= 0} makes them unlimited again (their {@code tbf} removed).
     */
    void rate(final double mbps)
    {
        for (int d = 0; d < devices; d++)
        {
            rate(namespace(d), "eth0", mbps);
            rate(bridgeNamespace(), "port" + d, mbps);
        }
    }

    private static void rate(final String ns, final String dev, final double mbps)
    {
        if (mbps > 0)
        {
            Shell.run(rateCommand(ns, dev, mbps));
        }
        else
        {
            Shell.tryRun("tc", "-n", ns, "qdisc", "del", "dev", dev, "root"); // fails only where none is set
        }
    }

    /** @return the {@code tc} command that sets {@code dev} in namespace {@code ns} to {@code mbps}, as created. */
    static List<String> rateCommand(final String ns, final String dev, final double mbps)
    {
        final List<String> add = shapingCommands(dev, mbps, 0).get(0);
        final List<String> cmd = new ArrayList<>(List.of("tc", "-n", ns, "qdisc", "replace"));
        cmd.addAll(add.subList(3, add.size())); // after "tc qdisc add"
        return cmd;
    }

    private static String ms(final double ms)
    {
        return String.format(Locale.ROOT, "%.3fms", ms);
    }

    /** Refuses a delay where the kernel has no {@code netem} (tried on the bridge namespace's loopback). */
    private static void requireNetem(final String ns)
    {
        final Shell.Result r = Shell.tryRun("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root",
            "netem", "delay", "1ms");
        if (r.exitCode != 0)
        {
            throw new IllegalArgumentException("--link-delay-ms needs the kernel's netem queueing discipline " +
                "(sch_netem), which this kernel does not have; run without --link-delay-ms");
        }
        Shell.tryRun("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo", "root");
    }

    /** Kills what runs in the namespaces and deletes them (the veths and the bridge go with them). */
    void destroy()
    {
        for (int i = created.size() - 1; i >= 0; i--)
        {
            deleteNamespace(created.get(i));
        }
        created.clear();
    }

    static void deleteNamespace(final String ns)
    {
        final Shell.Result pids = Shell.tryRun("ip", "netns", "pids", ns);
        if (pids.exitCode == 0)
        {
            for (final String line : pids.output.split("\\s+"))
            {
                if (!line.isBlank())
                {
                    try
                    {
                        ProcessHandle.of(Long.parseLong(line.trim())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                    catch (final NumberFormatException e)
                    {
                        // not a pid
                    }
                }
            }
        }
        Shell.tryRun("ip", "netns", "del", ns);
    }

    /** @return the network namespaces whose names start with {@code prefix}. */
    static List<String> existing(final String prefix)
    {
        final List<String> found = new ArrayList<>();
        final Shell.Result r = Shell.tryRun("ip", "netns", "list");
        if (r.exitCode == 0)
        {
            for (final String line : r.output.split("\n"))
            {
                final String name = line.trim().split("\\s+")[0];
                if (name.startsWith(prefix))
                {
                    found.add(name);
                }
            }
        }
        return found;
    }
}
