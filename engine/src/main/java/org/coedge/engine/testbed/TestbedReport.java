package org.coedge.engine.testbed;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Rectangle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYIntervalSeries;
import org.jfree.data.xy.XYIntervalSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

/**
 * {@code coedge testbed --report DIR}: writes {@code report.md} with the setup, the measured tables and SVG charts
 * drawn by JFreeChart onto JFreeSVG's {@code SVGGraphics2D}: latency per planner against the fastest device alone,
 * and for every planner a Gantt time line of one request (a bar per step, coloured compute, send or wait, a row per
 * device), read back from the trace the coordinator wrote. Also writes {@code result.json} and each
 * {@code trace-PLANNER.json}. Cold path.
 */
public final class TestbedReport
{
    private static final int WIDTH = 900;
    private static final Color COMPUTE = new Color(0x3b7dd8);
    private static final Color SEND = new Color(0xe08a1e);
    private static final Color WAIT = new Color(0xb8b8b8);

    private TestbedReport()
    {
    }

    /** @return the report file written into {@code dir} (created if missing). */
    public static Path write(final TestbedResult r, final Path dir) throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("result.json"), r.toJson() + "\n", StandardCharsets.UTF_8);
        writeSvg(latencyChart(r), dir.resolve("latency.svg"), WIDTH, 420);
        final StringBuilder md = new StringBuilder(8192);
        md.append("# coedge testbed: ").append(r.model).append("\n\n");
        md.append(String.format(Locale.ROOT, "%d device(s), links %s%s, %d timed request(s) per run after the " +
            "warm-up. Speedup is the fastest device alone over a planner's median; max error is max |cooperative - " +
            "alone| over max |alone|.%n%n", r.devices.size(), r.linkMbps > 0 ? String.format(Locale.ROOT,
            "%.0f Mbit/s each way (tc tbf on both ends of every veth)", r.linkMbps) : "unlimited (veth)",
            r.delayMs > 0 ? String.format(Locale.ROOT, ", %.1f ms one way", r.delayMs) : "", r.repeat));
        md.append(String.format(Locale.ROOT, "Unthrottled, the testbed measured %.1f GFLOP/s right before the " +
            "workers started; \"/ share\" is what a device reported over its cores times that.%n%n",
            r.unthrottledGflops()));
        md.append("| device | cores | CFS quota / period (us) | CPUs | GFLOP/s reported | / share | memory MiB | " +
            "peak RSS MiB |\n|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < r.devices.size(); i++)
        {
            final TestbedResult.Device d = r.devices.get(i);
            md.append(String.format(Locale.ROOT, "| %d%s | %.3f | %d / %d | %s | %.1f | %.2f | %.1f | %.1f |%n", i,
                i == 0 ? " (coordinator)" : "", d.cores, d.quotaUs, d.periodUs, d.cpus.isEmpty() ? "-" : d.cpus,
                d.gflops, r.shareRatio(d), d.memoryMb, d.peakRssMb));
        }
        md.append("\n| alone on | median ms | min ms | median before / after the cooperative runs |\n" +
            "|---|---|---|---|\n");
        for (final TestbedResult.Alone a : r.alone)
        {
            md.append(String.format(Locale.ROOT, "| device %d, %.3f cores | %.2f | %.2f | %s |%n", a.device, a.cores,
                a.medianMs, a.minMs, Double.isNaN(a.afterMedianMs) ? "-" :
                String.format(Locale.ROOT, "%.2f / %.2f", a.beforeMedianMs, a.afterMedianMs)));
        }
        md.append("\n| planner | median ms | p90 ms | speedup | max error | rows per device | compute / send / " +
            "wait ms per device | throttled periods |\n|---|---|---|---|---|---|---|---|\n");
        for (final TestbedResult.Planner p : r.planners)
        {
            final List<String> rows = new ArrayList<>();
            final List<String> times = new ArrayList<>();
            final List<String> throttled = new ArrayList<>();
            for (final TestbedResult.PlannerDevice pd : p.devices)
            {
                rows.add(pd.joined ? Integer.toString(pd.rows) : "-");
                times.add(pd.joined ? String.format(Locale.ROOT, "%.1f / %.1f / %.1f", pd.computeMs, pd.sendMs,
                    pd.waitMs) : "not joined");
                throttled.add(String.format(Locale.ROOT, "%.0f%%", 100 * pd.throttledFraction));
            }
            md.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2fx | %.2g | %s | %s | %s |%n", p.name,
                p.medianMs, p.p90Ms, p.speedup, p.maxError, String.join(", ", rows), String.join("; ", times),
                String.join(", ", throttled)));
        }
        for (final TestbedResult.Planner p : r.planners)
        {
            if (!Double.isNaN(p.predictedMs))
            {
                md.append(String.format(Locale.ROOT, "%n%s predicted %.2f ms end to end and measured %.2f ms " +
                    "(%+.1f%%); its plan: %s.%n", p.name, p.predictedMs, p.medianMs,
                    100 * (p.medianMs / p.predictedMs - 1), p.plan));
                if (!p.explain.isEmpty())
                {
                    md.append("\nPredicted against measured (the last timed request) per stage and device:\n\n```\n")
                        .append(p.explain).append("```\n");
                }
            }
        }
        md.append("\n![latency per planner](latency.svg)\n\n");
        for (final TestbedResult.Planner p : r.planners)
        {
            if (p.traceJson.isEmpty())
            {
                continue;
            }
            final String trace = "trace-" + p.name + ".json";
            final String svg = "timeline-" + p.name + ".svg";
            Files.writeString(dir.resolve(trace), p.traceJson, StandardCharsets.UTF_8);
            final JFreeChart gantt = timelineChart(p.name, p.traceJson, r.devices.size());
            writeSvg(gantt, dir.resolve(svg), WIDTH, 140 + 60 * r.devices.size());
            md.append("### One request under `").append(p.name).append("`\n\n![time line ").append(p.name)
                .append("](").append(svg).append(")\n\nEvery step of the last timed request on every device " +
                "(compute blue, send orange, wait grey); the same time line as a Chrome trace: [")
                .append(trace).append("](").append(trace).append(") (Perfetto, chrome://tracing).\n\n");
        }
        final Path file = dir.resolve("report.md");
        Files.writeString(file, md.toString(), StandardCharsets.UTF_8);
        return file;
    }

    /** Bars of median and p90 latency: the fastest device alone (1 device), then every planner (all devices). */
    static JFreeChart latencyChart(final TestbedResult r)
    {
        final DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (final TestbedResult.Alone a : r.alone)
        {
            final String label = String.format(Locale.ROOT, "alone %.3g cores (1 device)", a.cores);
            data.addValue(a.medianMs, "median", label);
            data.addValue(a.medianMs, "p90", label);
        }
        for (final TestbedResult.Planner p : r.planners)
        {
            final String label = p.name + " (" + r.devices.size() + " devices)";
            data.addValue(p.medianMs, "median", label);
            data.addValue(p.p90Ms, "p90", label);
        }
        final JFreeChart chart = ChartFactory.createBarChart("Latency of " + r.model + " per planner and device " +
            "count", null, "ms per request", data, PlotOrientation.VERTICAL, true, false, false);
        final CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        final BarRenderer renderer = (BarRenderer)plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setSeriesPaint(0, COMPUTE);
        renderer.setSeriesPaint(1, new Color(0x9dbcea));
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** A Gantt chart of one request: per device (a row), every step as a bar from its start to its end, in ms. */
    static JFreeChart timelineChart(final String planner, final String traceJson, final int devices)
    {
        final XYIntervalSeries compute = new XYIntervalSeries("compute");
        final XYIntervalSeries send = new XYIntervalSeries("send");
        final XYIntervalSeries wait = new XYIntervalSeries("wait");
        final String[] names = new String[devices];
        for (int d = 0; d < devices; d++)
        {
            names[d] = "device " + d;
        }
        final Map<String, Object> trace = JsonReader.parseObject(traceJson);
        for (final Map<String, Object> e : JsonReader.objects(trace, "traceEvents"))
        {
            final int d = (int)JsonReader.num(e, "pid");
            if (d < 0 || d >= devices)
            {
                continue;
            }
            if ("M".equals(e.get("ph")))
            {
                final Object name = JsonReader.obj(e, "args").get("name");
                if (name instanceof String)
                {
                    names[d] = (String)name;
                }
                continue;
            }
            if (!"X".equals(e.get("ph")))
            {
                continue;
            }
            final double start = JsonReader.num(e, "ts") / 1e3;
            final double end = start + JsonReader.num(e, "dur") / 1e3;
            final Object cat = e.get("cat");
            final XYIntervalSeries s = "compute".equals(cat) ? compute : "send".equals(cat) ? send : wait;
            s.add(start, start, end, d, d - 0.35, d + 0.35);
        }
        final XYIntervalSeriesCollection data = new XYIntervalSeriesCollection();
        data.addSeries(compute);
        data.addSeries(send);
        data.addSeries(wait);
        final XYBarRenderer renderer = new XYBarRenderer();
        renderer.setUseYInterval(true);
        renderer.setBarPainter(new StandardXYBarPainter());
        renderer.setShadowVisible(false);
        renderer.setDrawBarOutline(false);
        renderer.setSeriesPaint(0, COMPUTE);
        renderer.setSeriesPaint(1, SEND);
        renderer.setSeriesPaint(2, WAIT);
        final NumberAxis time = new NumberAxis("ms from the request's start");
        final SymbolAxis device = new SymbolAxis(null, names);
        device.setGridBandsVisible(false);
        device.setInverted(true);
        final XYPlot plot = new XYPlot(data, time, device, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlineStroke(new BasicStroke(0.5f));
        final JFreeChart chart = new JFreeChart("One request under " + planner + ": compute, send and wait per " +
            "device", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    static void writeSvg(final JFreeChart chart, final Path file, final int width, final int height)
        throws IOException
    {
        final SVGGraphics2D g2 = new SVGGraphics2D(width, height);
        chart.draw(g2, new Rectangle(0, 0, width, height));
        Files.writeString(file, g2.getSVGElement() + "\n", StandardCharsets.UTF_8);
    }
}
