package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;

/**
 * ResNet-18 (He et al. 2016): a 7x7/2 stem with batch normalisation and a 3x3/2 max pool, four stages of two basic
 * blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, residual Add, ReLU) where the first block of stages 2-4 halves the map
 * and projects its shortcut with a 1x1/2 conv and BN, then global average pooling and one fully-connected layer.
 * Convolutions carry no bias, as BN follows each. Stateless; called by {@link ModelZoo}.
 */
final class ResNet18
{
    private static final int[] STAGE_WIDTHS = { 64, 128, 256, 512 };
    private static final int BLOCKS_PER_STAGE = 2;
    /**
     * Scale of the last BN in each residual branch: keeps the variance the eight Adds accumulate to a few times
     * the stem's instead of 2^8 times.
     */
    private static final double BRANCH_GAMMA = 0.5;

    private ResNet18()
    {
    }

    static final int STAGES = STAGE_WIDTHS.length;

    static ModelProto define(final ZooGraphBuilder b, final double headGain)
    {
        Act x = stem(b);
        for (int stage = 0; stage < STAGES; stage++)
        {
            x = stage(b, x, stage);
        }
        x = b.globalAveragePool("avgpool", x);
        x = b.flatten("flatten", x);
        return b.finish(b.gemm("fc", x, 1000, headGain));
    }

    /** The 7x7/2 convolution, BN, ReLU and 3x3/2 max pool before the stages. */
    static Act stem(final ZooGraphBuilder b)
    {
        Act x = b.input(3, 224, 224);
        x = b.conv("conv1", x, 64, 7, 2, 3, 1, false, ZooGraphBuilder.RELU_GAIN);
        x = b.relu("conv1.relu", b.batchNorm("bn1", x, 1.0));
        return b.maxPool("maxpool", x, 3, 2, 1, false);
    }

    /** Stage {@code stage} (0-3): its two basic blocks, the first halving the map from stage 1 on. */
    static Act stage(final ZooGraphBuilder b, final Act in, final int stage)
    {
        Act x = in;
        for (int block = 0; block < BLOCKS_PER_STAGE; block++)
        {
            final int stride = stage > 0 && block == 0 ? 2 : 1;
            x = basicBlock(b, "layer" + (stage + 1) + "." + block, x, STAGE_WIDTHS[stage], stride);
        }
        return x;
    }

    private static Act basicBlock(
        final ZooGraphBuilder b, final String name, final Act x, final int width, final int stride)
    {
        Act y = b.conv(name + ".conv1", x, width, 3, stride, 1, 1, false, ZooGraphBuilder.RELU_GAIN);
        y = b.relu(name + ".relu1", b.batchNorm(name + ".bn1", y, 1.0));
        y = b.conv(name + ".conv2", y, width, 3, 1, 1, 1, false, ZooGraphBuilder.RELU_GAIN);
        y = b.batchNorm(name + ".bn2", y, BRANCH_GAMMA);
        Act shortcut = x;
        if (stride != 1 || x.channels() != width)
        {
            shortcut = b.conv(name + ".downsample.conv", x, width, 1, stride, 0, 1, false, ZooGraphBuilder.RELU_GAIN);
            shortcut = b.batchNorm(name + ".downsample.bn", shortcut, 1.0);
        }
        return b.relu(name + ".relu2", b.add(name + ".add", y, shortcut));
    }
}
