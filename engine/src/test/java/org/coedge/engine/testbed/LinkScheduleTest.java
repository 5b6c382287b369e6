package org.coedge.engine.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.coedge.engine.cli.CoEdgeCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --link-schedule}: parsing and its one-line errors, the {@code tc} command that changes a link, playing a
 * schedule by the coordinator's progress lines, and the per-request records in the testbed's JSON. No root.
 */
class LinkScheduleTest
{
    @TempDir
    Path dir;

    @Test
    void shouldParseASchedule()
    {
        final LinkSchedule s = LinkSchedule.parse("0:1000, 40:50,80:1000", 120);
        assertEquals(3, s.size());
        assertEquals(40, s.request(1));
        assertEquals(50, s.mbps(1), 0);
        assertEquals(1000, s.startMbps(100), 0);
        assertEquals(1000, s.mbpsAt(39, 100), 0);
        assertEquals(50, s.mbpsAt(40, 100), 0);
        assertEquals(50, s.mbpsAt(79, 100), 0);
        assertEquals(1000, s.mbpsAt(80, 100), 0);
        assertEquals("1000 Mbit/s from request 0, 50 Mbit/s from request 40, 1000 Mbit/s from request 80",
            s.describe());
        final LinkSchedule late = LinkSchedule.parse("10:20.5", 30);
        assertEquals(100, late.startMbps(100), 0);
        assertEquals(100, late.mbpsAt(9, 100), 0);
        assertEquals(20.5, late.mbpsAt(10, 100), 0);
    }

    @Test
    void shouldRefuseBadSchedulesInOneLineNamingTheEntry()
    {
        final String[][] cases = {
            {"20:50,10:1000", "request indices must increase: 20 then 10"},
            {"0:1000,0:50", "request indices must increase: 0 then 0"},
            {"0:1000,30:50", "request index 30 in '30:50' must be in [0, 30)"},
            {"-1:50", "request index -1"},
            {"0:0", "the rate in '0:0' must be > 0"},
            {"0:-5", "must be > 0"},
            {"0:NaN", "must be > 0"},
            {"0:1000,40", "'40' is not INDEX:MBPS"},
            {"0:1000,,40:50", "'' is not INDEX:MBPS"},
            {"a:50", "'a:50' is not INDEX:MBPS"},
            {"1:2:3", "'1:2:3' is not INDEX:MBPS"},
            {" ", "needs INDEX:MBPS entries"},
        };
        for (final String[] c : cases)
        {
            final String m = assertThrows(IllegalArgumentException.class, () -> LinkSchedule.parse(c[0], 30),
                c[0]).getMessage();
            assertTrue(m.contains(c[1]) && !m.contains("\n"), c[0] + ": " + m);
        }
    }

    @Test
    void shouldSayWhatIsWrongWithAScheduleBeforeAnythingElseStarts()
    {
        final StringWriter err = new StringWriter();
        final int code = CoEdgeCli.execute(new String[]{"testbed", "--devices", "1,0.5", "--repeat", "30",
            "--link-schedule", "0:1000,40:50"}, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
        assertEquals(CoEdgeCli.EXIT_BAD_INPUT, code);
        assertEquals("coedge: error: --link-schedule: request index 40 in '40:50' must be in [0, 30) (the timed " +
            "requests of --repeat 30)", err.toString().trim());
        final TestbedConfig c = new TestbedConfig();
        c.modelName = "resnet18";
        c.repeat = 30;
        c.linkSchedule = "0:1000,10:50";
        c.validate();
        c.cores = new double[]{1};
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage().contains("two devices"));
        c.cores = new double[]{1, 0.5};
        c.delayMs = 2;
        assertTrue(assertThrows(IllegalArgumentException.class, c::validate).getMessage()
            .contains("--link-delay-ms"));
    }

    @Test
    void shouldChangeALinkInPlaceWithTheRateAndBurstItWasCreatedWith()
    {
        assertEquals(List.of("tc", "-n", "coedge-tb-7-d1", "qdisc", "replace", "dev", "eth0", "root", "handle", "1:",
            "tbf", "rate", "50.000mbit", "burst", "16384", "latency", "100ms"),
            Network.rateCommand("coedge-tb-7-d1", "eth0", 50));
        final List<String> fast = Network.rateCommand("coedge-tb-7-br", "port1", 10000);
        assertEquals("125000", fast.get(fast.indexOf("burst") + 1));
        assertEquals("port1", fast.get(fast.indexOf("dev") + 1));
    }

