package org.coedge.engine.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.coedge.engine.cli.CoEdgeCli;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code coedge testbed} end to end with two devices (1 and 0.5 cores, 100 Mbit/s) and ResNet-18: the JSON names
 * the devices, the fastest alone and every planner with a speedup and an error within 1e-4 of the single-device
 * output, and nothing is left behind: no namespace, cgroup, process or temporary directory of this JVM's testbed.
 * Needs root (namespaces, cgroups, tc); skipped otherwise.
 */
class TestbedSmokeTest
{
    static final double TOLERANCE = 1e-4;

    @Test
    void shouldMeasureTwoDevicesUnderEveryPlannerAndCleanUp()
    {
        Assumptions.assumeTrue(Testbed.isRoot(), "coedge testbed needs root (network namespaces, cgroups, tc)");
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int code = CoEdgeCli.execute(new String[]{"testbed", "--devices", "1,0.5", "--model-name", "resnet18",
            "--repeat", "2", "--warmup", "1", "--json"}, new PrintWriter(out, true), new PrintWriter(err, true));
        try
        {
            assertEquals(0, code, err.toString());
            final Map<String, Object> json = JsonReader.parseObject(out.toString().trim());
            final List<Map<String, Object>> devices = JsonReader.objects(json, "devices");
            assertEquals(2, devices.size());
            assertEquals(1.0, JsonReader.num(devices.get(0), "cores"), 0);
            assertEquals(0.5, JsonReader.num(devices.get(1), "cores"), 0);
            for (final Map<String, Object> d : devices)
            {
                assertTrue(JsonReader.num(d, "gflops") > 0, d.toString());
                assertTrue(JsonReader.num(d, "memory_mb") > 0, d.toString());
                // a JVM's resident set holds at least the slice it planned to hold
                assertTrue(JsonReader.num(d, "peak_rss_mb") >= JsonReader.num(d, "memory_mb"), d.toString());
            }
            // the reference is the mean of the calibrations before and after the worker's
            final double refBefore = JsonReader.num(json, "unthrottled_gflops_before");
            final double refAfter = JsonReader.num(json, "unthrottled_gflops_after");
            assertTrue(refBefore > 0 && refAfter > 0, json.toString());
            assertEquals((refBefore + refAfter) / 2, JsonReader.num(json, "unthrottled_gflops"),
                1e-3 * (refBefore + refAfter), json.toString());
            final Map<String, Object> aloneMs = JsonReader.obj(json, "alone_ms");
            final double alone = JsonReader.num(aloneMs, "median");
            assertTrue(alone > 0, json.toString());
            // the fastest device ran alone before and after the cooperative runs; the median is over both
            final double before = JsonReader.num(aloneMs, "before");
            final double after = JsonReader.num(aloneMs, "after");
            assertTrue(before > 0 && after > 0, aloneMs.toString());
            assertTrue(alone >= Math.min(before, after) && alone <= Math.max(before, after), aloneMs.toString());
            final List<Map<String, Object>> planners = JsonReader.objects(json, "planners");
            assertEquals(List.of("equal", "proportional", "adaptive"),
                planners.stream().map(p -> p.get("name")).toList());
            // the adaptive planner says what it predicted, and a plan it chose
            assertTrue(JsonReader.num(planners.get(2), "predicted_ms") > 0, planners.get(2).toString());
            assertTrue(planners.get(2).get("plan") instanceof String, planners.get(2).toString());
            for (final Map<String, Object> p : planners)
            {
                final double median = JsonReader.num(JsonReader.obj(p, "latency_ms"), "median");
                assertEquals(alone / median, JsonReader.num(p, "speedup"), 1e-3 * alone / median, p.toString());
                assertTrue(JsonReader.num(p, "max_error") <= TOLERANCE, p.toString());
                final List<Map<String, Object>> per = JsonReader.objects(p, "devices");
                assertEquals(2, per.size());
                for (final Map<String, Object> d : per)
                {
                    assertEquals(Boolean.TRUE, d.get("joined"), p.toString());
                    // the share rules give every device rows; the adaptive planner may leave one out
                    assertTrue(p.get("name").equals("adaptive") ||
                        JsonReader.num(d, "rows") > 0 && JsonReader.num(d, "compute_ms") > 0, p.toString());
                }
            }
        }
        finally
        {
            assertNothingLeft(ProcessHandle.current().pid());
        }
    }

    @Test
    void shouldSayInOneLineThatItNeedsRoot()
    {
        Assumptions.assumeFalse(Testbed.isRoot(), "running as root: the testbed runs instead");
        final StringWriter err = new StringWriter();
        final int code = CoEdgeCli.execute(new String[]{"testbed", "--devices", "1,0.5"},
            new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertEquals(CoEdgeCli.EXIT_BAD_INPUT, code);
        assertEquals("coedge: error: coedge testbed needs root (network namespaces, cgroups, tc)",
            err.toString().trim());
    }

    /** Asserts that no namespace, cgroup, temporary directory or process of testbed {@code owner} remains. */
    static void assertNothingLeft(final long owner)
    {
        final String prefix = Testbed.PREFIX + owner + "-";
        assertEquals(List.of(), Network.existing(prefix), "namespaces left");
        assertEquals(List.of(), CpuCgroup.existing(prefix), "cgroups left");
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir"))))
        {
            assertEquals(List.of(), tmp.filter(p -> p.getFileName().toString().startsWith(prefix)).toList(),
                "temporary directories left");
        }
        catch (final java.io.IOException e)
        {
            throw new AssertionError(e);
        }
        final List<String> left = ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
            .map(p -> p.info().commandLine().orElse("")).filter(c -> c.contains(prefix)).toList();
        assertEquals(List.of(), left, "processes left");
    }
}
