package org.coedge.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import org.coedge.engine.cluster.LocalWorkers;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.testbed.JsonReader;
import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code coedge run --peers ... --planner equal --json --trace FILE --progress} with two real worker processes on
 * loopback: the per-device JSON section, the per-request records and progress lines, the equal split, and a trace
 * with every step of every device (the workers' step times travel in their results).
 */
class ClusterTraceTest
{
    @TempDir
    static Path dir;
    private static LocalWorkers workers;
    private static Path model;
    private static Path input;
    private static Path key;

    @BeforeAll
    static void start() throws Exception
    {
        model = dir.resolve("resnet18.onnx");
        ModelZoo.write("resnet18", model);
        input = dir.resolve("input.npy");
        TensorFiles.write(input, new HostTensor(ModelZoo.INPUT_NAME, ModelZoo.inputDims(), ModelZoo.randomInput(5)));
        key = dir.resolve("cluster.key");
        Files.write(key, "another test key, 32 bytes long!".getBytes(StandardCharsets.US_ASCII));
        workers = new LocalWorkers(2, key, dir, 1, 0);
    }

    @AfterAll
    static void stop()
    {
        if (workers != null)
        {
            workers.close();
        }
    }

    @Test
    void shouldReportEveryDeviceAndTraceEveryStepOfTheLastRequest() throws Exception
    {
        final Path trace = dir.resolve("trace.json");
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int code = CoEdgeCli.execute(new String[]{"run", "--model", model.toString(), "--input",
            input.toString(), "--peers", String.join(",", workers.endpoints()), "--key-file", key.toString(),
            "--listen", "127.0.0.1:0", "--repeat", "2", "--warmup", "1", "--planner", "equal", "--json", "--trace",
            trace.toString(), "--progress"}, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, err.toString());
        final Map<String, Object> json = JsonReader.parseObject(out.toString().trim());
        assertEquals("equal", json.get("planner"));
        final List<?> samples = (List<?>)json.get("samples_ms");
        assertEquals(2, samples.size());
        // one record per timed request, in order, and one progress line each on stderr as it ran
        final List<Map<String, Object>> requests = JsonReader.objects(json, "requests");
        assertEquals(2, requests.size());
        final String[] lines = err.toString().lines().filter(l -> l.startsWith("request ")).toArray(String[]::new);
        assertEquals(2, lines.length, err.toString());
        for (int i = 0; i < 2; i++)
        {
            final Map<String, Object> r = requests.get(i);
            assertEquals((Double)samples.get(i), JsonReader.num(r, "latency_ms"), 1e-3);
            assertEquals(JsonReader.num(json, "epoch"), JsonReader.num(r, "epoch"), 0, r.toString());
            final String[] f = lines[i].split(" ");
            assertEquals(List.of("request", Integer.toString(i), "latency_ms", "epoch"), List.of(f[0], f[1], f[2],
                f[4]), lines[i]);
            assertEquals(JsonReader.num(r, "latency_ms"), Double.parseDouble(f[3]), 1e-3, lines[i]);
            assertEquals(JsonReader.num(r, "epoch"), Double.parseDouble(f[5]), 0, lines[i]);
        }
        final List<Map<String, Object>> devices = JsonReader.objects(json, "devices");
        assertEquals(3, devices.size());
        double minRows = Double.MAX_VALUE;
        double maxRows = 0;
        for (final Map<String, Object> d : devices)
        {
            assertTrue(JsonReader.num(d, "gflops") > 0, d.toString());
            assertTrue(JsonReader.num(d, "compute_ms") > 0, d.toString());
            assertTrue(JsonReader.num(d, "memory_bytes") > 0, d.toString());
            minRows = Math.min(minRows, JsonReader.num(d, "rows"));
            maxRows = Math.max(maxRows, JsonReader.num(d, "rows"));
        }
        assertTrue(maxRows - minRows <= 1, "equal shares: rows " + minRows + ".." + maxRows);

        final Map<String, Object> t = JsonReader.parseObject(Files.readString(trace));
        for (int d = 0; d < 3; d++)
        {
            final List<Map<String, Object>> events = new ArrayList<>();
            for (final Map<String, Object> e : JsonReader.objects(t, "traceEvents"))
            {
                if ("X".equals(e.get("ph")) && JsonReader.num(e, "pid") == d)
                {
                    events.add(e);
                }
            }
            assertEquals(JsonReader.num(devices.get(d), "steps"), events.size(), "device " + d + ": one event a step");
            events.sort(Comparator.comparingDouble(e -> JsonReader.num(e, "ts")));
            double end = 0;
            boolean computes = false;
            for (final Map<String, Object> e : events)
            {
                final double ts = JsonReader.num(e, "ts");
                assertTrue(ts >= 0 && JsonReader.num(e, "dur") >= 0, e.toString());
                // one device runs its steps one after another on one clock
                assertTrue(ts >= end - 0.01, "device " + d + ": " + e + " starts before " + end);
                end = ts + JsonReader.num(e, "dur");
                computes |= "compute".equals(e.get("cat"));
            }
            assertTrue(computes, "device " + d + " computes");
        }
    }
}
