package org.coedge.engine.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;

/**
 * What the testbed reads back from a device's run: the coordinator's explain table from its log, what its JSON says
 * of the run and of each device, and how far its outputs are from the single-device reference. Stateless; called by
 * {@link Testbed}.
 */
final class RunOutputs
{
    private RunOutputs()
    {
    }

    /** @return the coordinator's explain table from its log, from "plan epoch" to "end to end", or "". */
    static String explainTable(final Path stderr) throws IOException
    {
        if (!Files.exists(stderr))
        {
            return "";
        }
        final StringBuilder sb = new StringBuilder();
        boolean in = false;
        for (final String line : Files.readAllLines(stderr, StandardCharsets.UTF_8))
        {
            if (line.startsWith("plan epoch "))
            {
                in = true;
                sb.setLength(0);
            }
            if (in)
            {
                sb.append(line).append('\n');
                if (line.startsWith("end to end:"))
                {
                    in = false;
                }
            }
        }
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    static List<Object> castList(final Object o)
    {
        return (List<Object>)o;
    }

    /**
     * @return the largest {@link #relativeError(HostTensor, HostTensor)} over the outputs the run computed (an exit
     * it did not answer from is all NaN and left out).
     * @throws IllegalStateException if it computed none.
     */
    static double relativeError(final List<HostTensor> expected, final List<Path> actual) throws IOException
    {
        double worst = -1;
        for (int k = 0; k < expected.size(); k++)
        {
            final HostTensor got = TensorFiles.read(actual.get(k));
            boolean computed = false;
            for (final float v : got.data())
            {
                computed |= !Float.isNaN(v);
            }
            if (computed)
            {
                worst = Math.max(worst, relativeError(expected.get(k), got));
            }
        }
        if (worst < 0)
        {
            throw new IllegalStateException("the run computed none of the model's " + expected.size() + " outputs");
        }
        return worst;
    }

    /** @return max |a - b| over max |a|, over all of one output. */
    static double relativeError(final HostTensor expected, final HostTensor actual)
    {
        final float[] a = expected.data();
        final float[] b = actual.data();
        if (a.length != b.length)
        {
            throw new IllegalStateException("outputs differ in size: " + a.length + " and " + b.length);
        }
        double err = 0;
        double max = 0;
        for (int i = 0; i < a.length; i++)
        {
            err = Math.max(err, Math.abs((double)a[i] - b[i]));
            max = Math.max(max, Math.abs(a[i]));
        }
        return max > 0 ? err / max : err;
    }

    /**
     * @return the timed requests' latencies a {@code coedge run --json} lists ({@code "samples_ms"}), or its median
     *     alone where it lists none.
     */
    static double[] samplesMs(final Map<String, Object> json)
    {
        final List<Object> samples = json.get("samples_ms") instanceof List ?
            castList(json.get("samples_ms")) :
            List.of(JsonReader.num(JsonReader.obj(json, "latency_ms"), "median"));
        final double[] ms = new double[samples.size()];
        for (int i = 0; i < ms.length; i++)
        {
            ms[i] = (Double)samples.get(i);
        }
        return ms;
    }

    /** Fills a planner's entry from what the coordinator's {@code --json} says of its run. */
    static void fill(final TestbedResult.Planner p, final Map<String, Object> json,
        final double fastestAloneMs)
    {
        p.samplesMs = samplesMs(json);
        p.medianMs = TestbedResult.median(p.samplesMs);
        p.p90Ms = TestbedResult.quantile(p.samplesMs, 0.9);
        p.speedup = fastestAloneMs / p.medianMs;
        p.fuse = (int)(json.get("fuse") instanceof Double ? (Double)json.get("fuse") : 1);
        p.predictedMs = json.get("predicted_ms") instanceof Double ? (Double)json.get("predicted_ms") : Double.NaN;
        p.plan = json.get("plan") instanceof String ? (String)json.get("plan") : "";
        p.settleRequests = (int)(json.get("settle_requests") instanceof Double ?
            (Double)json.get("settle_requests") : 0);
        p.exit = json.get("exit") instanceof Double ? (int)(double)(Double)json.get("exit") : -1;
        p.energyJ = json.get("energy_j") instanceof Map ? JsonReader.num(JsonReader.obj(json, "energy_j"), "median") :
            Double.NaN;
        p.predictedEnergyJ = json.get("predicted_energy_j") instanceof Double ?
            (Double)json.get("predicted_energy_j") : Double.NaN;
    }

    /** Fills one device's part of a planner's entry from its object in the coordinator's {@code "devices"}. */
    static void fill(final TestbedResult.PlannerDevice pd, final Map<String, Object> dj)
    {
        pd.joined = true;
        pd.rows = (int)JsonReader.num(dj, "rows");
        pd.gflops = JsonReader.num(dj, "gflops");
        pd.computeMs = JsonReader.num(dj, "compute_ms");
        pd.sendMs = JsonReader.num(dj, "send_ms");
        pd.waitMs = JsonReader.num(dj, "wait_ms");
    }
}
