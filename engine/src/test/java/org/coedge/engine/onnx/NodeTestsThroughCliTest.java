package org.coedge.engine.onnx;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.cli.CoEdgeCli;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs every float ONNX backend node test (Debian's libonnx-testdata) of the operators the engine lists exactly as a
 * user would: {@code coedge run --model model.onnx --input input_0.pb ... --output out_0.pb ...} through
 * {@link CoEdgeCli#execute} (the jar's code path, in this JVM), with no adaptation of the file, and compares each
 * written output with {@code output_i.pb}. Prints every case with its one-line reason and the pass counts under two
 * tolerances: ONNX's backend test ({@code |a - e| <= 1e-7 + 1e-3 |e|} per element) and the engine's
 * (max abs error <= 1e-4 max |expected|, or 1e-5).
 * <p>
 * Opt-in: {@code mvn -B -o test -pl engine -am -Dtest=NodeTestsThroughCliTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dcoedge.nodeTests.cli=true}. It asserts that at least {@code -Dcoedge.nodeTests.minPass} cases (default
 * {@link #MIN_PASS}) pass under ONNX's tolerance, so a regression shows.
 */
class NodeTestsThroughCliTest
{
    private static final Path NODE_TESTS = Path.of("/usr/share/libonnx-testdata/data/node");
    /** The pass count when this floor was last raised. */
    private static final int MIN_PASS = 31;

    /** Operators the engine lists: the node test directory prefixes of {@link OnnxNodeTestsTest}. */
    static List<String> prefixes()
    {
        return OnnxNodeTestsTest.PREFIXES;
    }

    record Outcome(String name, boolean onnxPass, boolean enginePass, String reason)
    {
    }

    @Test
    void shouldReportNodeTestsThroughTheCommandLine(@TempDir final Path tmp) throws IOException
    {
        Assumptions.assumeTrue(Boolean.getBoolean("coedge.nodeTests.cli"), "opt-in: -Dcoedge.nodeTests.cli=true");
        Assumptions.assumeTrue(Files.isDirectory(NODE_TESTS), NODE_TESTS + " not found (apt-get install " +
            "libonnx-testdata)");
        final List<Path> cases = floatCases();
        final List<Outcome> outcomes = new ArrayList<>();
        for (final Path dir : cases)
        {
            outcomes.add(runCase(dir, tmp));
        }
        int onnx = 0;
        int engine = 0;
        final Map<String, Integer> reasons = new LinkedHashMap<>();
        final StringBuilder table = new StringBuilder();
        for (final Outcome o : outcomes)
        {
            onnx += o.onnxPass() ? 1 : 0;
            engine += o.enginePass() ? 1 : 0;
            table.append(String.format(Locale.ROOT, "%-60s %-4s %s%n", o.name(), o.onnxPass() ? "PASS" : "FAIL",
                o.reason()));
            if (!o.onnxPass())
            {
                reasons.merge(reasonClass(o.reason()), 1, Integer::sum);
            }
        }
        System.out.print(table);
        System.out.println("failure classes:");
        reasons.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue())
            .forEach(e -> System.out.println(String.format(Locale.ROOT, "  %4d  %s", e.getValue(), e.getKey())));
        final String summary = String.format(Locale.ROOT, "node tests through the CLI: %d of %d pass (ONNX " +
            "tolerance rtol 1e-3 atol 1e-7); %d of %d within 1e-4 of max |expected|", onnx, outcomes.size(), engine,
            outcomes.size());
        System.out.println(summary);
        final int floor = Integer.getInteger("coedge.nodeTests.minPass", MIN_PASS);
        assertTrue(onnx >= floor, summary + ", expected at least " + floor + "\n" + table);
    }

    /** @return the reason without the node's name, dims and numbers, to count failures by kind. */
    private static String reasonClass(final String reason)
    {
        return reason.replaceAll("/\\S+", "FILE").replaceAll("'[^']*'", "'*'").replaceAll("\\[[^\\]]*\\]", "[*]")
            .replaceAll("-?\\d+(\\.\\d+)?(e-?\\d+)?", "#");
    }

    private static List<Path> floatCases() throws IOException
    {
        try (Stream<Path> dirs = Files.list(NODE_TESTS))
        {
            return dirs.filter(NodeTestsThroughCliTest::isSelected).filter(NodeTestsThroughCliTest::isFloat).sorted()
                .toList();
        }
    }

    private static boolean isSelected(final Path dir)
    {
        final String name = dir.getFileName().toString();
        for (final String prefix : prefixes())
        {
            if (name.equals(prefix) || name.startsWith(prefix + "_"))
            {
                return Files.isRegularFile(dir.resolve("model.onnx")) &&
                    Files.isDirectory(dir.resolve("test_data_set_0"));
            }
        }
        return false;
    }

    /** @return whether every graph input and output is a float tensor. */
    private static boolean isFloat(final Path dir)
    {
        try
        {
            final OnnxMl.GraphProto g = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx")))
                .getGraph();
            for (final OnnxMl.ValueInfoProto v : g.getInputList())
            {
                if (v.getType().getTensorType().getElemType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                {
                    return false;
                }
            }
            for (final OnnxMl.ValueInfoProto v : g.getOutputList())
            {
                if (v.getType().getTensorType().getElemType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE)
                {
                    return false;
                }
            }
            return true;
        }
        catch (final IOException ex)
        {
            return false;
        }
    }

    private static Outcome runCase(final Path dir, final Path tmp)
    {
        final String name = dir.getFileName().toString();
        final Path data = dir.resolve("test_data_set_0");
        try
        {
            final List<String> args = new ArrayList<>(List.of("run", "--model", dir.resolve("model.onnx").toString()));
            for (int i = 0; Files.exists(data.resolve("input_" + i + ".pb")); i++)
            {
                args.add("--input");
                args.add(data.resolve("input_" + i + ".pb").toString());
            }
            final List<Path> written = new ArrayList<>();
            for (int i = 0; Files.exists(data.resolve("output_" + i + ".pb")); i++)
            {
                final Path out = tmp.resolve(name + "_out_" + i + ".pb");
                Files.deleteIfExists(out);
                written.add(out);
                args.add("--output");
                args.add(out.toString());
            }
            final StringWriter err = new StringWriter();
            final int code = CoEdgeCli.execute(args.toArray(new String[0]), new PrintWriter(new StringWriter()),
                new PrintWriter(err));
            if (code != 0)
            {
                final String line = err.toString().strip().replace('\n', ' ');
                return new Outcome(name, false, false, "exit " + code + ": " + line);
            }
            boolean onnxPass = true;
            boolean enginePass = true;
            final StringBuilder why = new StringBuilder();
            for (int i = 0; i < written.size(); i++)
            {
                final HostTensor expected = TensorFiles.read(data.resolve("output_" + i + ".pb"));
                final HostTensor actual = TensorFiles.read(written.get(i));
                final String onnx = compare(expected, actual, true);
                final String engine = compare(expected, actual, false);
                onnxPass &= onnx == null;
                enginePass &= engine == null;
                if (onnx != null)
                {
                    why.append("output ").append(i).append(": ").append(onnx).append("; ");
                }
            }
            return new Outcome(name, onnxPass, enginePass, why.toString());
        }
        catch (final Throwable ex)
        {
            return new Outcome(name, false, false, "harness: " + ex);
        }
    }

    /** @return null when {@code actual} matches under the tolerance, else what differs. */
    static String compare(final HostTensor expected, final HostTensor actual, final boolean onnxTolerance)
    {
        if (!java.util.Arrays.equals(expected.dims(), actual.dims()))
        {
            return "dims " + java.util.Arrays.toString(actual.dims()) + ", expected " +
                java.util.Arrays.toString(expected.dims());
        }
        final float[] e = expected.data();
        final float[] a = actual.data();
        double maxExpected = 0;
        for (final float v : e)
        {
            maxExpected = Float.isNaN(v) ? maxExpected : Math.max(maxExpected, Math.abs(v));
        }
        for (int i = 0; i < e.length; i++)
        {
            if (Float.isNaN(e[i]) || Float.isNaN(a[i]))
            {
                if (Float.isNaN(e[i]) != Float.isNaN(a[i]))
                {
                    return "NaN mismatch at " + i + ": " + a[i] + ", expected " + e[i];
                }
                continue;
            }
            if (e[i] == a[i])
            {
                continue;
            }
            final double error = Math.abs((double)e[i] - a[i]);
            final double allowed = onnxTolerance ? 1e-7 + 1e-3 * Math.abs(e[i]) :
                Math.max(1e-4 * maxExpected, 1e-5);
            if (!(error <= allowed))
            {
                return String.format(Locale.ROOT, "at %d: %s, expected %s", i, a[i], e[i]);
            }
        }
        return null;
    }
}