    @Test
    void shouldSetEachRateWhenTheRequestBeforeItHasEndedAndCopyEveryLine() throws Exception
    {
        final List<Double> rates = new ArrayList<>();
        final LinkScheduler s = new LinkScheduler(LinkSchedule.parse("0:1000,2:50,3:1000", 5), 100, rates::add, 5);
        s.start();
        assertEquals(List.of(1000.0), rates, "the rate at 0 is set before the run starts");
        final String stderr = "coordinator: joined\nrequest 0 latency_ms 10.0000 epoch 3\n" +
            "request 1 latency_ms 11.0000 epoch 3\nrequest 2 latency_ms 90.0000 epoch 3\n" +
            "request 3 latency_ms 12.0000 epoch 4\nrequest 4 latency_ms 12.5000 epoch 4\nplan epoch 4: ...\n";
        final Path log = dir.resolve("coop.err");
        s.follow(new ByteArrayInputStream(stderr.getBytes(StandardCharsets.UTF_8)), log);
        s.await(10);
        assertEquals(List.of(1000.0, 50.0, 1000.0), rates);
        assertEquals(stderr, Files.readString(log));
        final List<LinkScheduler.Change> changes = s.changes();
        assertEquals(3, changes.size());
        assertEquals(-1, changes.get(0).afterRequest);
        assertEquals(0, changes.get(0).firstFull);
        assertEquals(2, changes.get(1).request);
        assertEquals(1, changes.get(1).afterRequest, "set as request 1 ended, for request 2");
        assertEquals(2, changes.get(2).afterRequest);
        for (final LinkScheduler.Change c : changes.subList(1, 3))
        {
            // every line was read before tc returned here, so no request started after it
            assertTrue(c.firstFull >= c.request && c.firstFull <= 5, "first full " + c.firstFull);
            assertTrue(c.tcMs >= 0);
        }
    }

    @Test
    void shouldReportAFailingTcInOneLine()
    {
        final LinkScheduler s = new LinkScheduler(LinkSchedule.parse("1:50", 3), 100, r ->
        {
            if (r == 50)
            {
                throw new IllegalStateException("tc qdisc replace failed (exit 2): RTNETLINK answers: No such device");
            }
        }, 3);
        s.start();
        s.follow(new ByteArrayInputStream("request 0 latency_ms 1 epoch 1\n".getBytes(StandardCharsets.UTF_8)),
            dir.resolve("err"));
        final String m = assertThrows(IllegalStateException.class, () -> s.await(10)).getMessage();
        assertTrue(m.startsWith("--link-schedule: setting the links to 50.0 Mbit/s: tc qdisc replace failed") &&
            !m.contains("\n"), m);
    }

    @Test
    void shouldCopyEveryRequestAndTheLinkChangesIntoThePlannersEntry()
    {
        final Map<String, Object> coordinator = JsonReader.parseObject("{\"requests\": [{\"latency_ms\": 10.5, " +
            "\"epoch\": 3}, {\"latency_ms\": 80.25, \"epoch\": 4, \"exit\": 1}]}");
        final TestbedResult r = TestbedPartsTest.sampleResult();
        r.linkSchedule = "0:1000,1:50";
        final TestbedResult.Planner p = r.planners.get(0);
        p.requests.addAll(TestbedResult.requests(coordinator));
        final TestbedResult.LinkChange l = new TestbedResult.LinkChange();
        l.request = 1;
        l.mbps = 50;
        l.afterRequest = 0;
        l.tcMs = 4.5;
        l.firstFull = 2;
        p.linkChanges.add(l);
        final Map<String, Object> m = JsonReader.parseObject(r.toJson());
        assertEquals("0:1000,1:50", m.get("link_schedule"));
        final Map<String, Object> pj = JsonReader.objects(m, "planners").get(0);
        final List<Map<String, Object>> requests = JsonReader.objects(pj, "requests");
        assertEquals(2, requests.size());
        assertEquals(10.5, JsonReader.num(requests.get(0), "latency_ms"), 1e-9);
        assertEquals(3, JsonReader.num(requests.get(0), "epoch"), 0);
        assertTrue(!requests.get(0).containsKey("exit"), "no exit where the coordinator named none");
        assertEquals(80.25, JsonReader.num(requests.get(1), "latency_ms"), 1e-9);
        assertEquals(1, JsonReader.num(requests.get(1), "exit"), 0);
        final Map<String, Object> change = JsonReader.objects(pj, "link_changes").get(0);
        assertEquals(1, JsonReader.num(change, "request"), 0);
        assertEquals(50, JsonReader.num(change, "mbps"), 0);
        assertEquals(0, JsonReader.num(change, "after_request"), 0);
        assertEquals(2, JsonReader.num(change, "first_full_request"), 0);
        assertEquals(0, TestbedResult.requests(JsonReader.parseObject("{\"latency_ms\": {}}")).size());
        final StringWriter table = new StringWriter();
        r.printTable(new PrintWriter(table, true));
        assertTrue(table.toString().contains("equal: links to 50 Mbit/s for request 1 (after request 0, tc 4.5 ms, " +
            "wholly from request 2)"), table.toString());
        assertTrue(table.toString().contains("equal: ms per request: 10.5 80.3"), table.toString());
    }
}
