package org.coedge.engine.testbed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.coedge.engine.io.HostTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The testbed's pure parts: quota arithmetic, command lines, tc commands, JSON, leftovers, errors. No root. */
class TestbedPartsTest
{
    @TempDir
    Path dir;

    @Test
    void aloneTakesTheMedianOverTheRunsBeforeAndAfterTheCooperativeOnes()
    {
        final TestbedResult.Alone a = new TestbedResult.Alone();
        a.add(new double[]{100, 110, 90}, false);
        assertEquals(100, a.medianMs, 0);
        assertTrue(Double.isNaN(a.afterMedianMs));
        // the machine got slower in between: the speedup is taken against both sides, not the first alone
        a.add(new double[]{130, 120, 140}, true);
        assertEquals(100, a.beforeMedianMs, 0);
        assertEquals(130, a.afterMedianMs, 0);
        assertEquals(115, a.medianMs, 0);
        assertEquals(90, a.minMs, 0);
        assertEquals(6, a.samplesMs.length);
    }

    @Test
    void shouldUseTheAskedPeriodUnlessTheQuotaWouldFallUnderTheKernelsMinimum()
    {
        for (final long wanted : new long[]{CpuCgroup.MIN_US, CpuCgroup.DEFAULT_PERIOD_US})
        {
            for (final double cores : new double[]{0.05, 0.1, 0.225, 0.3, 0.45, 0.5, 0.9, 0.99, 1, 1.5, 2})
            {
                final long period = CpuCgroup.periodUs(cores, wanted);
                final long quota = CpuCgroup.quotaUs(cores, wanted);
                assertTrue(period >= wanted && quota >= CpuCgroup.MIN_US, cores + ": " + quota + "/" + period);
                // lengthened only as far as the quota needs: one microsecond less would put it under the minimum
                assertTrue(period == wanted || cores * (period - 1) < CpuCgroup.MIN_US, cores + ": " + period);
                assertEquals(cores, quota / (double)period, 0.002 * cores, "cores " + cores);
                assertEquals(quota + " " + period, CpuCgroup.cpuMax(cores, wanted));
            }
        }
        assertEquals(2223, CpuCgroup.periodUs(0.45, CpuCgroup.MIN_US));
        assertEquals(10_000, CpuCgroup.periodUs(0.45, CpuCgroup.DEFAULT_PERIOD_US));
        assertEquals(20_000, CpuCgroup.periodUs(0.05, CpuCgroup.DEFAULT_PERIOD_US));
        assertThrows(IllegalArgumentException.class, () -> CpuCgroup.periodUs(0, CpuCgroup.DEFAULT_PERIOD_US));
        assertThrows(IllegalArgumentException.class, () -> CpuCgroup.periodUs(0.5, 999));
    }

    @Test
    void shouldSizeTheJvmToTheQuota()
    {
        assertEquals(1, DeviceCommands.processors(0.225));
        assertEquals(1, DeviceCommands.processors(1.0));
        assertEquals(2, DeviceCommands.processors(1.5));
        assertEquals(2, DeviceCommands.processors(2.0));
        final List<String> jvm = DeviceCommands.jvm("/usr/bin/java", 1.5, Path.of("/tmp/x"), "a.jar",
            List.of("-Dcoedge.k=v"));
        assertEquals("/usr/bin/java", jvm.get(0));
        assertTrue(jvm.contains("-XX:ActiveProcessorCount=2"), jvm.toString());
        assertTrue(jvm.contains("-XX:ParallelGCThreads=2"), jvm.toString());
        assertTrue(jvm.contains("-Djava.io.tmpdir=/tmp/x"), jvm.toString());
        assertTrue(jvm.contains("-Dcoedge.k=v"), jvm.toString());
        assertEquals(List.of("-cp", "a.jar", DeviceCommands.MAIN), jvm.subList(jvm.size() - 3, jvm.size()));
    }

