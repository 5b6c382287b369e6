package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;

/**
 * MobileNetV2 (Sandler et al. 2018, table 2, width 1.0): a 3x3/2 stem, seventeen inverted residual blocks
 * (1x1 expansion, BN, ReLU6; 3x3 depthwise conv with {@code group = channels}, BN, ReLU6; linear 1x1 projection, BN;
 * residual Add where stride is 1 and widths match), a 1x1 conv to 1280 channels, global average pooling and one
 * fully-connected layer. ReLU6 is {@code Clip(0, 6)}. Stateless; called by {@link ModelZoo}.
 */
final class MobileNetV2
{
    /** Rows of (expansion t, output channels c, repeats n, first stride s). */
    private static final int[][] SETTINGS = { { 1, 16, 1, 1 }, { 6, 24, 2, 2 }, { 6, 32, 3, 2 }, { 6, 64, 4, 2 },
        { 6, 96, 3, 1 }, { 6, 160, 3, 2 }, { 6, 320, 1, 1 } };
    /** Scale of the projection BN in blocks with a residual Add, for the reason given in {@link ResNet18}. */
    private static final double RESIDUAL_GAMMA = 0.5;
    /**
     * Gain of the stem convolution: puts the pre-activations' standard deviation near 4 for an input in [-1, 1), so
     * that a few percent of the ReLU6 inputs exceed 6 and the upper clip bound matters; He gains keep that scale
     * through the blocks.
     */
    private static final double STEM_GAIN = 7.0;

    private MobileNetV2()
    {
    }

    static ModelProto define(final ZooGraphBuilder b, final double headGain)
    {
        Act x = b.input(3, 224, 224);
        x = convBnRelu6(b, "stem", x, 32, 3, 2, 1, STEM_GAIN);
        int block = 0;
        for (final int[] setting : SETTINGS)
        {
            for (int i = 0; i < setting[2]; i++)
            {
                x = invertedResidual(b, "block" + block, x, setting[0], setting[1], i == 0 ? setting[3] : 1);
                block++;
            }
        }
        x = convBnRelu6(b, "head", x, 1280, 1, 1, 1, ZooGraphBuilder.RELU_GAIN);
        x = b.globalAveragePool("avgpool", x);
        x = b.flatten("flatten", x);
        return b.finish(b.gemm("classifier", x, 1000, headGain));
    }

    private static Act invertedResidual(
        final ZooGraphBuilder b, final String name, final Act x, final int expansion, final int out, final int stride)
    {
        final boolean residual = stride == 1 && x.channels() == out;
        final int hidden = x.channels() * expansion;
        Act y = x;
        if (expansion != 1)
        {
            y = convBnRelu6(b, name + ".expand", y, hidden, 1, 1, 1, ZooGraphBuilder.RELU_GAIN);
        }
        y = convBnRelu6(b, name + ".depthwise", y, hidden, 3, stride, hidden, ZooGraphBuilder.RELU_GAIN);
        y = b.conv(name + ".project", y, out, 1, 1, 0, 1, false, ZooGraphBuilder.LINEAR_GAIN);
        y = b.batchNorm(name + ".project.bn", y, residual ? RESIDUAL_GAMMA : 1.0);
        return residual ? b.add(name + ".add", x, y) : y;
    }

    private static Act convBnRelu6(
        final ZooGraphBuilder b, final String name, final Act x, final int out, final int kernel, final int stride,
        final int group,
        final double gain)
    {
        final Act y = b.conv(name, x, out, kernel, stride, kernel / 2, group, false, gain);
        return b.relu6(name + ".relu6", b.batchNorm(name + ".bn", y, 1.0));
    }
}
