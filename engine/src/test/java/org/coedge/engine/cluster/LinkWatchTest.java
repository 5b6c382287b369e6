package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Random;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.RowMap;
import org.coedge.planner.Step;
import org.coedge.planner.StepCompiler;
import org.junit.jupiter.api.Test;
import org.coedge.planner.policy.RequestTimes;

class LinkWatchTest
{
    private static final long ROW_BYTES = 16 * 1024;

    /** in (32 rows of 16 KiB) -> conv 3x3 -> conv 3x3, split over two devices: the worker's scatter is 16+ rows. */
    private static LayerGraph graph()
    {
        final LayerGraph.Builder b = LayerGraph.builder();
        final int in = b.addSource("in", 32, 64, 64);
        final int c1 = b.addLayer("c1", new int[]{ in }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 32, 32) }, 32, 64,
            64, 1000, ROW_BYTES);
        final int c2 = b.addLayer("c2", new int[]{ c1 }, new RowMap[]{ RowMap.window(3, 1, 1, 1, 32, 32) }, 32, 64,
            64, 1000, ROW_BYTES);
        return b.markOutput(c2).build();
    }

    /** Times every step of the worker at 1 ms, its scatter wait at what {@code bytesPerSecond} gives. */
    private static RequestTimes times(final List<DeviceProgram> programs, final double bytesPerSecond)
    {
        final RequestTimes t = new RequestTimes(programs);
        final List<Step> steps = programs.get(1).steps();
        for (int i = 0; i < steps.size(); i++)
        {
            final Step s = steps.get(i);
            t.stepNs(1, i, s.kind() == Step.Kind.AWAIT && s.purpose() == Step.Purpose.SCATTER ?
                Math.round(s.bytes() / bytesPerSecond * 1e9) : 1_000_000);
        }
        return t;
    }

    @Test
    void shouldTakeTheScatterWaitAsTheLinksRate()
    {
        final LayerGraph graph = graph();
        final Plan plan = Planner.uniform(graph, new double[]{ 1, 1 }, 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ 2 });
        assertEquals(12.5e6, LinkWatch.scatterRate(programs.get(1).steps(), times(programs, 12.5e6), 1), 1e3);
        // the coordinator receives no scatter; a device that reported no times gives no sample either
        assertEquals(0, LinkWatch.scatterRate(programs.get(0).steps(), times(programs, 12.5e6), 0));
        final List<DeviceProgram> alone = StepCompiler.compile(graph, Planner.uniform(graph, new double[]{ 1, 0 }, 1),
            new int[]{ 2 });
        assertEquals(0, LinkWatch.scatterRate(programs.get(1).steps(), new RequestTimes(alone), 1));
    }

    @Test
    void shouldTakeTheTransferFromTheSendWhenTheRowsCameBeforeTheWorkerWaited()
    {
        final LayerGraph graph = graph();
        final List<DeviceProgram> programs = StepCompiler.compile(graph, Planner.uniform(graph, new double[]{ 1, 1 },
            1), new int[]{ 2 });
        final List<Step> steps = programs.get(1).steps();
        final long bytes = steps.get(LinkWatch.scatterStep(steps)).bytes();
        // the worker waited as if the link ran at 10 GB/s: most rows were in before it waited; on the coordinator's
        // clock they were in at the 125 MB/s the link carries
        final long arrivalNs = Math.round(bytes / 125e6 * 1e9);
        assertEquals(125e6, LinkWatch.scatterRate(steps, times(programs, 10e9), 1, arrivalNs), 1e4);
        // a wait longer than the aligned arrival (a clock estimate off by the request's one-way time) still counts
        assertEquals(12.5e6, LinkWatch.scatterRate(steps, times(programs, 12.5e6), 1, arrivalNs), 1e3);
        assertEquals(10e9, LinkWatch.scatterRate(steps, times(programs, 10e9), 1, 0), 1e6);
    }

    @Test
    void shouldReportADropOfTheLinkWithinThreeRequestsAndTakeItsNewRate()
    {
        final LayerGraph graph = graph();
        final Plan plan = Planner.uniform(graph, new double[]{ 1, 1 }, 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ 2 });
        final StringWriter log = new StringWriter();
        final int[] probes = {0};
        final LinkWatch watch = new LinkWatch((w, bytes) -> ++probes[0] * 0.0, new PrintWriter(log, true), 0);
        final Worker w = new Worker(1, "127.0.0.1:1", null);
        w.bytesPerSecond = 125e6;
        final Random random = new Random(7);
        int changedAt = -1;
        for (int r = 0; r < 60; r++)
        {
            final double rate = (r < 30 ? 125e6 : 6.25e6) * (1 + 0.3 * (2 * random.nextDouble() - 1));
            if (watch.afterRequest(programs, times(programs, rate), new Worker[]{ w }, plan.shape(), 40_000_000))
            {
                assertEquals(-1, changedAt, "one change only: " + log);
                changedAt = r;
            }
        }
        assertTrue(changedAt >= 30 && changedAt <= 32, "a 20x drop at request 30 seen at " + changedAt + ": " + log);
        assertEquals(6.25e6, w.bytesPerSecond, 6.25e6 * 0.3, "the link's rate is the new level");
        assertEquals(0, probes[0], "a worker whose scatter shows the rate is not probed");
        assertTrue(log.toString().contains("worker 1's link changed"), log.toString());
    }

    @Test
    void shouldNotPlanAgainForALinkWithinThreeTimesTheRatePlannedWith()
    {
        final LayerGraph graph = graph();
        final Plan plan = Planner.uniform(graph, new double[]{ 1, 1 }, 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ 2 });
        final StringWriter log = new StringWriter();
        final LinkWatch watch = new LinkWatch((w, bytes) -> 0.0, new PrintWriter(log, true), 0);
        final Worker w = new Worker(1, "127.0.0.1:1", null);
        w.bytesPerSecond = 125e6;
        for (int r = 0; r < 40; r++)
        {
            // halved at request 20: a change the detector sees, and the plan need not follow
            assertFalse(watch.afterRequest(programs, times(programs, r < 20 ? 125e6 : 62.5e6), new Worker[]{ w },
                plan.shape(), 40_000_000), "request " + r + ": " + log);
        }
        assertTrue(log.toString().contains("the plan stays"), log.toString());
        assertEquals(125e6, w.bytesPerSecond, "the rate planned with stays");
    }

    @Test
    void shouldLeaveOutShortSlowTransfersThatTheCoordinatorsQuotaStallsExplain()
    {
        assertEquals(5_500_000, LinkWatch.maxStallNs(0.45, 10_000));
        assertEquals(0, LinkWatch.maxStallNs(Double.NaN, 10_000), "no quota");
        assertEquals(0, LinkWatch.maxStallNs(2, 10_000), "two whole cores");
        final LayerGraph graph = graph();
        final Plan plan = Planner.uniform(graph, new double[]{ 1, 1 }, 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ 2 });
        final List<Step> workerSteps = programs.get(1).steps();
        final long scatter = workerSteps.get(LinkWatch.scatterStep(workerSteps)).bytes();
        assertTrue(scatter >= LinkWatch.MIN_SAMPLE_BYTES, "scatter " + scatter);
        final StringWriter log = new StringWriter();
        // a 0.45-core coordinator: stalls of up to 5.5 ms; the scatter is under 1 ms on this unlimited link, and
        // every other request it left behind a stall and took 5 ms
        final double fast = scatter / 0.8e-3;
        final double stalled = scatter / 5e-3;
        final LinkWatch watch = new LinkWatch((w, bytes) -> 0.0, new PrintWriter(log, true),
            LinkWatch.maxStallNs(0.45, 10_000));
        final Worker w = new Worker(1, "127.0.0.1:1", null);
        w.bytesPerSecond = fast;
        for (int r = 0; r < 60; r++)
        {
            assertFalse(watch.afterRequest(programs, times(programs, r % 2 == 0 ? fast : stalled), new Worker[]{ w },
                plan.shape(), 40_000_000), "request " + r + ": " + log);
        }
        assertEquals("", log.toString());
        assertTrue(watch.stallSuspects() >= 29, "stalled samples left out: " + watch.stallSuspects());
        // a link that really got slow: its transfers outlast two stalls, and they count
        final double slow = scatter / 40e-3;
        boolean changed = false;
        for (int r = 0; r < 10 && !changed; r++)
        {
            changed = watch.afterRequest(programs, times(programs, slow), new Worker[]{ w }, plan.shape(),
                80_000_000);
        }
        assertTrue(changed, log.toString());
        assertEquals(slow, w.bytesPerSecond, slow * 0.2, log.toString());
    }

    @Test
    void shouldTakeTheBetterOfTwoProbesAsAStalledSenderOnlyLooksSlow()
    {
        final LayerGraph graph = graph();
        final Plan plan = Planner.uniform(graph, new double[]{ 1, 0 }, 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ 2 });
        final StringWriter log = new StringWriter();
        final int[] probe = {0};
        // every other probe stalls to a fifth of the rate: the link is steady and must not look changed
        final LinkWatch watch = new LinkWatch((w, bytes) -> probe[0]++ % 2 == 0 ? 125e6 : 25e6,
            new PrintWriter(log, true), 0);
        final Worker w = new Worker(1, "127.0.0.1:1", null);
        w.bytesPerSecond = 125e6;
        for (int r = 0; r < 100; r++)
        {
            assertFalse(watch.afterRequest(programs, new RequestTimes(programs), new Worker[]{ w }, plan.shape(),
                40_000_000),
                "request " + r + ": " + log);
        }
        assertEquals("", log.toString());
    }

    @Test
    void shouldProbeAWorkerThePlanGivesNothingAndNotAlarmOnASteadyLink()
    {
        final LayerGraph graph = graph();
        final Plan plan = Planner.uniform(graph, new double[]{ 1, 0 }, 1);
        final List<DeviceProgram> programs = StepCompiler.compile(graph, plan, new int[]{ 2 });
        assertTrue(programs.get(1).steps().isEmpty());
        final Random random = new Random(11);
        final int[] probes = {0};
        final LinkWatch watch = new LinkWatch((w, bytes) ->
        {
            probes[0]++;
            assertEquals(LinkWatch.PROBE_BYTES, bytes);
            return 125e6 * (1 + 0.3 * (2 * random.nextDouble() - 1));
        }, new PrintWriter(new StringWriter(), true), 0);
        final Worker w = new Worker(1, "127.0.0.1:1", null);
        for (int r = 0; r < 200; r++)
        {
            assertFalse(watch.afterRequest(programs, new RequestTimes(programs), new Worker[]{ w }, plan.shape(),
                40_000_000),
                "no change on a steady link, request " + r);
        }
        assertEquals(200, probes[0]);
        assertEquals(200, watch.probes());
    }
}
