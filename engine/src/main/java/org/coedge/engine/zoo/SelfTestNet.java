package org.coedge.engine.zoo;

import java.util.List;

/**
 * The small model {@code coedge selftest} runs end to end on a new board (and writes for a cooperative check):
 * 3 x 64 x 64 in, 10 logits out, 6.3 MFLOPs (milliseconds on a Pi-class board, and enough rows to split over a few
 * devices), built like the zoo's models with deterministic random weights. It has one of each structure the engine
 * lowers differently: a 3x3 convolution with batch normalisation folded in and a fused ReLU, max pooling, a depthwise
 * convolution with ReLU6, a 1x1 and a strided convolution, a residual Add, a channel Concat, average and global
 * average pooling, and a fully-connected head. Stateless; any thread.
 */
public final class SelfTestNet
{
    /** Input dims, NCHW. */
    public static final long[] INPUT_DIMS = { 1, 3, 64, 64 };

    private static final long SEED = 0x5e1f7e57L;

    private SelfTestNet()
    {
    }

    /** @return the serialised ONNX model, the same bytes every time. */
    public static byte[] build()
    {
        final ZooGraphBuilder b = new ZooGraphBuilder("selftest", SEED);
        Act x = b.input(3, 64, 64);
        x = b.conv("stem", x, 16, 3, 1, 1, 1, false, ZooGraphBuilder.RELU_GAIN);
        x = b.relu("stem.relu", b.batchNorm("stem.bn", x, 1.0));
        x = b.maxPool("pool", x, 3, 2, 1, false);
        Act y = b.conv("dw", x, 16, 3, 1, 1, 16, true, ZooGraphBuilder.RELU_GAIN);
        y = b.relu6("dw.relu6", y);
        y = b.conv("pw", y, 16, 1, 1, 0, 1, true, ZooGraphBuilder.LINEAR_GAIN);
        x = b.relu("res.relu", b.add("res", x, y));
        final Act left = b.conv("down", x, 24, 3, 2, 1, 1, true, ZooGraphBuilder.RELU_GAIN);
        final Act right = b.averagePool("avg", x, 2, 2);
        x = b.concat("cat", List.of(b.relu("down.relu", left), right));
        x = b.globalAveragePool("gap", x);
        x = b.flatten("flatten", x);
        return b.finish(b.gemm("fc", x, 10, ZooGraphBuilder.LINEAR_GAIN)).toByteArray();
    }
}