    @Test
    void shouldNameEveryPeerAndTheCoordinatorsOwnAddress()
    {
        final List<String> c = DeviceCommands.coordinator(Path.of("m.onnx"), List.of(Path.of("x.npy")),
            List.of(Path.of("y0.npy"), Path.of("y1.npy")), 4, 40100, Path.of("k"), 0.9, 5, 2, "equal", "1",
            Path.of("t.json"), List.of("--power", "pi4"));
        assertEquals("10.77.0.11:40100,10.77.0.12:40100,10.77.0.13:40100", c.get(c.indexOf("--peers") + 1));
        assertEquals("10.77.0.10:40100", c.get(c.indexOf("--listen") + 1));
        assertEquals("equal", c.get(c.indexOf("--planner") + 1));
        assertEquals("t.json", c.get(c.indexOf("--trace") + 1));
        assertEquals("1", c.get(c.indexOf("--threads") + 1));
        assertTrue(c.contains("--json"));
        assertTrue(c.contains("--progress"), "the testbed follows the run by its progress lines");
        assertEquals("y1.npy", c.get(c.lastIndexOf("--output") + 1), "one output file per model output");
        assertEquals("y0.npy", c.get(c.indexOf("--output") + 1));
        assertEquals("pi4", c.get(c.indexOf("--power") + 1));
        final List<String> w = DeviceCommands.worker(2, 40100, Path.of("k"), 0.45, null);
        assertEquals(List.of("worker", "--listen", "10.77.0.12:40100", "--key-file", "k", "--threads", "1",
            "--exit-with-parent"), w);
        assertEquals(List.of("--power", "minipc"), DeviceCommands.worker(2, 40100, Path.of("k"), 0.45, "minipc")
            .subList(8, 10));
    }

    @Test
    void shouldPlaceDevicesOnCpusOfTheirOwnWhereThereAreEnough()
    {
        // two CPUs: the largest device alone, the two small ones together on the other
        assertArrayEquals(new String[]{"0", "1", "1"},
            DeviceCommands.placeCpus(new double[]{0.9, 0.45, 0.225}, 2));
        // the coordinator first in the list need not be the largest
        assertArrayEquals(new String[]{"1", "0", "1"},
            DeviceCommands.placeCpus(new double[]{0.45, 0.9, 0.225}, 2));
        // four equal devices on two CPUs: two each, in turn
        assertArrayEquals(new String[]{"0", "1", "0", "1"},
            DeviceCommands.placeCpus(new double[]{0.45, 0.45, 0.45, 0.45}, 2));
        // a device of more than one core gets as many CPUs as it needs, never more than the machine has
        assertArrayEquals(new String[]{"0,1", "2"}, DeviceCommands.placeCpus(new double[]{1.5, 0.5}, 4));
        assertArrayEquals(new String[]{"0,1"}, DeviceCommands.placeCpus(new double[]{3.0}, 2));
    }

    @Test
    void shouldPinTheDeviceWhenCpusAreGiven() throws Exception
    {
        final Path procs = dir.resolve("cgroup.procs");
        final List<String> cmd = DeviceCommands.inDevice(procs, "ns", "1", List.of("true"));
        assertTrue(cmd.get(2).contains("taskset -c \"$cpus\""), cmd.get(2));
        assertEquals(List.of("coedge-testbed", procs.toString(), "ns", "1", "true"), cmd.subList(3, cmd.size()));
    }

    @Test
    void shouldJoinTheCgroupBeforeEnteringTheNamespace() throws Exception
    {
        // the wrapper writes its own pid (the pid the JVM keeps) before it runs ip netns exec, which fails here for
        // a namespace that does not exist; with the file unwritable it stops before ip is tried
        final Path procs = dir.resolve("cgroup.procs");
        final Process p = new ProcessBuilder(DeviceCommands.inDevice(procs, "coedge-tb-no-such-namespace",
            List.of("true"))).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertNotEquals(0, p.waitFor());
        assertEquals(Long.toString(p.pid()), Files.readString(procs).trim());
        final Process q = new ProcessBuilder(DeviceCommands.inDevice(dir.resolve("missing/cgroup.procs"),
            "any", List.of("true"))).redirectErrorStream(true).start();
        q.getInputStream().readAllBytes();
        assertEquals(97, q.waitFor());
    }

