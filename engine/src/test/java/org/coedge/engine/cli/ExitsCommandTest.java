package org.coedge.engine.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import ai.onnx.proto.OnnxMl;
import org.coedge.engine.exits.ExitTable;
import org.coedge.engine.exits.FashionSlice;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code coedge exits}, {@code coedge run --exit} and the multi-exit zoo model, through the command line. */
class ExitsCommandTest
{
    private static final String IMAGES = "t10k-images-idx3-ubyte.gz";
    private static final String LABELS = "t10k-labels-idx1-ubyte.gz";
    private static final long[] IMAGE_DIMS = {1, 1, 28, 28};

    @TempDir
    Path dir;

    @Test
    void shouldMeasureTheAccuracyOnnxRuntimesArgmaxGives() throws Exception
    {
        final int n = 80;
        final Path sidecar = dir.resolve("measured.exits.json");
        final Result r = cli("exits", "--model", FashionSlice.model().toString(), "--data",
            FashionSlice.dataDir().toString(), "--limit", Integer.toString(n), "--threads", "2", "--out",
            sidecar.toString());
        assertEquals(0, r.code, r.err);
        final ExitTable table = ExitTable.read(sidecar);

        final float[][] images = FashionSlice.images(n);
        final int[] labels = FashionSlice.labels();
        final List<String> exits = List.of("exit0", "exit1", "exit2");
        final long[] correct = new long[exits.size()];
        try (OrtReference.Loaded ort = OrtReference.open(Files.readAllBytes(FashionSlice.model()), 1))
        {
            for (int i = 0; i < n; i++)
            {
                final OrtReference.Result ref = ort.run(List.of(images[i]), List.of(IMAGE_DIMS));
                for (int k = 0; k < exits.size(); k++)
                {
                    if (argmax(ref.data(exits.get(k))) == labels[i])
                    {
                        correct[k]++;
                    }
                }
            }
        }
        assertEquals(exits.size(), table.size());
        for (int k = 0; k < exits.size(); k++)
        {
            final ExitTable.Exit e = table.exit(k);
            assertEquals(exits.get(k), e.output());
            assertEquals(n, e.samples());
            assertEquals(correct[k], e.correct(), e.toString());
            assertEquals((double)correct[k] / n, e.top1(), 1e-6);
            assertTrue(r.out.contains(String.format("(%d of %d)", correct[k], n)), r.out);
        }
        assertEquals(ExitTable.TRAINED, table.weights());
        assertArrayEquals(new double[] {1 / 255.0, 0.286, 0.353}, table.input(), 1e-12);
    }

    @Test
    void shouldRejectBadDataInOneLine() throws Exception
    {
        final byte[] images = FashionSlice.payload(FashionSlice.dataDir().resolve(IMAGES), 16);
        final byte[] labels = FashionSlice.payload(FashionSlice.dataDir().resolve(LABELS), 8);

        assertBadData(dir.resolve("nowhere"), "is not a directory");

        final Path onlyImages = Files.createDirectory(dir.resolve("only-images"));
        writeIdx(onlyImages.resolve(IMAGES), 0x803, new int[] {200, 28, 28}, images, images.length);
        assertBadData(onlyImages, "has no t10k-labels-idx1-ubyte.gz");

        final Path shortImages = Files.createDirectory(dir.resolve("short"));
        writeIdx(shortImages.resolve(IMAGES), 0x803, new int[] {200, 28, 28}, images, 100 * 28 * 28);
        writeIdx(shortImages.resolve(LABELS), 0x801, new int[] {200}, labels, 200);
        assertBadData(shortImages, "is short");

        final Path mismatch = Files.createDirectory(dir.resolve("mismatch"));
        writeIdx(mismatch.resolve(IMAGES), 0x803, new int[] {200, 28, 28}, images, images.length);
        writeIdx(mismatch.resolve(LABELS), 0x801, new int[] {150}, labels, 150);
        assertBadData(mismatch, "has 150 labels but");

        final Path magic = Files.createDirectory(dir.resolve("magic"));
        writeIdx(magic.resolve(IMAGES), 0x801, new int[] {200}, labels, 200);
        writeIdx(magic.resolve(LABELS), 0x801, new int[] {200}, labels, 200);
        assertBadData(magic, "magic 0x00000801, expected 0x00000803");

        final Path plain = Files.createDirectory(dir.resolve("plain"));
        Files.write(plain.resolve(IMAGES), images);
        writeIdx(plain.resolve(LABELS), 0x801, new int[] {200}, labels, 200);
        assertBadData(plain, "not a gzip file");

        final Path outOfRange = Files.createDirectory(dir.resolve("labels"));
        final byte[] big = labels.clone();
        big[3] = 42;
        writeIdx(outOfRange.resolve(IMAGES), 0x803, new int[] {200, 28, 28}, images, images.length);
        writeIdx(outOfRange.resolve(LABELS), 0x801, new int[] {200}, big, 200);
        assertBadData(outOfRange, "scores 10 classes but the data has label 42");
    }

    @Test
    void shouldRejectAModelOrExitThatDoesNotFitInOneLine() throws Exception
    {
        final OnnxMl.ModelProto trained = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(FashionSlice.model()));
        final String data = FashionSlice.dataDir().toString();

