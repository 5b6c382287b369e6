package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every zoo model loads in ONNX Runtime and gives logits fit to compare against at a relative tolerance. */
class ModelZooOrtTest
{
    private static final int THREADS = 2;

    static List<String> names()
    {
        return ModelZoo.names();
    }

    @ParameterizedTest
    @MethodSource("names")
    void shouldRunInOnnxRuntimeWithWellConditionedLogits(final String name)
    {
        final OrtReference.Result first;
        final OrtReference.Result second;
        final OrtReference.Result again;
        try (OrtReference.Loaded loaded = OrtReference.open(ModelZoo.build(name), THREADS))
        {
            assertEquals(List.of("input"), loaded.inputNames());
            assertEquals(List.of("output"), loaded.outputNames());
            first = loaded.run(List.of(ModelZoo.randomInput(1)), List.of(ModelZoo.inputDims()));
            second = loaded.run(List.of(ModelZoo.randomInput(2)), List.of(ModelZoo.inputDims()));
            again = loaded.run(List.of(ModelZoo.randomInput(1)), List.of(ModelZoo.inputDims()));
        }

        assertArrayEquals(ModelZoo.outputDims(), first.dims("output"));
        final float[] logits = first.data(0);
        double sum = 0;
        double sumSquares = 0;
        double maxAbs = 0;
        double differenceSquares = 0;
        final float[] other = second.data(0);
        for (int i = 0; i < logits.length; i++)
        {
            assertTrue(Float.isFinite(logits[i]) && Float.isFinite(other[i]), name + " logit " + i);
            sum += logits[i];
            sumSquares += (double)logits[i] * logits[i];
            maxAbs = Math.max(maxAbs, Math.abs(logits[i]));
            differenceSquares += (double)(logits[i] - other[i]) * (logits[i] - other[i]);
        }
        final double mean = sum / logits.length;
        final double std = Math.sqrt(sumSquares / logits.length - mean * mean);
        final double differenceRms = Math.sqrt(differenceSquares / logits.length);

        assertTrue(std > 1.0 && std < 10.0, name + " logits std " + std);
        assertTrue(maxAbs < 100.0, name + " max |logit| " + maxAbs);
        // The logits must depend on the input, not only on the biases. After global pooling of an i.i.d. noise
        // input most of the spread is common to every such input: another input moves the logits by 2.5% (GoogLeNet)
        // to 20% (AlexNet) of their spread.
        assertTrue(differenceRms > 0.01 * std, name + " input changes logits by rms " + differenceRms);
        assertArrayEquals(logits, again.data(0), name + " is not deterministic in ONNX Runtime");
    }

    @Test
    void shouldMakeTheLrnSquaredSumMatterBeyondTheTolerance()
    {
        final ModelProto model = ModelZoo.model("googlenet");
        final ModelProto.Builder weakened = model.toBuilder();
        for (final NodeProto.Builder node : weakened.getGraphBuilder().getNodeBuilderList())
        {
            for (final AttributeProto.Builder attribute : node.getAttributeBuilderList())
            {
                if (node.getOpType().equals("LRN") && attribute.getName().equals("alpha"))
                {
                    // ONNX Runtime insists on alpha > 0; this small a value drops the squared-sum term.
                    attribute.setF(1e-12f);
                }
            }
        }

        // An engine that got the squared sum wrong would fail the 1e-4 comparison by a wide margin.
        assertTrue(relativeChange(model, weakened.build()) > 1e-2);
    }

    @Test
    void shouldMakeTheReluSixUpperBoundMatterBeyondTheTolerance()
    {
        final ModelProto model = ModelZoo.model("mobilenetv2");
        final ModelProto.Builder unbounded = model.toBuilder();
        for (final TensorProto.Builder initializer : unbounded.getGraphBuilder().getInitializerBuilderList())
        {
            if (initializer.getName().equals("relu6.max"))
            {
                final ByteBuffer huge = ByteBuffer.allocate(Float.BYTES).order(ByteOrder.LITTLE_ENDIAN).putFloat(1e30f);
                initializer.setRawData(ByteString.copyFrom(huge.array()));
            }
        }

        assertTrue(relativeChange(model, unbounded.build()) > 1e-2);
    }

    /** @return max |a - b| / max |a| over the logits of the two models on the same input. */
    private static double relativeChange(final ModelProto a, final ModelProto b)
    {
        final List<float[]> input = List.of(ModelZoo.randomInput(1));
        final List<long[]> dims = List.of(ModelZoo.inputDims());
        final float[] expected = OrtReference.run(a.toByteArray(), input, dims, THREADS).data(0);
        final float[] actual = OrtReference.run(b.toByteArray(), input, dims, THREADS).data(0);
        double maxError = 0;
        double maxReference = 0;
        for (int i = 0; i < expected.length; i++)
        {
            maxError = Math.max(maxError, Math.abs(expected[i] - actual[i]));
            maxReference = Math.max(maxReference, Math.abs(expected[i]));
        }
        return maxError / maxReference;
    }
}