    @Test
    void shouldShapeBothWaysWithABurstOfATenthOfAMillisecondAtLeast16KiB()
    {
        final List<List<String>> cmds = Network.shapingCommands("eth0", 100, 0);
        assertEquals(1, cmds.size());
        final List<String> tbf = cmds.get(0);
        assertEquals("tbf", tbf.get(tbf.indexOf("1:") + 1));
        assertEquals("100.000mbit", tbf.get(tbf.indexOf("rate") + 1));
        assertEquals("16384", tbf.get(tbf.indexOf("burst") + 1));
        // 100 us of 1 Gbit/s is 12.5 KB, under the floor; of 10 Gbit/s, 125 KB
        assertEquals("16384", Network.shapingCommands("eth0", 1000, 0).get(0).get(tbf.indexOf("burst") + 1));
        assertEquals("125000", Network.shapingCommands("eth0", 10000, 0).get(0).get(tbf.indexOf("burst") + 1));
        final List<List<String>> delayed = Network.shapingCommands("port1", 100, 3);
        assertEquals(2, delayed.size());
        assertEquals("1.500ms", delayed.get(1).get(delayed.get(1).indexOf("delay") + 1));
        assertEquals("10.77.0.10", Network.address(0));
        assertEquals("coedge-tb-7-d3", new Network("coedge-tb-7", 4, 100, 0).namespace(3));
    }

    @Test
    void shouldTreatOnlyLeftoversOfDeadTestbedsAsStale() throws Exception
    {
        final Process p = new ProcessBuilder("true").start();
        p.waitFor();
        assertTrue(Testbed.isStale("coedge-tb-" + p.pid() + "-d0"));
        assertFalse(Testbed.isStale("coedge-tb-" + ProcessHandle.current().pid() + "-d0"));
        assertFalse(Testbed.isStale("coedge-tb-" + ProcessHandle.current().parent().get().pid() + "-br"));
        assertFalse(Testbed.isStale("coedge-aeron-123"));
        assertFalse(Testbed.isStale("coedge-tb-x-d0"));
    }

