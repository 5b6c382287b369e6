package org.coedge.engine.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.jfree.data.xy.XYIntervalSeriesCollection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --report}: report.md, result.json, the traces, and SVG charts drawn by JFreeChart. */
class TestbedReportTest
{
    @TempDir
    Path dir;

    @Test
    void shouldWriteTheReportItsChartsAndTheTraces() throws Exception
    {
        final TestbedResult r = TestbedPartsTest.sampleResult();
        final Path file = TestbedReport.write(r, dir);
        final String md = Files.readString(file);
        assertTrue(md.contains("![latency per planner](latency.svg)"), md);
        assertTrue(md.contains("(timeline-equal.svg)") && md.contains("(trace-equal.json)"), md);
        assertTrue(md.contains("| equal | 50.00 | 55.00 | 0.80x |"), md);
        for (final String svg : new String[]{"latency.svg", "timeline-equal.svg"})
        {
            final String text = Files.readString(dir.resolve(svg));
            assertTrue(text.startsWith("<svg") && text.trim().endsWith("</svg>"), svg);
        }
        final String timeline = Files.readString(dir.resolve("timeline-equal.svg"));
        assertTrue(timeline.contains("device 1 (worker 10.77.0.11:40100)"), "device names on the time line");
        assertTrue(Files.readString(dir.resolve("latency.svg")).contains("equal (2 devices)"));
        assertEquals(r.planners.get(0).traceJson, Files.readString(dir.resolve("trace-equal.json")));
        assertEquals(r.toJson() + "\n", Files.readString(dir.resolve("result.json")));
    }

    @Test
    void shouldPutEveryStepOnItsDevicesRowFromStartToEnd()
    {
        final TestbedResult r = TestbedPartsTest.sampleResult();
        final XYIntervalSeriesCollection data = (XYIntervalSeriesCollection)TestbedReport.timelineChart("equal",
            r.planners.get(0).traceJson, 2).getXYPlot().getDataset();
        assertEquals(3, data.getSeriesCount());
        assertEquals("compute", data.getSeriesKey(0));
        assertEquals(2, data.getItemCount(0));
        assertEquals(1, data.getItemCount(1));
        assertEquals(1, data.getItemCount(2));
        // the worker's compute: 1 ms to 21 ms on row 1
        assertEquals(1.0, data.getStartXValue(0, 1), 1e-9);
        assertEquals(21.0, data.getEndXValue(0, 1), 1e-9);
        assertEquals(1.0, data.getYValue(0, 1), 1e-9);
        assertEquals(0.1, data.getStartXValue(2, 0), 1e-9);
    }
}
