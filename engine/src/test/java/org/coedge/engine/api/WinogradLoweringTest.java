package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.coedge.engine.exec.Layer;
import org.coedge.engine.exec.Lowering;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.zoo.ModelZoo;
import org.junit.jupiter.api.Test;

/**
 * The lowering picks Winograd F(4x4, 3x3) for ResNet-18's 3x3 stride-1 layers on 56x56 and 28x28 maps and keeps
 * im2col on the 14x14 and 7x7 ones (where Winograd measured slower); with the option off it uses none. Both ways the
 * model matches ONNX Runtime on the same file and input within max abs error / max |reference| <= 1e-4.
 */
class WinogradLoweringTest
{
    @Test
    void shouldUseWinogradWhereChosenAndMatchOnnxRuntimeEitherWay()
    {
        final byte[] bytes = ModelZoo.build("resnet18");
        final Model model = Model.load(bytes, "resnet18");
        final PreparedModel on = model.prepare(Map.of(), Lowering.RowWindows.FULL, true);
        final PreparedModel off = model.prepare(Map.of(), Lowering.RowWindows.FULL, false);
        int winograd = 0;
        for (final Layer layer : on.layers())
        {
            if (layer.opType().startsWith("WinogradConv"))
            {
                winograd++;
                assertTrue(layer.output().shape().height() >= 24, layer + " is on a small map");
            }
        }
        // layer1 (4 convs at 56x56) and layer2's three stride-1 convs at 28x28
        assertEquals(7, winograd, "Winograd layers");
        assertTrue(off.layers().stream().noneMatch(l -> l.opType().startsWith("WinogradConv")));

        final long[] dims = {1, 3, 224, 224};
        final float[] input = OracleSupport.randomInput(18, 3 * 224 * 224);
        final float[] reference = OrtReference.run(bytes, List.of(input), List.of(dims), 1).data(0);
        for (final boolean allowed : new boolean[] {true, false})
        {
            try (Session session = model.newSession(SessionOptions.threads(1).withWinograd(allowed)))
            {
                session.setInput(0, input);
                session.run();
                final double rel = OracleSupport.assertClose(reference, session.output(0), "winograd " + allowed);
                System.out.printf("resnet18, Winograd %s: max abs error / max |ref| = %.3g%n", allowed, rel);
            }
        }
    }
}
