package org.coedge.engine.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.zoo.SelfTestNet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code coedge selftest} passes here, and its oracle is right: the node-by-node reference evaluation it checks the
 * engine against agrees with ONNX Runtime on the same model file and input.
 */
final class SelfTestCommandTest
{
    @TempDir
    Path dir;

    @Test
    void shouldPassAndWriteItsModel() throws Exception
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final int code = CoEdgeCli.execute(new String[]{ "selftest", "--write-model", dir.toString() },
            new PrintWriter(out, true), new PrintWriter(err, true));
        final String text = out.toString();
        assertEquals(0, code, text + err);
        final String[] lines = text.trim().split("\n");
        assertEquals("PASS", lines[lines.length - 1], text);
        assertTrue(text.contains("openblas: ") && text.contains("sgemm 256x256x256: "), text);
        assertEquals(17, text.lines().filter(l -> l.startsWith("kernel ") && l.endsWith("  ok")).count(), text);
        assertTrue(Files.size(dir.resolve("selftest.onnx")) > 0, "model written");

        final HostTensor input = TensorFiles.read(dir.resolve("selftest-input.npy"));
        assertArrayEquals(SelfTestNet.INPUT_DIMS, input.dims());
        final byte[] model = Files.readAllBytes(dir.resolve("selftest.onnx"));
        final OrtReference.Result ort = OrtReference.run(model, List.of(input.data()), List.of(input.dims()), 1);
        final float[] reference = SelfTestModel.evaluate(model, input.dims(), input.data());
        final float[] expected = ort.data(0);
        assertEquals(expected.length, reference.length);
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++)
        {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Math.abs(expected[i] - reference[i]));
        }
        assertTrue(maxRef > 0 && maxErr / maxRef <= 1e-5, "reference evaluation vs ONNX Runtime: " + maxErr / maxRef);
    }
}