    @Test
    void shouldParseWhatTheEngineWritesAndRefuseMalformedJson()
    {
        final Map<String, Object> m = JsonReader.parseObject("{\"a\": [1, -2.5e3, {\"b\": \"x\\\"y\\u0041\"}], " +
            "\"t\": true, \"n\": null, \"o\": {}}");
        final List<?> a = (List<?>)m.get("a");
        assertEquals(1.0, a.get(0));
        assertEquals(-2500.0, a.get(1));
        assertEquals("x\"yA", ((Map<?, ?>)a.get(2)).get("b"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertTrue(m.containsKey("n") && m.get("n") == null);
        assertTrue(JsonReader.obj(m, "o").isEmpty());
        assertTrue(Double.isNaN(JsonReader.num(m, "missing")));
        for (final String bad : new String[]{"{", "{\"a\" 1}", "[1,]", "{\"a\": 1} x", "\"open", "{\"a\": tru}"})
        {
            assertThrows(IllegalArgumentException.class, () -> JsonReader.parse(bad), bad);
        }
    }

    @Test
    void shouldWriteAResultJsonThatReadsBack()
    {
        final TestbedResult r = sampleResult();
        final Map<String, Object> m = JsonReader.parseObject(r.toJson());
        final List<Map<String, Object>> devices = JsonReader.objects(m, "devices");
        assertEquals(2, devices.size());
        assertEquals(0.9, JsonReader.num(devices.get(0), "cores"), 1e-9);
        assertEquals(40.0, JsonReader.num(JsonReader.obj(m, "alone_ms"), "median"), 1e-9);
        final Map<String, Object> p = JsonReader.objects(m, "planners").get(0);
        assertEquals("equal", p.get("name"));
        assertEquals(0.8, JsonReader.num(p, "speedup"), 1e-9);
        assertEquals(50.0, JsonReader.num(JsonReader.obj(p, "latency_ms"), "median"), 1e-9);
        assertEquals(3.0, JsonReader.num(JsonReader.objects(p, "devices").get(1), "send_ms"), 1e-9);
        assertEquals(50.0, TestbedResult.median(new double[]{60, 40, 50}), 0);
        assertEquals(90.0, TestbedResult.quantile(new double[]{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 0.9), 0);
        assertEquals(100.0, TestbedResult.quantile(new double[]{100, 10, 20}, 0.9), 0);
    }

    @Test
    void shouldMeasureTheErrorRelativeToTheLargestReferenceValue()
    {
        final HostTensor a = new HostTensor("y", new long[]{1, 3}, new float[]{1, -4, 2});
        final HostTensor b = new HostTensor("y", new long[]{1, 3}, new float[]{1, -4.002f, 2.001f});
        assertEquals(0.002 / 4, RunOutputs.relativeError(a, b), 1e-6);
        assertThrows(IllegalStateException.class, () -> RunOutputs.relativeError(a,
            new HostTensor("y", new long[]{1, 2}, new float[2])));
    }

    @Test
    void shouldRefuseBadConfigurationsByName()
    {
        final TestbedConfig c = new TestbedConfig();
        c.modelName = "resnet18";
        c.validate();
        c.cores = new double[]{0.9, 0};
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("--devices"));
        c.cores = new double[]{0.5};
        c.planners = List.of("equal", "fastest");
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("fastest"));
        c.planners = List.of("default");
        c.modelName = "resnet99";
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("resnet99"));
        c.modelName = "resnet18";
        c.model = dir.resolve("m.onnx");
        assertThrows(IllegalArgumentException.class, c::validate);
        c.modelName = null;
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("--input"));
        c.inputs = List.of(dir.resolve("x.npy"));
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("no such file"));
        c.linkMbps = -1;
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("--link-mbps"));
    }

    static TestbedResult sampleResult()
    {
        final TestbedResult r = new TestbedResult();
        r.model = "resnet18";
        r.linkMbps = 100;
        r.repeat = 3;
        for (final double c : new double[]{0.9, 0.45})
        {
            final TestbedResult.Device d = new TestbedResult.Device();
            d.cores = c;
            d.periodUs = CpuCgroup.periodUs(c, CpuCgroup.DEFAULT_PERIOD_US);
            d.quotaUs = CpuCgroup.quotaUs(c, CpuCgroup.DEFAULT_PERIOD_US);
            d.gflops = 100 * c;
            d.memoryMb = 40;
            r.devices.add(d);
            final TestbedResult.Alone a = new TestbedResult.Alone();
            a.cores = c;
            a.device = r.devices.size() - 1;
            a.medianMs = 36 / c;
            a.minMs = 35 / c;
            r.alone.add(a);
        }
        final TestbedResult.Planner p = new TestbedResult.Planner();
        p.name = "equal";
        p.samplesMs = new double[]{50, 55, 45};
        p.medianMs = 50;
        p.p90Ms = 55;
        p.speedup = 40.0 / 50;
        p.maxError = 0;
        for (int d = 0; d < 2; d++)
        {
            final TestbedResult.PlannerDevice pd = new TestbedResult.PlannerDevice();
            pd.joined = true;
            pd.rows = 4 - d;
            pd.computeMs = 20;
            pd.sendMs = 2 + d;
            pd.waitMs = 10;
            p.devices.add(pd);
        }
        p.traceJson = "{\"traceEvents\": [\n" +
            "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 0, \"tid\": 0, \"args\": {\"name\": \"device 0 " +
            "(coordinator)\"}},\n" +
            "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 0, \"args\": {\"name\": \"device 1 " +
            "(worker 10.77.0.11:40100)\"}},\n" +
            "{\"name\": \"send layer 0\", \"cat\": \"send\", \"ph\": \"X\", \"ts\": 0, \"dur\": 500, \"pid\": 0, " +
            "\"tid\": 0},\n" +
            "{\"name\": \"compute layer 1\", \"cat\": \"compute\", \"ph\": \"X\", \"ts\": 500, \"dur\": 20000, " +
            "\"pid\": 0, \"tid\": 0},\n" +
            "{\"name\": \"wait layer 0\", \"cat\": \"wait\", \"ph\": \"X\", \"ts\": 100, \"dur\": 900, \"pid\": 1, " +
            "\"tid\": 0},\n" +
            "{\"name\": \"compute layer 1\", \"cat\": \"compute\", \"ph\": \"X\", \"ts\": 1000, \"dur\": 20000, " +
            "\"pid\": 1, \"tid\": 0}\n], \"displayTimeUnit\": \"ms\"}\n";
        r.planners.add(p);
        return r;
    }
}
