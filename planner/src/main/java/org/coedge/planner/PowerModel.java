package org.coedge.planner;

import java.util.Locale;

/**
 * What one device draws, as a linear power model: {@code idleWatts} all the time it is powered, plus
 * {@code activeWattsPerCore} for every core kept busy (so a request's CPU time in core-seconds costs that much more
 * than idling), plus {@code nanojoulesPerByteSent} and {@code nanojoulesPerByteReceived} for what its network
 * interface moves. {@link #joules} is the one formula both the planner's predictions ({@link PlanEnergy}) and the
 * engine's measurements use.
 * <p>
 * The named defaults are taken from published measurements of whole boards at the wall or the USB supply; they
 * describe a class of machine, not the machine the engine runs on, and there is no power meter here:
 * <ul>
 * <li>{@code pi4}, a Raspberry Pi 4 Model B: idle 2.7 W (540 mA at 5 V) and 6.4 W (1280 mA) with all four cores
 * loaded by {@code stress --cpu 4}, from Jeff Geerling's power consumption benchmarks (pidramble.com, "Power
 * Consumption Benchmarks", Pi 4 B rows); chipwired.com measured the same board at 2.7 W baseline and 6.3 W high
 * load on a wall meter. The active figure is the load increment per core: (6.4 - 2.7) / 4 = 0.925 W.</li>
 * <li>{@code minipc}, an x86 mini PC: idle 10 W and 30 W with the CPU loaded, the middle of the ranges Tom's
 * Hardware measured at the wall on seven small PCs ("Seven Small (But Powerful) Mini-PCs, Reviewed", power usage
 * page: idle 8.4 to 13.2 W, Sandra cryptography load about 20 to 35 W), taken as four busy cores, so
 * (30 - 10) / 4 = 5 W per core. A rounded class figure, not one machine's.</li>
 * <li>Both charge 2 nJ per byte sent and 1 nJ per byte received. This is an assumption, not a measurement: on a
 * wired link the interface draws about the same power busy or idle, and the CPU time of a send, which the active
 * figure already counts, is most of what moving bytes costs; the small figure only keeps the planner from moving
 * bytes for nothing. For Wi-Fi give measured figures explicitly: Huang et al., "A Close Examination of Performance
 * and Power Characteristics of 4G LTE Networks" (MobiSys 2012), fitted a smartphone's Wi-Fi power at about 283 mW
 * per Mbit/s up and 137 mW per Mbit/s down, i.e. about 2270 and 1100 nJ per byte: {@code 0.925:2.7:2270/1100}.</li>
 * </ul>
 * <p>
 * Immutable; safe on any thread. Parsed from the worker's or testbed's {@code --power} flag by the engine.
 */
public final class PowerModel
{
    /** Raspberry Pi 4 class board; see the class description for the sources. */
    public static final PowerModel PI4 = new PowerModel("pi4", 0.925, 2.7, 2, 1);
    /** x86 mini PC class machine; see the class description for the sources. */
    public static final PowerModel MINIPC = new PowerModel("minipc", 5, 10, 2, 1);

    private final String name;
    private final double activeWattsPerCore;
    private final double idleWatts;
    private final double nanojoulesPerByteSent;
    private final double nanojoulesPerByteReceived;

    private PowerModel(
        final String name,
        final double activeWattsPerCore,
        final double idleWatts,
        final double nanojoulesPerByteSent,
        final double nanojoulesPerByteReceived)
    {
        this.name = name;
        this.activeWattsPerCore = activeWattsPerCore;
        this.idleWatts = idleWatts;
        this.nanojoulesPerByteSent = nanojoulesPerByteSent;
        this.nanojoulesPerByteReceived = nanojoulesPerByteReceived;
    }

    /**
     * @param activeWattsPerCore        what one busy core adds to the idle draw, finite and {@code >= 0}.
     * @param idleWatts                 the draw while powered and idle, finite and {@code >= 0}.
     * @param nanojoulesPerByteSent     energy per payload byte sent, finite and {@code >= 0}.
     * @param nanojoulesPerByteReceived energy per payload byte received, finite and {@code >= 0}.
     * @throws IllegalArgumentException naming the figure that is negative, NaN or infinite.
     */
    public static PowerModel of(
        final double activeWattsPerCore,
        final double idleWatts,
        final double nanojoulesPerByteSent,
        final double nanojoulesPerByteReceived)
    {
        check("active watts per core", activeWattsPerCore);
        check("idle watts", idleWatts);
        check("nanojoules per byte sent", nanojoulesPerByteSent);
        check("nanojoules per byte received", nanojoulesPerByteReceived);
        return new PowerModel(String.format(Locale.ROOT, "%s:%s:%s/%s", figure(activeWattsPerCore),
            figure(idleWatts), figure(nanojoulesPerByteSent), figure(nanojoulesPerByteReceived)), activeWattsPerCore,
            idleWatts, nanojoulesPerByteSent, nanojoulesPerByteReceived);
    }

