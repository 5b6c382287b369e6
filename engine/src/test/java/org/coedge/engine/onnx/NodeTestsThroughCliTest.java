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
    private static final int MIN_PASS = 337;

    /** Operators the engine listed before the generic tensor path: the prefixes of {@link OnnxNodeTestsTest}. */
    static List<String> prefixes()
    {
        final List<String> all = new ArrayList<>(OnnxNodeTestsTest.PREFIXES);
        all.addAll(GENERIC_PREFIXES);
        return all;
    }

    /** Operators of the generic tensor path. */
    static final List<String> GENERIC_PREFIXES = List.of(
        "test_transpose", "test_slice", "test_squeeze", "test_unsqueeze", "test_split", "test_gather_0",
        "test_gather_1", "test_gather_2d_indices", "test_gather_negative_indices", "test_expand", "test_tile",
        "test_max", "test_min", "test_mean", "test_sum", "test_pow", "test_mod", "test_exp", "test_log", "test_sqrt",
        "test_abs", "test_neg", "test_reciprocal", "test_erf", "test_softplus", "test_softsign", "test_elu",
        "test_selu", "test_celu", "test_mish", "test_gelu", "test_floor", "test_ceil", "test_round", "test_sign",
        "test_sin", "test_cos", "test_thresholdedrelu", "test_reduce_sum", "test_reduce_mean", "test_reduce_max",
        "test_reduce_min", "test_reduce_l1", "test_reduce_l2", "test_reduce_prod", "test_reduce_sum_square",
        "test_reduce_log_sum", "test_reduce_log_sum_exp", "test_logsoftmax", "test_instancenorm",
        "test_layer_normalization", "test_group_normalization", "test_depthtospace", "test_spacetodepth",
        "test_dropout", "test_identity", "test_cast");

    private static boolean isGeneric(final String name)
    {
        for (final String prefix : GENERIC_PREFIXES)
        {
            if (name.equals(prefix) || name.startsWith(prefix + "_"))
            {
                return true;
            }
        }
        return false;
    }

    record Outcome(String name, boolean onnxPass, boolean enginePass, String reason, boolean splitPass)
    {
        Outcome(final String name, final boolean onnxPass, final boolean enginePass, final String reason)
        {
            this(name, onnxPass, enginePass, reason, false);
        }
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
        reportPyTorchCases(tmp);
        int onnx = 0;
        int engine = 0;
        int split = 0;
        final Map<String, Integer> reasons = new LinkedHashMap<>();
        final StringBuilder table = new StringBuilder();
        int generic = 0;
        int genericPass = 0;
        for (final Outcome o : outcomes)
        {
            generic += isGeneric(o.name()) ? 1 : 0;
            genericPass += isGeneric(o.name()) && o.onnxPass() ? 1 : 0;
            onnx += o.onnxPass() ? 1 : 0;
            engine += o.enginePass() ? 1 : 0;
            split += o.splitPass() ? 1 : 0;
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
            "tolerance rtol 1e-3 atol 1e-7); %d of %d within 1e-4 of max |expected|; %d of the passing equal " +
            "their run split over 2 devices", onnx, outcomes.size(), engine, outcomes.size(), split);
        System.out.println(summary);
        System.out.println(String.format(Locale.ROOT, "  operators listed before: %d of %d; generic-path operators: " +
            "%d of %d", onnx - genericPass, outcomes.size() - generic, genericPass, generic));
        final int floor = Integer.getInteger("coedge.nodeTests.minPass", MIN_PASS);
        assertTrue(onnx >= floor, summary + ", expected at least " + floor + "\n" + table);
    }

    /** Runs every float case of ONNX's PyTorch-exported layer tests too, and prints their count (not asserted). */
    private static void reportPyTorchCases(final Path tmp) throws IOException
    {
        for (final String group : List.of("pytorch-converted", "pytorch-operator"))
        {
            final Path root = NODE_TESTS.resolveSibling(group);
            if (!Files.isDirectory(root))
            {
                continue;
            }
            final List<Path> dirs;
            try (Stream<Path> list = Files.list(root))
            {
                dirs = list.filter(d -> Files.isRegularFile(d.resolve("model.onnx")) &&
                    Files.isDirectory(d.resolve("test_data_set_0"))).filter(NodeTestsThroughCliTest::isFloat)
                    .sorted().toList();
            }
            int pass = 0;
            for (final Path dir : dirs)
            {
                final Outcome o = runCase(dir, tmp);
                pass += o.onnxPass() ? 1 : 0;
                if (!o.onnxPass())
                {
                    System.out.println(String.format(Locale.ROOT, "%-60s FAIL %s", group + "/" + o.name(),
                        o.reason()));
                }
            }
            System.out.println(String.format(Locale.ROOT, "%s through the CLI: %d of %d pass", group, pass,
                dirs.size()));
        }
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
            if (!onnxPass)
            {
                return new Outcome(name, false, enginePass, why.toString());
            }
            // The same run split by rows over two simulated devices must give the same outputs.
            final List<String> splitArgs = new ArrayList<>(args);
            splitArgs.add("--split");
            splitArgs.add("0.5,0.5");
            final List<HostTensor> unsplit = new ArrayList<>();
            for (final Path out : written)
            {
                unsplit.add(TensorFiles.read(out));
            }
            final int splitCode = CoEdgeCli.execute(splitArgs.toArray(new String[0]),
                new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
            boolean splitPass = splitCode == 0;
            for (int i = 0; splitPass && i < written.size(); i++)
            {
                splitPass = compare(unsplit.get(i), TensorFiles.read(written.get(i)), false) == null;
            }
            return new Outcome(name, true, enginePass, splitPass ? "" : "split run differs or fails (exit " +
                splitCode + ")", splitPass);
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
