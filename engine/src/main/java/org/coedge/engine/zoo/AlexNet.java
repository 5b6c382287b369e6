package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;

/**
 * AlexNet (Krizhevsky et al. 2012) as one tower: five convolutions with local response normalisation after the
 * first two as in the paper, three max pools, and three fully-connected layers; no dropout (inference only).
 * Stateless; called by {@link ModelZoo}.
 */
final class AlexNet
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
    private static final float LRN_BIAS = 2.0f;

    private AlexNet()
    {
    }

    static ModelProto define(final ZooGraphBuilder b, final double headGain)
    {
        Act x = b.input(3, 224, 224);
        x = b.relu("conv1.relu", b.conv("conv1", x, 96, 11, 4, 2, 1, true, ZooGraphBuilder.RELU_GAIN * PIXEL_SCALE));
        x = b.lrn("conv1.lrn", x, LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_BIAS);
        x = b.maxPool("pool1", x, 3, 2, 0, false);
        x = b.relu("conv2.relu", b.conv("conv2", x, 256, 5, 1, 2, 1, true, ZooGraphBuilder.RELU_GAIN));
        x = b.lrn("conv2.lrn", x, LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_BIAS);
        x = b.maxPool("pool2", x, 3, 2, 0, false);
        x = b.relu("conv3.relu", b.conv("conv3", x, 384, 3, 1, 1, 1, true, ZooGraphBuilder.RELU_GAIN));
        x = b.relu("conv4.relu", b.conv("conv4", x, 384, 3, 1, 1, 1, true, ZooGraphBuilder.RELU_GAIN));
        x = b.relu("conv5.relu", b.conv("conv5", x, 256, 3, 1, 1, 1, true, ZooGraphBuilder.RELU_GAIN));
        x = b.maxPool("pool5", x, 3, 2, 0, false);
        x = b.flatten("flatten", x);
        x = b.relu("fc6.relu", b.gemm("fc6", x, 4096, ZooGraphBuilder.RELU_GAIN));
        x = b.relu("fc7.relu", b.gemm("fc7", x, 4096, ZooGraphBuilder.RELU_GAIN));
        return b.finish(b.gemm("fc8", x, 1000, headGain));
    }
}
