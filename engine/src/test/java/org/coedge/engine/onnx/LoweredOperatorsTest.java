package org.coedge.engine.onnx;

import java.util.List;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.graph.ModelException;
import org.junit.jupiter.api.Test;

import static org.coedge.engine.onnx.ModelBuilder.intsAttr;
import static org.coedge.engine.onnx.ModelBuilder.stringAttr;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs one-operator models through import, folding, lowering and the kernels, checking values worked out by hand. */
class LoweredOperatorsTest
{
    private static final float TOLERANCE = 1e-6f;

    private static float[] run(final ModelBuilder model, final float[] input)
    {
        try (Session session = Model.load(model.bytes(), "test.onnx").newSession(SessionOptions.threads(1)))
        {
            session.setInput(0, input);
            session.run();
            return session.output(0);
        }
    }

    @Test
    void shouldResizeWithTfHalfPixelForNearestCoordinates()
    {
        // Width 4 -> 2: x_original = (x + 0.5) / 0.5 = 1 and 3 (half_pixel would give 0.5 and 2.5, so 0 and 2).
        final ModelBuilder model = new ModelBuilder(13)
            .input("x", 1, 1, 1, 4).output("y", 1, 1, 1, 2)
            .ints("sizes", 1, 1, 1, 2)
            .node("Resize", "resize", List.of("x", "", "", "sizes"), List.of("y"),
                stringAttr("coordinate_transformation_mode", "tf_half_pixel_for_nn"));

        assertArrayEquals(new float[]{2, 4}, run(model, new float[]{1, 2, 3, 4}), TOLERANCE);
    }

    @Test
    void shouldLeaveConvTransposeRowsBeyondComputedToBias()
    {
        // A 1x1 kernel of 2 over 2x2 computes 2x2; output_shape 3x3 adds a row and a column that only get the bias.
        final ModelBuilder model = new ModelBuilder(13)
            .input("x", 1, 1, 2, 2).output("y", 1, 1, 3, 3)
            .weights("w", new long[]{1, 1, 1, 1}, new float[]{2})
            .weights("b", new long[]{1}, new float[]{0.5f})
            .node("ConvTranspose", "deconv", List.of("x", "w", "b"), List.of("y"), intsAttr("output_shape", 3, 3));

        assertArrayEquals(new float[]{2.5f, 4.5f, 0.5f, 6.5f, 8.5f, 0.5f, 0.5f, 0.5f, 0.5f},
            run(model, new float[]{1, 2, 3, 4}), TOLERANCE);
    }

    @Test
    void shouldApplyPreluSlopePerChannel()
    {
        final ModelBuilder model = new ModelBuilder(13)
            .input("x", 1, 2, 1, 2).output("y", 1, 2, 1, 2)
            .weights("slope", new long[]{2, 1, 1}, new float[]{0.5f, 0.25f})
            .node("PRelu", "prelu", List.of("x", "slope"), List.of("y"));

        assertArrayEquals(new float[]{-0.5f, -1f, -0.75f, 4f}, run(model, new float[]{-1, -2, -3, 4}), TOLERANCE);
    }

    @Test
    void shouldApplyPreluSlopeThatRunsAlongWidth()
    {
        // Numpy broadcasting puts a [2] slope on W, not on the channels, even where W equals C: NCHW order
        // (c0: -1, -2), (c1: -3, 4) takes slopes 0.5 and 0.25 by column.
        final ModelBuilder model = new ModelBuilder(13)
            .input("x", 1, 2, 1, 2).output("y", 1, 2, 1, 2)
            .weights("slope", new long[]{2}, new float[]{0.5f, 0.25f})
            .node("PRelu", "prelu", List.of("x", "slope"), List.of("y"));

        assertArrayEquals(new float[]{-0.5f, -0.5f, -1.5f, 4f}, run(model, new float[]{-1, -2, -3, 4}), TOLERANCE);
    }
}
