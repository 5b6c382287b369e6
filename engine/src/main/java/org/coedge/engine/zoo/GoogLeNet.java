package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;

import java.util.List;

/**
 * GoogLeNet, Inception v1 (Szegedy et al. 2015, table 1): a stem of 7x7/2 conv, max pool, LRN, 1x1 and 3x3 convs
 * and LRN again, nine inception blocks whose four branches (1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then 1x1)
 * are concatenated on channels, max pools in ceil mode as in the original Caffe model, a 7x7 average pool and one
 * fully-connected layer. The auxiliary classifiers and dropout exist only for training and are left out.
 * Stateless; called by {@link ModelZoo}.
 */
final class GoogLeNet
{
    private static final int LRN_SIZE = 5;
    private static final float LRN_ALPHA = 1e-4f;
    private static final float LRN_BETA = 0.75f;
    /**
     * Extra gain of the first convolution. The original model takes mean-subtracted pixels (about +-128), so the
     * activations reaching its LRNs are large enough for the squared-sum term to matter; this puts an input in
     * [-1, 1) on a comparable scale, where that term changes the logits by several percent (AlexNet) to tens of
     * percent (GoogLeNet) instead of less than the comparison tolerance.
     */
    private static final double PIXEL_SCALE = 30.0;
    private static final float LRN_BIAS = 1.0f;

    private GoogLeNet()
    {
    }

    static ModelProto define(final ZooGraphBuilder b, final double headGain)
    {
        Act x = b.input(3, 224, 224);
        x = b.relu("conv1.relu",
            b.conv("conv1", x, 64, 7, 2, 3, 1, true, ZooGraphBuilder.RELU_GAIN * PIXEL_SCALE));
        x = b.maxPool("pool1", x, 3, 2, 0, true);
        x = b.lrn("pool1.lrn", x, LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_BIAS);
        x = convRelu(b, "conv2_reduce", x, 64, 1, 1, 0);
        x = convRelu(b, "conv2", x, 192, 3, 1, 1);
        x = b.lrn("conv2.lrn", x, LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_BIAS);
        x = b.maxPool("pool2", x, 3, 2, 0, true);
        x = inception(b, "inception_3a", x, 64, 96, 128, 16, 32, 32);
        x = inception(b, "inception_3b", x, 128, 128, 192, 32, 96, 64);
        x = b.maxPool("pool3", x, 3, 2, 0, true);
        x = inception(b, "inception_4a", x, 192, 96, 208, 16, 48, 64);
        x = inception(b, "inception_4b", x, 160, 112, 224, 24, 64, 64);
        x = inception(b, "inception_4c", x, 128, 128, 256, 24, 64, 64);
        x = inception(b, "inception_4d", x, 112, 144, 288, 32, 64, 64);
        x = inception(b, "inception_4e", x, 256, 160, 320, 32, 128, 128);
        x = b.maxPool("pool4", x, 3, 2, 0, true);
        x = inception(b, "inception_5a", x, 256, 160, 320, 32, 128, 128);
        x = inception(b, "inception_5b", x, 384, 192, 384, 48, 128, 128);
        x = b.averagePool("pool5", x, 7, 1);
        x = b.flatten("flatten", x);
        return b.finish(b.gemm("loss3_classifier", x, 1000, headGain));
    }

    private static Act inception(
        final ZooGraphBuilder b,
        final String name,
        final Act x,
        final int out1x1,
        final int reduce3x3,
        final int out3x3,
        final int reduce5x5,
        final int out5x5,
        final int poolProjection)
    {
        final Act branch1 = convRelu(b, name + ".1x1", x, out1x1, 1, 1, 0);
        final Act branch2 = convRelu(b, name + ".3x3", convRelu(b, name + ".3x3_reduce", x, reduce3x3, 1, 1, 0),
            out3x3, 3, 1, 1);
        final Act branch3 = convRelu(b, name + ".5x5", convRelu(b, name + ".5x5_reduce", x, reduce5x5, 1, 1, 0),
            out5x5, 5, 1, 2);
        final Act branch4 = convRelu(b, name + ".pool_proj", b.maxPool(name + ".pool", x, 3, 1, 1, true),
            poolProjection, 1, 1, 0);
        return b.concat(name + ".output", List.of(branch1, branch2, branch3, branch4));
    }

    private static Act convRelu(
        final ZooGraphBuilder b, final String name, final Act x, final int out, final int kernel, final int stride,
        final int pad)
    {
        return b.relu(name + ".relu", b.conv(name, x, out, kernel, stride, pad, 1, true, ZooGraphBuilder.RELU_GAIN));
    }
}
