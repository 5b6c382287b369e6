package org.coedge.engine.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CoEdgeCliTest
{
    @TempDir
    static Path dir;
    static Path model;
    static Path input;

    @BeforeAll
    static void writeZooModel()
    {
        final Result r = cli("zoo", "--out", dir.toString(), "--name", "mobilenetv2");
        assertEquals(0, r.code, r.err);
        model = dir.resolve("mobilenetv2.onnx");
        input = dir.resolve("input.npy");
        assertTrue(Files.exists(model) && Files.exists(input), r.out);
    }

    @Test
    void shouldRunModelAndWriteOutputMatchingOnnxRuntime() throws Exception
    {
        final Path output = dir.resolve("out.npy");
        final Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--output",
            output.toString(), "--threads", "2");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("latency ms: min"), r.out);
        final HostTensor in = TensorFiles.read(input);
        final HostTensor out = TensorFiles.read(output);
        final OrtReference.Result ref = OrtReference.run(model, List.of(in.data()), List.of(in.dims()), 1);
        assertArrayEquals(ref.dims(0), out.dims());
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < out.size(); i++)
        {
            maxRef = Math.max(maxRef, Math.abs(ref.data(0)[i]));
            maxErr = Math.max(maxErr, Math.abs(ref.data(0)[i] - out.get(i)));
        }
        assertTrue(maxErr / maxRef <= 1e-4, "relative error " + maxErr / maxRef);
    }

    @Test
    void shouldFixResizeScalesGivenAsAnInputFromTheirFile() throws Exception
    {
        final OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("resize")
            .addInput(valueInfo("x", 1, 2, 3, 4)).addInput(valueInfo("scales", 4)).addOutput(valueInfo("y"))
            .addNode(OnnxMl.NodeProto.newBuilder().setOpType("Resize").setName("rs").addInput("x").addInput("")
                .addInput("scales").addOutput("y").addAttribute(OnnxMl.AttributeProto.newBuilder().setName("mode")
                    .setType(OnnxMl.AttributeProto.AttributeType.STRING)
                    .setS(com.google.protobuf.ByteString.copyFromUtf8("linear"))));
        final byte[] bytes = OnnxMl.ModelProto.newBuilder().setIrVersion(7)
            .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(13)).setGraph(g).build()
            .toByteArray();
        final Path resize = dir.resolve("resize.onnx");
        Files.write(resize, bytes);
        final float[] x = new float[24];
        for (int i = 0; i < x.length; i++)
        {
            x[i] = (float)Math.sin(i * 0.7);
        }
        final float[] scales = {1, 1, 2, 0.75f};
        TensorFiles.write(dir.resolve("rx.pb"), new HostTensor("x", new long[]{1, 2, 3, 4}, x));
        TensorFiles.write(dir.resolve("rs.pb"), new HostTensor("scales", new long[]{4}, scales));
        final Path output = dir.resolve("ry.pb");
        final Result r = cli("run", "--model", resize.toString(), "--input", dir.resolve("rx.pb").toString(),
            "--input", dir.resolve("rs.pb").toString(), "--output", output.toString());
        assertEquals(0, r.code, r.err);
        final HostTensor out = TensorFiles.read(output);
        final OrtReference.Result ref = OrtReference.run(bytes, List.of(x, scales),
            List.of(new long[]{1, 2, 3, 4}, new long[]{4}), 1);
        assertArrayEquals(ref.dims(0), out.dims());
        for (int i = 0; i < out.data().length; i++)
        {
            assertEquals(ref.data(0)[i], out.data()[i], 1e-5, "element " + i);
        }
    }

    private static OnnxMl.ValueInfoProto valueInfo(final String name, final long... dims)
    {
        final OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (final long d : dims)
        {
            shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        final OnnxMl.TypeProto.Tensor.Builder t = OnnxMl.TypeProto.Tensor.newBuilder()
            .setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        if (dims.length > 0)
        {
            t.setShape(shape);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder()
            .setTensorType(t)).build();
    }

    @Test
    void shouldPrintOneJsonObjectWithLatencies() throws Exception
    {
        final Path output = dir.resolve("out.pb");
        final Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--output",
            output.toString(), "--repeat", "3", "--warmup", "1", "--json");
        assertEquals(0, r.code, r.err);
        final String json = r.out.trim();
        assertTrue(json.startsWith("{") && json.endsWith("}") && !json.contains("\n"), json);
        final Matcher m = Pattern.compile("\"latency_ms\": \\{\"min\": ([0-9.]+), \"median\": ([0-9.]+)}")
            .matcher(json);
        assertTrue(m.find(), json);
        assertTrue(Double.parseDouble(m.group(1)) > 0 &&
            Double.parseDouble(m.group(1)) <= Double.parseDouble(m.group(2)), json);
        assertTrue(json.contains("\"dims\": [1, 1000]"), json);
        assertTrue(json.contains("\"blas_core\": \"" + org.coedge.kernels.BlasCore.current().name() + "\", " +
            "\"blas_core_forced\": " + forced()), json);
        assertEquals(1000, TensorFiles.read(output).size());
    }

    /** @return true if the environment forces an OpenBLAS core (a non-blank {@code OPENBLAS_CORETYPE}). */
    private static boolean forced()
    {
        final String env = System.getenv("OPENBLAS_CORETYPE");
        return env != null && !env.isBlank();
    }

    @Test
    void shouldDescribeEveryLayerWithShapeAndFlops()
    {
        final Result r = cli("info", "--model", model.toString());
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("input  input") && r.out.contains("[1, 3, 224, 224]"), r.out);
        assertTrue(r.out.contains("openblas core: " + org.coedge.kernels.BlasCore.current().describe()), r.out);
        assertTrue(r.out.contains("DepthwiseConv+Clip"), r.out);
        assertTrue(r.out.contains("112x112x32"), r.out);
        final Matcher m = Pattern.compile("total: (\\d+) layers, ([0-9.]+) GFLOPs").matcher(r.out);
        assertTrue(m.find(), r.out);
        // MobileNetV2 at 224x224 is about 0.3 G multiply-adds, 0.6 GFLOPs
        final double gflops = Double.parseDouble(m.group(2));
        assertTrue(gflops > 0.5 && gflops < 0.7, "GFLOPs " + gflops);
    }

    @Test
    void shouldPrintPlanWithHaloAndRedundantFlopsPerDevice()
    {
        final Result r = cli("plan", "--model", model.toString(), "--split", "0.5,0.3,0.2", "--fuse", "3");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("3 devices, fuse 3"), r.out);
        assertTrue(r.out.contains("FUSED") && r.out.contains("SINGLE_DEVICE"), r.out);
        assertTrue(r.out.contains("  device 2: rows ["), r.out);
        final Matcher m = Pattern.compile("total: halo ([0-9.]+) KiB in (\\d+) messages, redundant ([0-9.]+) GFLOPs")
            .matcher(r.out);
        assertTrue(m.find(), r.out);
        assertTrue(Double.parseDouble(m.group(1)) > 0 && Double.parseDouble(m.group(3)) > 0, r.out);
        assertTrue(r.out.contains("device 2 program: "), r.out);
    }

    @Test
    void shouldPickFusionDepthFromTheLinkWithFuseAuto()
    {
        final Result slow = cli("plan", "--model", model.toString(), "--split", "1,1", "--fuse", "auto",
            "--link-mbps", "1", "--link-latency-us", "100000");
        assertEquals(0, slow.code, slow.err);
        final Matcher depth = Pattern.compile("fuse auto -> (\\d+) \\(estimated ").matcher(slow.out);
        assertTrue(depth.find(), slow.out);
        assertTrue(Integer.parseInt(depth.group(1)) > 1, "a slow link fuses: " + slow.out);

        final Result fast = cli("plan", "--model", model.toString(), "--split", "1,1", "--fuse", "auto",
            "--link-mbps", "1000000", "--link-latency-us", "0", "--steps");
        assertEquals(0, fast.code, fast.err);
        final Matcher fastDepth = Pattern.compile("fuse auto -> (\\d+) \\(estimated ([0-9.]+) ms").matcher(fast.out);
        final Matcher slowDepth = Pattern.compile("fuse auto -> (\\d+) \\(estimated ([0-9.]+) ms").matcher(slow.out);
        assertTrue(fastDepth.find() && slowDepth.find(), fast.out);
        // a free link costs only compute; the slow one fuses at least as deep to save messages
        assertTrue(Double.parseDouble(fastDepth.group(2)) < Double.parseDouble(slowDepth.group(2)), fast.out);
        assertTrue(Integer.parseInt(slowDepth.group(1)) >= Integer.parseInt(fastDepth.group(1)), slow.out);
        assertTrue(fast.out.contains("    COMPUTE layer ") && fast.out.contains("    AWAIT "), fast.out);
    }

    @Test
    void shouldRunSplitOverSimulatedDevicesWithTheUnsplitResult() throws Exception
    {
        final Path whole = dir.resolve("whole.npy");
        final Path split = dir.resolve("split.npy");
        assertEquals(0, cli("run", "--model", model.toString(), "--input", input.toString(), "--output",
            whole.toString()).code);
        final Result r = cli("run", "--model", model.toString(), "--input", input.toString(), "--output",
            split.toString(), "--split", "0.5,0.3,0.2", "--fuse", "2");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("one device alone would hold"), r.out);
        assertTrue(r.out.contains("split over 3 simulated devices, fuse 2"), r.out);
        final HostTensor a = TensorFiles.read(whole);
        final HostTensor b = TensorFiles.read(split);
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < a.size(); i++)
        {
            maxRef = Math.max(maxRef, Math.abs(a.get(i)));
            maxErr = Math.max(maxErr, Math.abs(a.get(i) - b.get(i)));
        }
        assertTrue(maxErr <= 1e-5 * maxRef, "split vs unsplit: " + maxErr + " / " + maxRef);
        final Result j = cli("run", "--model", model.toString(), "--input", input.toString(), "--split", "1,1",
            "--fuse", "auto", "--json");
        assertEquals(0, j.code, j.err);
        assertTrue(j.out.trim().startsWith("{") && j.out.contains("\"devices\": [{\"device\": 0, ") &&
            j.out.contains("\"memory_bytes\": ") && j.out.contains("\"fuse\": \"fuse auto -> ") &&
            j.out.contains("\"latency_ms\""), j.out);
    }

    @Test
    void shouldPlanNoHaloForOneDevice()
    {
        final Result r = cli("plan", "--model", model.toString(), "--split", "1");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("total: halo 0.0 KiB in 0 messages, redundant 0.000 GFLOPs"), r.out);
    }

    @Test
    void shouldRejectBadSplitAndFuse()
    {
        assertBadInput(cli("plan", "--model", model.toString(), "--split", "0.5,-1"), "share");
        assertBadInput(cli("plan", "--model", model.toString(), "--split", "1,1", "--fuse", "0"), "--fuse");
        assertBadInput(cli("plan", "--model", model.toString(), "--split", "1,1", "--fuse", "deep"), "--fuse");
        assertBadInput(cli("plan", "--model", model.toString(), "--split", "1,1", "--fuse", "auto",
            "--link-mbps", "0"), "--link-mbps");
    }

    @Test
    void shouldRejectTruncatedModelInOneLine() throws Exception
    {
        final byte[] bytes = Files.readAllBytes(model);
        final Path truncated = dir.resolve("truncated.onnx");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        assertBadInput(cli("run", "--model", truncated.toString(), "--input", input.toString()), "truncated.onnx");
    }

    @Test
    void shouldRejectFileThatIsNotOnnx() throws Exception
    {
        final Path text = dir.resolve("notes.onnx");
        Files.writeString(text, "these are not the weights you are looking for\n");
        assertBadInput(cli("info", "--model", text.toString()), "not a valid ONNX model");
    }

    @Test
    void shouldNameUnsupportedOperatorAndItsNode() throws Exception
    {
        final OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model)).toBuilder();
        final OnnxMl.NodeProto.Builder node = m.getGraphBuilder().getNodeBuilder(3);
        final String name = node.getName();
        node.setOpType("Einsum");
        final Path odd = dir.resolve("einsum.onnx");
        Files.write(odd, m.build().toByteArray());
        final Result r = cli("run", "--model", odd.toString(), "--input", input.toString());
        assertBadInput(r, "Einsum");
        assertTrue(r.err.contains(name), r.err);
    }

    @Test
    void shouldRejectInputOfWrongShape() throws Exception
    {
        final Path small = dir.resolve("small.npy");
        TensorFiles.write(small, new HostTensor("x", new long[] {1, 3, 100, 100}, new float[3 * 100 * 100]));
        assertBadInput(cli("run", "--model", model.toString(), "--input", small.toString()), "input");
    }

    @Test
    void shouldRejectInputFileWithWrongElementCount() throws Exception
    {
        final Path bad = dir.resolve("short.npy");
        final byte[] good = Files.readAllBytes(input);
        Files.write(bad, Arrays.copyOf(good, good.length - 400));
        assertBadInput(cli("run", "--model", model.toString(), "--input", bad.toString()), "short.npy");
    }

    @Test
    void shouldRejectMissingInputFile()
    {
        assertBadInput(cli("run", "--model", model.toString(), "--input", dir.resolve("nope.npy").toString()),
            "nope.npy");
    }

    @Test
    void shouldRejectWrongNumberOfInputs()
    {
        assertBadInput(cli("run", "--model", model.toString(), "--input", input.toString(), "--input",
            input.toString()), "1 input");
    }

    private static void assertBadInput(final Result r, final String mentions)
    {
        assertEquals(CoEdgeCli.EXIT_BAD_INPUT, r.code, r.out + r.err);
        final String err = r.err.trim();
        assertTrue(err.startsWith("coedge: error: "), err);
        assertFalse(err.contains("\n"), "more than one line: " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), "stack trace or class name: " + err);
        assertTrue(err.contains(mentions), "expected mention of '" + mentions + "': " + err);
    }

    private static Result cli(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int code = CoEdgeCli.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    private record Result(int code, String out, String err)
    {
    }
}
