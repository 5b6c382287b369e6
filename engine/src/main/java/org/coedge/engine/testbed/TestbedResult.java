package org.coedge.engine.testbed;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What one {@code coedge testbed} run measured: the devices, each device class alone, and every planner's
 * cooperative latency, speedup, error and per-device times. Printed as a table or as one JSON object
 * ({@link #toJson()}); {@link TestbedReport} draws it. Plain data, filled by {@link Testbed}.
 */
public final class TestbedResult
{
    /** One emulated device. */
    public static final class Device
    {
        public double cores;
        public long periodUs;
        public long quotaUs;
        /** The throughput the device reported to the planner (first planner run that had it), GFLOP/s. */
        public double gflops = Double.NaN;
        /** The CPUs the device's processes were pinned to ({@code taskset} list), empty if not pinned. */
        public String cpus = "";
        /** What the device held for its slice under the last planner (arena, weights, buffers). */
        public double memoryMb = Double.NaN;
        /** The device's peak resident set over the cooperative runs (its worker, or the coordinator's largest). */
        public double peakRssMb = Double.NaN;
    }

    /** One device class alone. */
    public static final class Alone
    {
        public double cores;
        public int device;
        /** Over every timed request alone: before the cooperative runs and, for the fastest class, after them. */
        public double medianMs;
        public double minMs;
        /** The median of the run before the cooperative runs. */
        public double beforeMedianMs = Double.NaN;
        /** The median of the run after them (the fastest class only), NaN if there was none. */
        public double afterMedianMs = Double.NaN;
        /** Every timed request alone, before then after. */
        public double[] samplesMs = new double[0];

        /** Adds one run's timed requests and recomputes the median and minimum over all of them. */
        void add(final double[] runSamplesMs, final boolean after)
        {
            final double[] all = Arrays.copyOf(samplesMs, samplesMs.length + runSamplesMs.length);
            System.arraycopy(runSamplesMs, 0, all, samplesMs.length, runSamplesMs.length);
            samplesMs = all;
            if (after)
            {
                afterMedianMs = median(runSamplesMs);
            }
            else
            {
                beforeMedianMs = median(runSamplesMs);
            }
            medianMs = median(all);
            minMs = Arrays.stream(all).min().orElse(Double.NaN);
        }
    }

    /** One device under one planner. */
    public static final class PlannerDevice
    {
        public boolean joined;
        public int rows;
        public double computeMs;
        public double sendMs;
        public double waitMs;
        public double gflops = Double.NaN;
        /** Periods the device's quota throttled, over those it ran, during this planner's run (0..1). */
        public double throttledFraction;
    }

    /** One timed request of a cooperative run, as the coordinator's {@code --json} listed it. */
    public static final class Request
    {
        public double latencyMs;
        public long epoch;
        /** The exit the request left the model at, -1 where the coordinator did not say. */
        public int exit = -1;
    }

    /** One {@code --link-schedule} entry as it was applied during a cooperative run. */
    public static final class LinkChange
    {
        /** The timed request from which the schedule asked for the rate. */
        public int request;
        public double mbps;
        /** The last timed request that had ended when the change began (-1: before the run). */
        public int afterRequest;
        /** How long {@code tc} took to change every link. */
        public double tcMs;
        /** The first timed request that started after the new rate was in place. */
        public int firstFull;
    }

    /** One planner's cooperative run. */
    public static final class Planner
    {
        public String name;
        public double[] samplesMs = new double[0];
        public double medianMs;
        public double p90Ms;
        public double speedup;
        public double maxError;
        public int fuse;
        /** The adaptive planner's predicted end-to-end latency, NaN for planners that predict nothing. */
        public double predictedMs = Double.NaN;
        /** Untimed requests after the warm-up in which the planner measured plans against each other. */
        public int settleRequests;
        /** The adaptive planner's account of its plan, empty otherwise. */
        public String plan = "";
        /** The coordinator's explain table (predicted against measured per stage and device), empty otherwise. */
        public String explain = "";
        public final List<PlannerDevice> devices = new ArrayList<>();
        /** The trace-event JSON of the last timed request. */
        public String traceJson = "";
        /** Every timed request in order (empty for a one-device testbed). */
        public final List<Request> requests = new ArrayList<>();
        /** The link schedule's entries as applied in this run (empty without {@code --link-schedule}). */
        public final List<LinkChange> linkChanges = new ArrayList<>();
        /** The objective of an extra adaptive run ({@code energy}, {@code accuracy}), "" for the planners' own. */
        public String objective = "";
        public double deadlineMs = Double.NaN;
        /** The exit the final plan answered from, -1 for the model's outputs. */
        public int exit = -1;
        /** Median over the timed requests of the joules measured times cost under the devices' power models. */
        public double energyJ = Double.NaN;
        public double predictedEnergyJ = Double.NaN;
    }

    public String model = "";
    /** The testbed's own calibration, with no quota, right before the workers calibrated. */
    public double unthrottledBefore = Double.NaN;
    /** NaN with one device (no worker calibrates). */
    public double unthrottledAfter = Double.NaN;
    public double linkMbps;
    public double delayMs;
    public int repeat;
    /** {@code --link-schedule} as given, empty for none. */
    public String linkSchedule = "";
    public final List<Device> devices = new ArrayList<>();
    public final List<Alone> alone = new ArrayList<>();
    public final List<Planner> planners = new ArrayList<>();

    /**
     * @return what a quota is a share of: the mean of the testbed's own calibrations right before and right after the
     *     workers calibrated (the one there is, with one device), NaN with neither.
     */
    public double unthrottledGflops()
    {
        return Double.isNaN(unthrottledAfter) ? unthrottledBefore :
            Double.isNaN(unthrottledBefore) ? unthrottledAfter : (unthrottledBefore + unthrottledAfter) / 2;
    }

    /** @return the fastest device class alone. */
    public Alone fastestAlone()
    {
        Alone best = alone.get(0);
        for (final Alone a : alone)
        {
            if (a.medianMs < best.medianMs)
            {
                best = a;
            }
        }
        return best;
    }

    /** @return the coordinator's {@code "requests"} records from its {@code --json} (none if it has none). */
    static List<Request> requests(final java.util.Map<String, Object> coordinatorJson)
    {
        final List<Request> out = new ArrayList<>();
        if (!(coordinatorJson.get("requests") instanceof List))
        {
            return out;
        }
        for (final java.util.Map<String, Object> r : JsonReader.objects(coordinatorJson, "requests"))
        {
            final Request q = new Request();
            q.latencyMs = JsonReader.num(r, "latency_ms");
            q.epoch = (long)JsonReader.num(r, "epoch");
            q.exit = r.get("exit") instanceof Double ? (int)(double)(Double)r.get("exit") : -1;
            out.add(q);
        }
        return out;
    }

    /** @return the {@code q}-quantile (nearest rank) of {@code v}. */
    static double quantile(final double[] v, final double q)
    {
        if (v.length == 0)
        {
            return Double.NaN;
        }
        final double[] s = v.clone();
        Arrays.sort(s);
        final int rank = (int)Math.ceil(q * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    static double median(final double[] v)
    {
        if (v.length == 0)
        {
            return Double.NaN;
        }
        final double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String num(final double v)
    {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4g", v) : "null";
    }

    /**
     * @return what a device reported over its quota's share of the unthrottled rate ({@code cores} times
     * {@link #unthrottledGflops()}): 1 for a perfect estimate, NaN when either is unknown.
     */
    public double shareRatio(final Device d)
    {
        return d.gflops / (d.cores * unthrottledGflops());
    }

    /** @return the result as one JSON object (the fields README's {@code coedge testbed} section names). */
    public String toJson()
    {
        final StringBuilder sb = new StringBuilder(4096);
        sb.append("{\"model\": \"").append(escape(model)).append("\", \"link_mbps\": ").append(num(linkMbps))
            .append(", \"link_delay_ms\": ").append(num(delayMs)).append(", \"repeat\": ").append(repeat)
            .append(", \"unthrottled_gflops\": ").append(num(unthrottledGflops()))
            .append(", \"unthrottled_gflops_before\": ").append(num(unthrottledBefore))
            .append(", \"unthrottled_gflops_after\": ").append(num(unthrottledAfter));
        if (!linkSchedule.isEmpty())
        {
            sb.append(", \"link_schedule\": \"").append(escape(linkSchedule)).append('"');
        }
        sb.append(", \"devices\": [");
        for (int i = 0; i < devices.size(); i++)
        {
            final Device d = devices.get(i);
            sb.append(i > 0 ? ", " : "").append("{\"cores\": ").append(num(d.cores)).append(", \"period_us\": ")
                .append(d.periodUs).append(", \"quota_us\": ").append(d.quotaUs).append(", \"cpus\": \"")
                .append(escape(d.cpus)).append("\", \"gflops\": ").append(num(d.gflops))
                .append(", \"gflops_vs_share\": ").append(num(shareRatio(d))).append(", \"memory_mb\": ")
                .append(num(d.memoryMb)).append(", \"peak_rss_mb\": ").append(num(d.peakRssMb)).append('}');
        }
        final Alone fastest = fastestAlone();
        sb.append("], \"alone_ms\": {\"median\": ").append(num(fastest.medianMs)).append(", \"min\": ")
            .append(num(fastest.minMs)).append(", \"before\": ").append(num(fastest.beforeMedianMs))
            .append(", \"after\": ").append(num(fastest.afterMedianMs)).append(", \"cores\": ")
            .append(num(fastest.cores)).append("}, \"alone\": [");
        for (int i = 0; i < alone.size(); i++)
        {
            final Alone a = alone.get(i);
            sb.append(i > 0 ? ", " : "").append("{\"cores\": ").append(num(a.cores)).append(", \"device\": ")
                .append(a.device).append(", \"median_ms\": ").append(num(a.medianMs)).append(", \"min_ms\": ")
                .append(num(a.minMs)).append(", \"before_median_ms\": ").append(num(a.beforeMedianMs))
                .append(", \"after_median_ms\": ").append(num(a.afterMedianMs)).append('}');
        }
        sb.append("], \"planners\": [");
        for (int i = 0; i < planners.size(); i++)
        {
            final Planner p = planners.get(i);
            sb.append(i > 0 ? ", " : "").append("{\"name\": \"").append(escape(p.name))
                .append("\", \"latency_ms\": {\"median\": ").append(num(p.medianMs)).append(", \"p90\": ")
                .append(num(p.p90Ms)).append(", \"samples\": [");
            for (int s = 0; s < p.samplesMs.length; s++)
            {
                sb.append(s > 0 ? ", " : "").append(num(p.samplesMs[s]));
            }
            sb.append("]}, \"speedup\": ").append(num(p.speedup)).append(", \"max_error\": ").append(num(p.maxError))
                .append(", \"fuse\": ").append(p.fuse).append(", \"settle_requests\": ").append(p.settleRequests);
            if (!Double.isNaN(p.predictedMs))
            {
                sb.append(", \"predicted_ms\": ").append(num(p.predictedMs)).append(", \"plan\": \"")
                    .append(escape(p.plan)).append('"');
            }
            appendObjective(sb, p);
            appendRequests(sb, p);
            sb.append(", \"devices\": [");
            for (int d = 0; d < p.devices.size(); d++)
            {
                final PlannerDevice pd = p.devices.get(d);
                sb.append(d > 0 ? ", " : "").append("{\"joined\": ").append(pd.joined).append(", \"rows\": ")
                    .append(pd.rows).append(", \"gflops\": ").append(num(pd.gflops)).append(", \"compute_ms\": ")
                    .append(num(pd.computeMs)).append(", \"send_ms\": ").append(num(pd.sendMs))
                    .append(", \"wait_ms\": ").append(num(pd.waitMs)).append(", \"throttled\": ")
                    .append(num(pd.throttledFraction)).append('}');
            }
            sb.append("]}");
        }
        return sb.append("]}").toString();
    }

    /**
     * Appends a planner's exit, energy (measured and predicted, where the devices have power models) and, for an
     * extra run under a deadline, its objective, deadline and the share of timed requests that met it.
     */
    private static void appendObjective(final StringBuilder sb, final Planner p)
    {
        sb.append(", \"exit\": ").append(p.exit);
        if (!Double.isNaN(p.energyJ))
        {
            sb.append(", \"energy_j\": ").append(num(p.energyJ));
        }
        if (!Double.isNaN(p.predictedEnergyJ))
        {
            sb.append(", \"predicted_energy_j\": ").append(num(p.predictedEnergyJ));
        }
        if (!p.objective.isEmpty())
        {
            int met = 0;
            for (final double ms : p.samplesMs)
            {
                met += ms <= p.deadlineMs ? 1 : 0;
            }
            sb.append(", \"objective\": \"").append(escape(p.objective)).append("\", \"deadline_ms\": ")
                .append(num(p.deadlineMs)).append(", \"deadline_met\": ")
                .append(num(p.samplesMs.length == 0 ? Double.NaN : met / (double)p.samplesMs.length));
        }
    }

    /** Appends a planner's {@code "requests"} and, with a schedule, its {@code "link_changes"}. */
    private static void appendRequests(final StringBuilder sb, final Planner p)
    {
        sb.append(", \"requests\": [");
        for (int r = 0; r < p.requests.size(); r++)
        {
            final Request q = p.requests.get(r);
            sb.append(r > 0 ? ", " : "").append("{\"latency_ms\": ").append(num(q.latencyMs))
                .append(", \"epoch\": ").append(q.epoch);
            if (q.exit >= 0)
            {
                sb.append(", \"exit\": ").append(q.exit);
            }
            sb.append('}');
        }
        sb.append(']');
        if (!p.linkChanges.isEmpty())
        {
            sb.append(", \"link_changes\": [");
            for (int c = 0; c < p.linkChanges.size(); c++)
            {
                final LinkChange l = p.linkChanges.get(c);
                sb.append(c > 0 ? ", " : "").append("{\"request\": ").append(l.request).append(", \"mbps\": ")
                    .append(num(l.mbps)).append(", \"after_request\": ").append(l.afterRequest)
                    .append(", \"tc_ms\": ").append(num(l.tcMs)).append(", \"first_full_request\": ")
                    .append(l.firstFull).append('}');
            }
            sb.append(']');
        }
    }

    /** Prints the devices, each class alone, and one line per planner and device. */
    public void printTable(final PrintWriter out)
    {
        out.printf(Locale.ROOT, "testbed: %s on %d device(s), links %s%s, %d timed request(s) each%n", model,
            devices.size(), linkMbps > 0 ? String.format(Locale.ROOT, "%.0f Mbit/s", linkMbps) : "unlimited",
            delayMs > 0 ? String.format(Locale.ROOT, " + %.1f ms", delayMs) : "", repeat);
        out.printf(Locale.ROOT, "unthrottled: %.1f GFLOP/s (the testbed's own calibration, right before the workers)%n",
            unthrottledGflops());
        out.printf("%-7s %6s %18s %5s %9s %9s %10s %9s%n", "device", "cores", "quota / period us", "cpus",
            "GFLOP/s", "/ share", "memory MiB", "peak RSS");
        for (int i = 0; i < devices.size(); i++)
        {
            final Device d = devices.get(i);
            out.printf(Locale.ROOT, "%-7s %6.3f %18s %5s %9.1f %9.2f %10.1f %9.1f%n", i == 0 ? "0 coord" :
                Integer.toString(i), d.cores, d.quotaUs + " / " + d.periodUs, d.cpus.isEmpty() ? "-" : d.cpus,
                d.gflops, shareRatio(d), d.memoryMb, d.peakRssMb);
        }
        for (final Alone a : alone)
        {
            out.printf(Locale.ROOT, "alone on %.3f cores (device %d): median %.2f ms, min %.2f ms%s%n", a.cores,
                a.device, a.medianMs, a.minMs, Double.isNaN(a.afterMedianMs) ? "" : String.format(Locale.ROOT,
                " (median %.2f ms before the cooperative runs, %.2f ms after)", a.beforeMedianMs, a.afterMedianMs));
        }
        out.printf("%-13s %10s %10s %8s %10s   %s%n", "planner", "median ms", "p90 ms", "speedup", "max error",
            "per device: rows, compute / send / wait ms, throttled");
        for (final Planner p : planners)
        {
            final StringBuilder per = new StringBuilder();
            for (int d = 0; d < p.devices.size(); d++)
            {
                final PlannerDevice pd = p.devices.get(d);
                per.append(d > 0 ? "; " : "").append(pd.joined ? String.format(Locale.ROOT,
                    "%d: %d r, %.1f/%.1f/%.1f, %.0f%%", d, pd.rows, pd.computeMs, pd.sendMs, pd.waitMs,
                    100 * pd.throttledFraction) : d + ": not joined");
            }
            out.printf(Locale.ROOT, "%-13s %10.2f %10.2f %7.2fx %10.2g   %s%n", p.name, p.medianMs, p.p90Ms,
                p.speedup, p.maxError, per);
        }
        out.printf(Locale.ROOT, "speedup: the fastest device alone (%.2f ms) over the planner's median%n",
            fastestAlone().medianMs);
        for (final Planner p : planners)
        {
            for (final LinkChange l : p.linkChanges)
            {
                out.printf(Locale.ROOT, "%s: links to %.0f Mbit/s for request %d (after request %d, tc %.1f ms, " +
                    "wholly from request %d)%n", p.name, l.mbps, l.request, l.afterRequest, l.tcMs, l.firstFull);
            }
            if (!p.linkChanges.isEmpty())
            {
                final StringBuilder ms = new StringBuilder();
                for (final Request q : p.requests)
                {
                    ms.append(String.format(Locale.ROOT, " %.1f", q.latencyMs));
                }
                out.printf("%s: ms per request:%s%n", p.name, ms);
            }
        }
        for (final Planner p : planners)
        {
            if (!Double.isNaN(p.predictedMs))
            {
                out.printf(Locale.ROOT, "%s: predicted %.2f ms, measured %.2f ms (%+.1f%%); plan: %s (chosen by " +
                    "measuring plans over %d untimed requests after the warm-up)%n", p.name, p.predictedMs,
                    p.medianMs, 100 * (p.medianMs / p.predictedMs - 1), p.plan, p.settleRequests);
            }
        }
    }

    static String escape(final String s)
    {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
