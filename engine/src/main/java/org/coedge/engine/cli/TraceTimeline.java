package org.coedge.engine.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.coedge.engine.cluster.Coordinator;
import org.coedge.engine.cluster.Worker;
import org.coedge.planner.Step;

/**
 * One cooperative request's time line, every step of every device of the plan, taken from a {@link Coordinator}
 * right after the request, and written as a Chrome trace-event JSON ({@code coedge run --peers --trace FILE}; loads
 * in Perfetto or {@code chrome://tracing}). Device {@code d} is trace process {@code d}; every step is a complete
 * ({@code "ph": "X"}) event with category {@code compute}, {@code send} or {@code wait}.
 * <p>
 * The coordinator's steps are timed on its own clock. A worker times its steps from the moment its control thread
 * read the request; that moment is placed at the coordinator's send time plus half the probed round trip, so the
 * workers' bars line up with the coordinator's without a shared clock. Cold path; the caller's thread.
 */
final class TraceTimeline
{
    private final int devices;
    private final String[] deviceNames;
    private final String[][] names;
    private final String[][] kinds;
    private final long[][] startNs; // from the coordinator's request start; -1: the step did not run
    private final long[][] durationNs;

    private TraceTimeline(final int devices)
    {
        this.devices = devices;
        this.deviceNames = new String[devices];
        this.names = new String[devices][];
        this.kinds = new String[devices][];
        this.startNs = new long[devices][];
        this.durationNs = new long[devices][];
    }

    /** Takes the time line of the request {@code coordinator} ran last. */
    static TraceTimeline of(final Coordinator coordinator)
    {
        final List<Worker> ws = coordinator.planWorkers();
        final TraceTimeline t = new TraceTimeline(ws.size() + 1);
        final long origin = coordinator.requestStartNs();
        for (int d = 0; d <= ws.size(); d++)
        {
            final List<Step> steps = coordinator.programs().get(d).steps();
            final int n = steps.size();
            t.names[d] = new String[n];
            t.kinds[d] = new String[n];
            t.startNs[d] = new long[n];
            t.durationNs[d] = new long[n];
            for (int i = 0; i < n; i++)
            {
                t.names[d][i] = describe(steps.get(i));
                t.kinds[d][i] = kindName(steps.get(i).kind());
                t.startNs[d][i] = -1;
            }
            if (d == 0)
            {
                t.deviceNames[d] = "device 0 (coordinator)";
                for (int i = 0; i < n; i++)
                {
                    final long s = coordinator.stepStartNs(i);
                    t.startNs[d][i] = s == 0 ? -1 : s - origin;
                    t.durationNs[d][i] = coordinator.stepNs(i);
                }
            }
            else
            {
                final Worker w = ws.get(d - 1);
                t.deviceNames[d] = "device " + d + " (worker " + w.endpoint() + ")";
                final long arrival = w.requestSentNs() - origin + (long)(w.rttNs() / 2);
                for (int i = 0; i < Math.min(n, w.stepCount()); i++)
                {
                    final long s = w.stepStartNs(i);
                    t.startNs[d][i] = s < 0 ? -1 : arrival + s;
                    t.durationNs[d][i] = w.stepDurationNs(i);
                }
            }
        }
        return t;
    }

    static String describe(final Step s)
    {
        switch (s.kind())
        {
            case COMPUTE:
                return "compute layer " + s.layer() + " rows " + s.rows().start() + "-" + s.rows().end();
            case SEND:
                return "send layer " + s.layer() + " rows " + s.rows().start() + "-" + s.rows().end() + " to " +
                    s.peer();
            default:
                return "wait layer " + s.layer() + " rows " + s.rows().start() + "-" + s.rows().end() + " from " +
                    s.peer();
        }
    }

    static String kindName(final Step.Kind kind)
    {
        return kind == Step.Kind.COMPUTE ? "compute" : kind == Step.Kind.SEND ? "send" : "wait";
    }

    /** @return the trace-event JSON: process names, then every step that ran. */
    String toJson()
    {
        final StringBuilder sb = new StringBuilder(64 * 1024).append("{\"traceEvents\": [\n");
        boolean first = true;
        for (int d = 0; d < devices; d++)
        {
            sb.append(first ? "" : ",\n").append(String.format(Locale.ROOT,
                "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %d, \"tid\": 0, \"args\": {\"name\": \"%s\"}}",
                d, Json.escape(deviceNames[d])));
            first = false;
        }
        for (int d = 0; d < devices; d++)
        {
            for (int i = 0; i < names[d].length; i++)
            {
                if (startNs[d][i] < 0)
                {
                    continue;
                }
                sb.append(",\n").append(String.format(Locale.ROOT, "{\"name\": \"%s\", \"cat\": \"%s\", \"ph\": " +
                    "\"X\", \"ts\": %.3f, \"dur\": %.3f, \"pid\": %d, \"tid\": 0, \"args\": {\"step\": %d}}",
                    Json.escape(names[d][i]), kinds[d][i], startNs[d][i] / 1e3, durationNs[d][i] / 1e3, d, i));
            }
        }
        return sb.append("\n], \"displayTimeUnit\": \"ms\"}\n").toString();
    }

    void write(final Path file) throws IOException
    {
        final Path parent = file.toAbsolutePath().getParent();
        if (parent != null)
        {
            Files.createDirectories(parent);
        }
        Files.writeString(file, toJson(), StandardCharsets.UTF_8);
    }
}
