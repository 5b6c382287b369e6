package org.coedge.engine.zoo;

import java.util.ArrayList;
import java.util.List;

import ai.onnx.proto.OnnxMl.ModelProto;

/**
 * A multi-exit ResNet-18 (BranchyNet style): {@link ResNet18}'s trunk with two side branches, after stage 2
 * (128 x 28 x 28) and after stage 3 (256 x 14 x 14), each a global average pool, a flatten and one fully-connected
 * layer to 1000 classes, and the network's own classifier as the last exit. Graph outputs {@code exit0},
 * {@code exit1} and {@code exit2}, each [1, 1000], in that order. Random weights: the exits have no accuracy, only a
 * cost. Stateless; called by {@link ModelZoo}.
 */
final class BranchyResNet18
{
    /** The graph outputs, earliest exit first. */
    static final List<String> EXITS = List.of("exit0", "exit1", "exit2");

    private BranchyResNet18()
    {
    }

    static ModelProto define(final ZooGraphBuilder b, final double headGain)
    {
        final List<Act> exits = new ArrayList<>();
        Act x = ResNet18.stem(b);
        for (int stage = 0; stage < ResNet18.STAGES; stage++)
        {
            x = ResNet18.stage(b, x, stage);
            if (stage == 1 || stage == 2)
            {
                exits.add(head(b, "exit" + exits.size() + ".", x, headGain));
            }
        }
        exits.add(head(b, "", x, headGain));
        return b.finishExits(exits, EXITS);
    }

    private static Act head(final ZooGraphBuilder b, final String prefix, final Act x, final double gain)
    {
        final Act pooled = b.globalAveragePool(prefix + "avgpool", x);
        return b.gemm(prefix + "fc", b.flatten(prefix + "flatten", pooled), ModelZoo.CLASSES, gain);
    }
}
