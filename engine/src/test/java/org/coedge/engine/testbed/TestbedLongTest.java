package org.coedge.engine.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.coedge.engine.cli.CoEdgeCli;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Longer testbed runs ({@code mvn -B test -Ptestbed}): three unequal devices with a report, and the cleanup after a
 * SIGTERM (what Ctrl-C's shutdown hook does) and after a worker is killed mid-run. Root only.
 */
@Tag("testbed")
class TestbedLongTest
{
    @TempDir
    Path dir;

    @BeforeEach
    void needRoot()
    {
        Assumptions.assumeTrue(Testbed.isRoot(), "coedge testbed needs root (network namespaces, cgroups, tc)");
    }

    @Test
    void shouldRunThreeUnequalDevicesAndWriteTheReport() throws Exception
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final Path report = dir.resolve("report");
        final int code = CoEdgeCli.execute(new String[]{"testbed", "--devices", "0.9,0.45,0.225", "--model-name",
            "resnet18", "--repeat", "3", "--json", "--report", report.toString()}, new PrintWriter(out, true),
            new PrintWriter(err, true));
        try
        {
            assertEquals(0, code, err.toString());
            final Map<String, Object> json = JsonReader.parseObject(out.toString().trim());
            for (final Map<String, Object> p : JsonReader.objects(json, "planners"))
            {
                assertTrue(JsonReader.num(p, "max_error") <= TestbedSmokeTest.TOLERANCE, p.toString());
                assertEquals(3, JsonReader.objects(p, "devices").size());
            }
            for (final String f : new String[]{"report.md", "latency.svg", "timeline-default.svg",
                "trace-default.json", "result.json"})
            {
                assertTrue(Files.size(report.resolve(f)) > 0, f);
            }
        }
        finally
        {
            TestbedSmokeTest.assertNothingLeft(ProcessHandle.current().pid());
        }
    }

    @Test
    void shouldCleanUpWhenTerminatedMidRun() throws Exception
    {
        final Process p = startTestbed();
        awaitLine(p, "cooperative run");
        p.destroy(); // SIGTERM: the shutdown hook runs, as on Ctrl-C
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the testbed did not exit");
        TestbedSmokeTest.assertNothingLeft(p.pid());
    }

    @Test
    void shouldCleanUpWhenAWorkerIsKilled() throws Exception
    {
        final Process p = startTestbed();
        awaitLine(p, "cooperative run");
        final String ns = Testbed.PREFIX + p.pid() + "-d1";
        final Shell.Result pids = Shell.tryRun("ip", "netns", "pids", ns);
        assertEquals(0, pids.exitCode, pids.output);
        for (final String pid : pids.output.trim().split("\\s+"))
        {
            ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the testbed did not finish");
        // the coordinator re-plans without the dead worker; the testbed then reports it and fails (exit 3)
        assertTrue(p.exitValue() == 0 || p.exitValue() == CoEdgeCli.EXIT_INTERNAL, "exit " + p.exitValue());
        TestbedSmokeTest.assertNothingLeft(p.pid());
    }

    private Process startTestbed() throws Exception
    {
        final List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xss4m", "-cp",
            System.getProperty("java.class.path"), "org.coedge.engine.cli.CoEdgeCli", "testbed", "--devices",
            "1,0.5", "--model-name", "resnet18", "--repeat", "20", "--planner", "equal,default", "--json"));
        return new ProcessBuilder(cmd).redirectOutput(dir.resolve("out").toFile())
            .redirectError(dir.resolve("err").toFile()).start();
    }

    private void awaitLine(final Process p, final String text) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < deadline)
        {
            final Path err = dir.resolve("err");
            if (Files.exists(err) && Files.readString(err).contains(text))
            {
                Thread.sleep(1500);
                return;
            }
            assertTrue(p.isAlive(), "the testbed exited: " + (Files.exists(err) ? Files.readString(err) : ""));
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new AssertionError("no '" + text + "' within 300 s");
    }
}
