package org.coedge.engine.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.graph.ModelException;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Runs the ONNX backend node tests (Debian's libonnx-testdata) of the operators the engine supports and classifies
 * each case: PASS, FAIL (wrong numbers or dims), UNSUPPORTED (the engine refused the model with a
 * {@link ModelException} or {@link IllegalArgumentException} saying why) or CRASH (any other throwable: a bug).
 * FAIL and CRASH count as failed.
 * <p>
 * The node tests are written for general runtimes: weights, shapes, scales and pads come as graph inputs (some int64),
 * most tensors have rank 3 or a batch above 1, a few files carry an opset older than the engine reads. A case the
 * engine refuses is run again under each combination of the adaptations below that apply (they keep the operator's
 * semantics), fewest first, until a run is not refused; the last run is reported with the adaptations it used:
 * <ul>
 *   <li>{@code opset}: the opset import raised to the engine's lowest, for operators unchanged since the file's;</li>
 *   <li>{@code rank4}: inputs and outputs of lower rank given leading 1 dims, for broadcasting elementwise operators
 *   (numpy broadcasting aligns trailing dims, so the values are the same);</li>
 *   <li>{@code const}: every input but the first turned into an initializer holding the test's data;</li>
 *   <li>{@code split}: a batch of N run as N batch-1 inferences on slices of every runtime input, for operators that
 *   treat samples independently.</li>
 * </ul>
 * Where ONNX's reference implementation and ONNX Runtime, the engine's oracle, disagree, the engine is checked against
 * ONNX Runtime (listed in {@link #ONNX_RUNTIME_DECIDES}, with the reason).
 */
class OnnxNodeTestsTest
{
    private static final Path NODE_TESTS = Path.of("/usr/share/libonnx-testdata/data/node");
    private static final double RELATIVE_TOLERANCE = 1e-4;
    private static final double ABSOLUTE_TOLERANCE = 1e-5;

    /** Directory name prefixes: a case is {@code prefix} itself or {@code prefix_...}. */
    static final List<String> PREFIXES = List.of(
        "test_conv", "test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_convtranspose",
        "test_maxpool", "test_averagepool", "test_globalaveragepool", "test_globalmaxpool", "test_lrn", "test_relu",
        "test_leakyrelu", "test_prelu", "test_clip", "test_sigmoid", "test_hardsigmoid", "test_hardswish", "test_tanh",
        "test_add", "test_sub", "test_mul", "test_div", "test_concat", "test_gemm", "test_matmul", "test_softmax",
        "test_resize", "test_upsample", "test_constant_pad", "test_edge_pad", "test_reflect_pad", "test_batchnorm",
        "test_flatten", "test_reshape");

    /** Operators whose definition at the engine's lowest opset equals the one since the given older opset. */
    private static final Map<String, Integer> UNCHANGED_SINCE = Map.of(
        "GlobalAveragePool", 1, "GlobalMaxPool", 1, "HardSigmoid", 6);

    /** Elementwise operators with numpy broadcasting (or none): leading 1 dims change no value. */
    private static final Set<String> RANK_AGNOSTIC = Set.of(
        "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
        "Add", "Sub", "Mul", "Div");

    /** Operators that compute each sample of a batch from that sample alone (with constant operands). */
    private static final Set<String> PER_SAMPLE = Set.of(
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN",
        "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Flatten",
        "Resize", "Upsample", "Pad", "MatMul", "Gemm", "Softmax");

    /**
     * Cases where ONNX's reference implementation, which produced the expected outputs, and ONNX Runtime, the
     * engine's oracle, disagree: the engine's outputs are checked against ONNX Runtime instead.
     */
    private static final Map<String, String> ONNX_RUNTIME_DECIDES = Map.of(
        "test_resize_downsample_scales_linear_align_corners",
        "align_corners with scale 0.6 of width 4: ONNX's reference divides by scale * 4 - 1 = 1.4, ONNX Runtime " +
            "(and PyTorch, and the spec's 'length of the resized tensor') by the output width 2 - 1",
        "test_resize_downsample_scales_cubic_align_corners",
        "align_corners with scale 0.8 of width 4: ONNX's reference divides by scale * 4 - 1 = 2.2, ONNX Runtime by " +
            "the output width 3 - 1");

    enum Status
    {
        PASS, FAIL, UNSUPPORTED, CRASH
    }

    /** How a case is adapted for the engine; see the class comment. */
    record Variant(boolean opset, boolean rank4, boolean constants, boolean split)
    {
        static final Variant AS_IS = new Variant(false, false, false, false);

        String tag()
        {
            final List<String> tags = new ArrayList<>();
            if (opset)
            {
                tags.add("opset");
            }
            if (rank4)
            {
                tags.add("rank4");
            }
            if (constants)
            {
                tags.add("const");
            }
            if (split)
            {
                tags.add("split");
            }
            return String.join("+", tags);
        }
    }

    record Outcome(String name, Status status, Variant variant, String detail)
    {
    }

    @Test
    void shouldRunSupportedOperatorNodeTests() throws IOException
    {
        Assumptions.assumeTrue(Files.isDirectory(NODE_TESTS),
            NODE_TESTS + " not found: install Debian's libonnx-testdata to run the ONNX node tests");
        final List<Path> cases = selectedCases();
        Assumptions.assumeFalse(cases.isEmpty(), "no node tests of supported operators in " + NODE_TESTS);

        final List<Outcome> outcomes = new ArrayList<>();
        for (final Path dir : cases)
        {
            outcomes.add(runCase(dir));
        }

        int passed = 0;
        int failed = 0;
        int unsupported = 0;
        final StringBuilder table = new StringBuilder();
        for (final Outcome o : outcomes)
        {
            switch (o.status())
            {
                case PASS:
                    passed++;
                    break;
                case UNSUPPORTED:
                    unsupported++;
                    break;
                default:
                    failed++;
                    break;
            }
            table.append(String.format(Locale.ROOT, "%-64s %-11s %-17s %s%n", o.name(), o.status(),
                o.variant().tag(), o.detail()));
        }
        final String summary = String.format(Locale.ROOT,
            "onnx node tests: %d passed, %d failed, %d unsupported of %d", passed, failed, unsupported,
            outcomes.size());
        System.out.print(table);
        System.out.println(summary);
        assertEquals(0, failed, summary + "\n" + table);
    }

    private static List<Path> selectedCases() throws IOException
    {
        try (Stream<Path> dirs = Files.list(NODE_TESTS))
        {
            return dirs.filter(OnnxNodeTestsTest::isSelected).sorted().toList();
        }
    }

    private static boolean isSelected(final Path dir)
    {
        final String name = dir.getFileName().toString();
        for (final String prefix : PREFIXES)
        {
            if (name.equals(prefix) || name.startsWith(prefix + "_"))
            {
                return Files.isRegularFile(dir.resolve("model.onnx")) &&
                    Files.isDirectory(dir.resolve("test_data_set_0"));
            }
        }
        return false;
    }

    private static Outcome runCase(final Path dir)
    {
        final String name = dir.getFileName().toString();
        try
        {
            final NodeCase c = new NodeCase(name, dir.resolve("test_data_set_0"),
                OnnxMl.ModelProto.parseFrom(Files.readAllBytes(dir.resolve("model.onnx"))));
            Outcome outcome = null;
            for (final Variant v : c.variants())
            {
                outcome = c.run(v);
                if (outcome.status() != Status.UNSUPPORTED)
                {
                    break;
                }
            }
            return outcome;
        }
        catch (final IOException ex)
        {
            return new Outcome(name, Status.CRASH, Variant.AS_IS, "cannot read the test: " + ex);
        }
    }

    /** One node test directory: the model as the file states it and its first data set. */
    private static final class NodeCase
    {
        private final String name;
        private final Path data;
        private final OnnxMl.ModelProto proto;
        private final OnnxMl.GraphProto graph;

        NodeCase(final String name, final Path data, final OnnxMl.ModelProto proto)
        {
            this.name = name;
            this.data = data;
            this.proto = proto;
            this.graph = proto.getGraph();
        }

        private Set<String> opTypes()
        {
            final Set<String> ops = new HashSet<>();
            for (final OnnxMl.NodeProto n : graph.getNodeList())
            {
                ops.add(n.getOpType());
            }
            return ops;
        }

        private long opsetVersion()
        {
            for (final OnnxMl.OperatorSetIdProto id : proto.getOpsetImportList())
            {
                if (id.getDomain().isEmpty() || "ai.onnx".equals(id.getDomain()))
                {
                    return id.getVersion();
                }
            }
            return -1;
        }

        private boolean opsetCanBeRaised()
        {
            final long opset = opsetVersion();
            if (opset < 1 || opset >= OnnxImporter.MIN_OPSET)
            {
                return false;
            }
            for (final String op : opTypes())
            {
                final Integer since = UNCHANGED_SINCE.get(op);
                if (since == null || since > opset)
                {
                    return false;
                }
            }
            return true;
        }

        private boolean rankCanBeRaised()
        {
            if (!RANK_AGNOSTIC.containsAll(opTypes()))
            {
                return false;
            }
            boolean lower = false;
            for (final OnnxMl.ValueInfoProto v : graph.getInputList())
            {
                final int rank = declaredDims(v).length;
                if (rank > 4)
                {
                    return false;
                }
                lower |= rank < 4;
            }
            return lower;
        }

        /** @return as-is first, then every combination of the adaptations that apply, fewest first. */
        List<Variant> variants()
        {
            final List<Variant> out = new ArrayList<>();
            for (final boolean opset : choices(opsetCanBeRaised()))
            {
                for (final boolean rank4 : choices(rankCanBeRaised()))
                {
                    for (final boolean constants : choices(graph.getInputCount() > 1))
                    {
                        final Variant v = new Variant(opset, rank4, constants, false);
                        out.add(v);
                        if (batchCanBeSplit(v))
                        {
                            out.add(new Variant(opset, rank4, constants, true));
                        }
                    }
                }
            }
            return out;
        }

        private static boolean[] choices(final boolean applies)
        {
            return applies ? new boolean[]{false, true} : new boolean[]{false};
        }

        private boolean batchCanBeSplit(final Variant v)
        {
            final long[] x = declaredDims(graph.getInput(0));
            if (v.rank4() || (x.length != 4 && x.length != 2) || x[0] <= 1)
            {
                return false;
            }
            for (int i = 1; i < graph.getInputCount() && !v.constants(); i++)
            {
                final long[] other = declaredDims(graph.getInput(i));
                if (other.length != x.length || other[0] != x[0])
                {
                    return false;
                }
            }
            for (final OnnxMl.NodeProto n : graph.getNodeList())
            {
                if (!isPerSample(n, x.length))
                {
                    return false;
                }
            }
            for (final OnnxMl.ValueInfoProto out : graph.getOutputList())
            {
                final long[] y = declaredDims(out);
                if (y.length == 0 || y[0] != x[0])
                {
                    return false;
                }
            }
            return true;
        }

        /** Flatten, Pad and Resize along the batch are caught by the output's batch; the rest is checked here. */
        private boolean isPerSample(final OnnxMl.NodeProto n, final int rank)
        {
            switch (n.getOpType())
            {
                case "Softmax":
                    final long axis = intAttribute(n, "axis", opsetVersion() < 13 ? 1 : -1);
                    return (axis < 0 ? axis + rank : axis) != 0;
                case "Concat":
                    final long concatAxis = intAttribute(n, "axis", 1);
                    return (concatAxis < 0 ? concatAxis + rank : concatAxis) != 0;
                case "Gemm":
                    // Row i of the output reads row i of A and all of C: C must not vary by row.
                    final long[] c = n.getInputCount() > 2 ? dimsOf(n.getInput(2)) : new long[0];
                    return intAttribute(n, "transA", 0) == 0 && (c.length < 2 || c[0] == 1);
                default:
                    return PER_SAMPLE.contains(n.getOpType());
            }
        }

        private long[] dimsOf(final String value)
        {
            for (final OnnxMl.ValueInfoProto v : graph.getInputList())
            {
                if (v.getName().equals(value))
                {
                    return declaredDims(v);
                }
            }
            return new long[0];
        }

        /**
         * Refusals while the model is loaded and prepared are UNSUPPORTED; anything thrown once the engine has
         * accepted it, while it runs, is a CRASH.
         */
        Outcome run(final Variant v)
        {
            final byte[] bytes;
            final List<HostTensor> inputs = new ArrayList<>();
            final Session session;
            try
            {
                bytes = adapted(v);
                final Model loaded = Model.load(bytes, name);
                // integer inputs (shapes, sizes) are bound to their files' values, as coedge run binds them
                final java.util.Map<String, org.coedge.engine.io.HostIntTensor> integers =
                    new java.util.LinkedHashMap<>();
                for (final String in : loaded.integerInputs())
                {
                    integers.put(in, TensorFiles.readIntegers(data.resolve("input_" + indexOfInput(in) + ".pb")));
                }
                final Model model = integers.isEmpty() ? loaded : loaded.bindIntegerInputs(integers);
                for (final String in : model.inputNames())
                {
                    inputs.add(read("input_" + indexOfInput(in), v));
                }
                SessionOptions options = SessionOptions.threads(1);
                for (int i = 0; i < inputs.size(); i++)
                {
                    options = options.withInputDims(model.inputNames().get(i), sample(inputs.get(i), 0, v).dims());
                }
                session = model.newSession(options);
            }
            catch (final ModelException | IllegalArgumentException ex)
            {
                return new Outcome(name, Status.UNSUPPORTED, v, oneLine(ex.getMessage()));
            }
            catch (final Throwable ex)
            {
                return crash(v, ex);
            }
            try (session)
            {
                String detail = "";
                final int samples = v.split() ? (int)inputs.get(0).dims()[0] : 1;
                for (int s = 0; s < samples; s++)
                {
                    for (int i = 0; i < inputs.size(); i++)
                    {
                        session.setInput(i, sample(inputs.get(i), s, v).data());
                    }
                    session.run();
                    for (int i = 0; i < session.outputCount(); i++)
                    {
                        final HostTensor expected = sample(read("output_" + i, v), s, v);
                        String mismatch = compare(expected, session.outputDims(i), session.output(i));
                        if (mismatch != null && ONNX_RUNTIME_DECIDES.containsKey(name))
                        {
                            mismatch = compareWithOnnxRuntime(bytes, inputs, s, v, i, session);
                            detail = ONNX_RUNTIME_DECIDES.get(name) + ": matches ONNX Runtime";
                        }
                        if (mismatch != null)
                        {
                            return new Outcome(name, Status.FAIL, v,
                                "output " + i + (v.split() ? " sample " + s : "") + ": " + mismatch);
                        }
                    }
                }
                return new Outcome(name, Status.PASS, v, detail);
            }
            catch (final Throwable ex)
            {
                return crash(v, ex);
            }
        }

        private Outcome crash(final Variant v, final Throwable ex)
        {
            final StackTraceElement[] trace = ex.getStackTrace();
            return new Outcome(name, Status.CRASH, v,
                oneLine(ex.toString()) + (trace.length > 0 ? " at " + trace[0] : ""));
        }

        private static String compareWithOnnxRuntime(
            final byte[] model, final List<HostTensor> inputs, final int s, final Variant v, final int output,
            final Session session)
        {
            final List<float[]> data = new ArrayList<>();
            final List<long[]> dims = new ArrayList<>();
            for (final HostTensor in : inputs)
            {
                data.add(sample(in, s, v).data());
                dims.add(sample(in, s, v).dims());
            }
            final OrtReference.Result ort = OrtReference.run(model, data, dims, 1);
            return compare(new HostTensor("", ort.dims(output), ort.data(output)), session.outputDims(output),
                session.output(output));
        }

        private static long intAttribute(final OnnxMl.NodeProto n, final String attribute, final long defaultValue)
        {
            for (final OnnxMl.AttributeProto a : n.getAttributeList())
            {
                if (a.getName().equals(attribute))
                {
                    return a.getI();
                }
            }
            return defaultValue;
        }

        private int indexOfInput(final String inputName)
        {
            for (int i = 0; i < graph.getInputCount(); i++)
            {
                if (graph.getInput(i).getName().equals(inputName))
                {
                    return i;
                }
            }
            throw new IllegalStateException("no graph input '" + inputName + "'");
        }

        /** @return the model bytes with the variant's changes to the opset, inputs and declared dims. */
        private byte[] adapted(final Variant v) throws IOException
        {
            final OnnxMl.GraphProto.Builder g = graph.toBuilder().clearInput().clearOutput().clearValueInfo();
            for (int i = 0; i < graph.getInputCount(); i++)
            {
                final OnnxMl.ValueInfoProto in = graph.getInput(i);
                if (i > 0 && v.constants())
                {
                    final Path file = data.resolve("input_" + i + ".pb");
                    if (Files.exists(file))
                    {
                        final OnnxMl.TensorProto t = OnnxMl.TensorProto.parseFrom(Files.readAllBytes(file));
                        g.addInitializer(t.toBuilder().setName(in.getName()));
                    }
                    continue;
                }
                g.addInput(withDims(in, adaptedDims(declaredDims(in), v)));
            }
            for (final OnnxMl.ValueInfoProto out : graph.getOutputList())
            {
                g.addOutput(withDims(out, adaptedDims(declaredDims(out), v)));
            }
            final OnnxMl.ModelProto.Builder m = proto.toBuilder().setGraph(g);
            if (v.opset())
            {
                m.clearOpsetImport().addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("")
                    .setVersion(OnnxImporter.MIN_OPSET));
            }
            return m.build().toByteArray();
        }

        private HostTensor read(final String file, final Variant v) throws IOException
        {
            final HostTensor t = TensorFiles.read(data.resolve(file + ".pb"));
            return v.rank4() ? new HostTensor(t.name(), rank4(t.dims()), t.data()) : t;
        }
    }

    /** @return declared dims with leading 1s up to rank 4 under {@code rank4}, batch 1 under {@code split}. */
    private static long[] adaptedDims(final long[] dims, final Variant v)
    {
        final long[] out = v.rank4() ? rank4(dims) : dims.clone();
        if (v.split() && out.length > 0)
        {
            out[0] = 1;
        }
        return out;
    }

    private static long[] rank4(final long[] dims)
    {
        if (dims.length >= 4)
        {
            return dims.clone();
        }
        final long[] out = new long[4];
        Arrays.fill(out, 1);
        System.arraycopy(dims, 0, out, 4 - dims.length, dims.length);
        return out;
    }

    /** @return sample {@code s} of the batch under {@code split}, else the tensor itself. */
    private static HostTensor sample(final HostTensor t, final int s, final Variant v)
    {
        if (!v.split())
        {
            return t;
        }
        final long[] dims = t.dims();
        final int per = t.size() / (int)dims[0];
        dims[0] = 1;
        return new HostTensor(t.name(), dims, Arrays.copyOfRange(t.data(), s * per, (s + 1) * per));
    }

    private static long[] declaredDims(final OnnxMl.ValueInfoProto v)
    {
        if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape())
        {
            return new long[0];
        }
        final OnnxMl.TensorShapeProto shape = v.getType().getTensorType().getShape();
        final long[] dims = new long[shape.getDimCount()];
        for (int i = 0; i < dims.length; i++)
        {
            dims[i] = shape.getDim(i).hasDimValue() ? shape.getDim(i).getDimValue() : -1;
        }
        return dims;
    }

    private static OnnxMl.ValueInfoProto withDims(final OnnxMl.ValueInfoProto v, final long[] dims)
    {
        if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape())
        {
            return v;
        }
        final OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (final long d : dims)
        {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        final OnnxMl.ValueInfoProto.Builder b = v.toBuilder();
        b.getTypeBuilder().getTensorTypeBuilder().setShape(shape);
        return b.build();
    }

    /** @return null when {@code actual} matches, else what differs. */
    private static String compare(final HostTensor expected, final long[] actualDims, final float[] actual)
    {
        if (!Arrays.equals(expected.dims(), actualDims))
        {
            return "dims " + Arrays.toString(actualDims) + ", expected " + Arrays.toString(expected.dims());
        }
        final float[] e = expected.data();
        double maxExpected = 0;
        double maxError = 0;
        int worstAt = -1;
        for (int i = 0; i < e.length; i++)
        {
            if (Float.isNaN(e[i]) != Float.isNaN(actual[i]))
            {
                return "NaN mismatch at " + i + ": " + actual[i] + ", expected " + e[i];
            }
            if (!Float.isNaN(e[i]))
            {
                maxExpected = Math.max(maxExpected, Math.abs(e[i]));
            }
            if (Float.isNaN(e[i]) || e[i] == actual[i])
            {
                continue;
            }
            final double error = Math.abs((double)e[i] - actual[i]);
            if (!(error <= maxError))
            {
                maxError = error;
                worstAt = i;
            }
        }
        if (worstAt < 0 || maxError <= Math.max(RELATIVE_TOLERANCE * maxExpected, ABSOLUTE_TOLERANCE))
        {
            return null;
        }
        return String.format(Locale.ROOT, "max abs error %.3g at %d (%s, expected %s), max |expected| %.3g",
            maxError, worstAt, actual[worstAt], e[worstAt], maxExpected);
    }

    private static String oneLine(final String message)
    {
        return message == null ? "(no message)" : message.replace('\n', ' ');
    }
}
