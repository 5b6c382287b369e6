package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;

/**
 * VGG-16 (Simonyan and Zisserman 2015, configuration D): thirteen 3x3 convolutions with ReLU in five stages ending
 * in a 2x2 max pool, then three fully-connected layers (about 138 million parameters). Stateless; called by
 * {@link ModelZoo}.
 */
final class Vgg16
{
    private static final int[][] STAGES = { { 64, 64 }, { 128, 128 }, { 256, 256, 256 }, { 512, 512, 512 },
        { 512, 512, 512 } };

    private Vgg16()
    {
    }

    static ModelProto define(final ZooGraphBuilder b, final double headGain)
    {
        Act x = b.input(3, 224, 224);
        for (int stage = 0; stage < STAGES.length; stage++)
        {
            final int[] widths = STAGES[stage];
            for (int i = 0; i < widths.length; i++)
            {
                final String name = "conv" + (stage + 1) + "_" + (i + 1);
                x = b.relu(name + ".relu", b.conv(name, x, widths[i], 3, 1, 1, 1, true, ZooGraphBuilder.RELU_GAIN));
            }
            x = b.maxPool("pool" + (stage + 1), x, 2, 2, 0, false);
        }
        x = b.flatten("flatten", x);
        x = b.relu("fc6.relu", b.gemm("fc6", x, 4096, ZooGraphBuilder.RELU_GAIN));
        x = b.relu("fc7.relu", b.gemm("fc7", x, 4096, ZooGraphBuilder.RELU_GAIN));
        return b.finish(b.gemm("fc8", x, 1000, headGain));
    }
}