    /**
     * @param spec {@code pi4}, {@code minipc}, or {@code ACTIVE_W:IDLE_W:NJ_PER_BYTE} (one figure for bytes sent and
     *             received) or {@code ACTIVE_W:IDLE_W:NJ_SENT/NJ_RECEIVED}, e.g. {@code 0.925:2.7:2} or
     *             {@code 5:10:2/1}.
     * @throws IllegalArgumentException with a one-line message saying what is wrong with {@code spec}.
     */
    public static PowerModel parse(final String spec)
    {
        if (spec == null || spec.isBlank())
        {
            throw new IllegalArgumentException("power model is empty: give pi4, minipc or ACTIVE_W:IDLE_W:NJ_PER_BYTE");
        }
        final String s = spec.trim();
        if (s.equalsIgnoreCase(PI4.name))
        {
            return PI4;
        }
        if (s.equalsIgnoreCase(MINIPC.name))
        {
            return MINIPC;
        }
        final String[] parts = s.split(":", -1);
        if (parts.length != 3)
        {
            throw new IllegalArgumentException("power model '" + s + "' is neither pi4, minipc nor " +
                "ACTIVE_W:IDLE_W:NJ_PER_BYTE (three figures separated by ':')");
        }
        final String[] bytes = parts[2].split("/", -1);
        if (bytes.length > 2)
        {
            throw new IllegalArgumentException("power model '" + s + "': give one NJ_PER_BYTE or NJ_SENT/NJ_RECEIVED, " +
                "not '" + parts[2] + "'");
        }
        final double sent = number(s, "nanojoules per byte", bytes[0]);
        return of(number(s, "active watts per core", parts[0]), number(s, "idle watts", parts[1]), sent,
            bytes.length == 2 ? number(s, "nanojoules per byte received", bytes[1]) : sent);
    }

    /**
     * The energy of one request on one device, for predicted and measured times alike.
     *
     * @param busyCoreNs core-nanoseconds of CPU the device spent on the request (compute and sends; a device
     *                   throttled to 0.45 core that computed for 10 ms of wall time spent about 4.5 ms).
     * @param endNs      the request's end-to-end time, over which a device that takes part draws its idle power,
     *                   busy or waiting ({@link PlanEnergy} counts nothing for a device the plan gives nothing).
     * @return joules: {@code idle_W * end_s + active_W * busy_core_s + nJ_sent * sent + nJ_received * received}.
     */
    public double joules(final double busyCoreNs, final double endNs, final long bytesSent, final long bytesReceived)
    {
        return idleWatts * endNs * 1e-9 + activeWattsPerCore * busyCoreNs * 1e-9 +
            (nanojoulesPerByteSent * bytesSent + nanojoulesPerByteReceived * bytesReceived) * 1e-9;
    }

    /** @return {@code pi4}, {@code minipc}, or the figures as given. */
    public String name()
    {
        return name;
    }

    public double activeWattsPerCore()
    {
        return activeWattsPerCore;
    }

    public double idleWatts()
    {
        return idleWatts;
    }

    public double nanojoulesPerByteSent()
    {
        return nanojoulesPerByteSent;
    }

    public double nanojoulesPerByteReceived()
    {
        return nanojoulesPerByteReceived;
    }

    private static double number(final String spec, final String what, final String text)
    {
        final double v;
        try
        {
            v = Double.parseDouble(text.trim());
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("power model '" + spec + "': " + what + " '" + text +
                "' is not a number");
        }
        if (Double.isNaN(v) || Double.isInfinite(v) || v < 0)
        {
            throw new IllegalArgumentException("power model '" + spec + "': " + what + " must be finite and >= 0: " +
                text);
        }
        return v;
    }

    private static void check(final String what, final double v)
    {
        if (Double.isNaN(v) || Double.isInfinite(v) || v < 0)
        {
            throw new IllegalArgumentException(what + " must be finite and >= 0: " + v);
        }
    }

    private static String figure(final double v)
    {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long)v) : Double.toString(v);
    }

    @Override
    public String toString()
    {
        return String.format(Locale.ROOT, "PowerModel{%s: %.3f W per busy core, %.3f W idle, %.3f/%.3f nJ per byte " +
            "sent/received}", name, activeWattsPerCore, idleWatts, nanojoulesPerByteSent, nanojoulesPerByteReceived);
    }
}