        final OnnxMl.ModelProto.Builder withMap = trained.toBuilder();
        final String firstMap = trained.getGraph().getNode(0).getOutput(0);
        withMap.getGraphBuilder().addOutput(OnnxMl.ValueInfoProto.newBuilder().setName(firstMap));
        final Path mapModel = dir.resolve("with-map.onnx");
        Files.write(mapModel, withMap.build().toByteArray());
        assertError(cli("exits", "--model", mapModel.toString(), "--data", data, "--limit", "5", "--exits",
            "exit0," + firstMap), "not a class vector [1, C]");
        assertError(cli("exits", "--model", FashionSlice.model().toString(), "--data", data, "--limit", "5",
            "--exits", "exit0,side", "--out", dir.resolve("x.json").toString()), "names output 'side'");

        final OnnxMl.ModelProto.Builder wide = trained.toBuilder();
        wide.getGraphBuilder().getInputBuilder(0).getTypeBuilder().getTensorTypeBuilder().getShapeBuilder()
            .getDimBuilder(3).setDimValue(32);
        final Path wideModel = dir.resolve("wide.onnx");
        Files.write(wideModel, wide.build().toByteArray());
        assertError(cli("exits", "--model", wideModel.toString(), "--data", data, "--limit", "5"),
            "takes dims [1, 1, 28, 32], the images are [1, 1, 28, 28]");
        assertError(cli("exits", "--model", FashionSlice.model().toString(), "--data", data, "--limit", "0"),
            "--limit");
    }

    @Test
    void shouldRunOneExitMatchingOnnxRuntime() throws Exception
    {
        final float[] image = FashionSlice.images(5)[4];
        final Path input = dir.resolve("image.npy");
        TensorFiles.write(input, new HostTensor("input", IMAGE_DIMS, image));
        final OrtReference.Result ref = OrtReference.run(FashionSlice.model(), List.of(image), List.of(IMAGE_DIMS),
            1);
        for (int k = 0; k < 3; k++)
        {
            final Path output = dir.resolve("exit" + k + ".npy");
            final Result r = cli("run", "--model", FashionSlice.model().toString(), "--input", input.toString(),
                "--exit", Integer.toString(k), "--output", output.toString(), "--json");
            assertEquals(0, r.code, r.err);
            assertTrue(r.out.contains("\"exit\": " + k) && r.out.contains("\"name\": \"exit" + k + "\""), r.out);
            final float[] out = TensorFiles.read(output).data();
            final float[] expected = ref.data("exit" + k);
            double maxRef = 0;
            double maxErr = 0;
            for (int i = 0; i < out.length; i++)
            {
                maxRef = Math.max(maxRef, Math.abs(expected[i]));
                maxErr = Math.max(maxErr, Math.abs(expected[i] - out[i]));
            }
            assertEquals(expected.length, out.length);
            assertTrue(maxErr / maxRef <= 1e-4, "exit " + k + ": relative error " + maxErr / maxRef);
        }
        final String model = FashionSlice.model().toString();
        assertError(cli("run", "--model", model, "--input", input.toString(), "--exit", "3"), "no exit 3");

        final Path bare = dir.resolve("bare.onnx");
        Files.copy(FashionSlice.model(), bare);
        assertError(cli("run", "--model", bare.toString(), "--input", input.toString(), "--exit", "0"),
            "has no exit sidecar");
        Files.writeString(ExitTable.sidecarOf(bare), "{\"format\": \"coedge-exits/1\", \"exits\": [}");
        assertError(cli("run", "--model", bare.toString(), "--input", input.toString(), "--exit", "0"),
            "exit sidecar " + ExitTable.sidecarOf(bare));
    }

    @Test
    void shouldWriteBranchyResNet18WithARandomWeightsSidecar()
    {
        final Result r = cli("zoo", "--out", dir.toString(), "--name", "branchy-resnet18");
        assertEquals(0, r.code, r.err);
        final Path model = dir.resolve("branchy-resnet18.onnx");
        final ExitTable table = ExitTable.forModel(model);
        assertEquals(ExitTable.RANDOM, table.weights());
        assertEquals(3, table.size());
        for (final ExitTable.Exit e : table.exits())
        {
            assertNull(e.top1());
            assertEquals(0, e.samples());
        }
        assertArrayEquals(new int[] {0, 1, 2},
            table.outputIndices(org.coedge.engine.api.Model.load(model).outputNames()));
    }

    private void assertBadData(final Path data, final String expected)
    {
        assertError(cli("exits", "--model", FashionSlice.model().toString(), "--data", data.toString(), "--out",
            dir.resolve("never.exits.json").toString()), expected);
        assertTrue(Files.notExists(dir.resolve("never.exits.json")), "a sidecar was written for " + data);
    }

    private static void assertError(final Result r, final String expected)
    {
        assertEquals(CoEdgeCli.EXIT_BAD_INPUT, r.code, r.err + r.out);
        assertTrue(r.err.startsWith("coedge: error: ") && r.err.contains(expected), r.err);
        assertEquals(1, r.err.strip().lines().count(), r.err);
    }

    private static void writeIdx(final Path file, final int magic, final int[] dims, final byte[] data,
        final int length) throws IOException
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes))
        {
            out.writeInt(magic);
            for (final int d : dims)
            {
                out.writeInt(d);
            }
            out.write(data, 0, length);
        }
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file)))
        {
            out.write(bytes.toByteArray());
        }
    }

    private static int argmax(final float[] scores)
    {
        int best = 0;
        for (int i = 1; i < scores.length; i++)
        {
            if (scores[i] > scores[best])
            {
                best = i;
            }
        }
        return best;
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
