package org.coedge.planner;

/**
 * The class of kernel a layer runs, which is what its time depends on beyond its FLOPs and bytes: each device's
 * latency model fits one regression per kind. Set by the engine when it describes a model to the planner
 * ({@link LayerGraph.Builder#describe}); {@link #OTHER} when it does not say.
 */
public enum LayerKind
{
    /** A model input: no compute. */
    SOURCE,
    /** Convolution with a 1x1 kernel, stride 1 (one GEMM, no im2col). */
    CONV_1X1,
    /** Convolution with a 3x3 kernel, stride 1 (im2col + GEMM or Winograd). */
    CONV_3X3,
    /** Convolution with a larger kernel, or a dilated one, stride 1. */
    CONV_LARGE,
    /** Convolution with stride > 1 (often the first layer, with few input channels). */
    CONV_STRIDED,
    /** Depthwise or grouped convolution. */
    DEPTHWISE,
    /** Transposed convolution. */
    CONV_TRANSPOSED,
    /** Max or average pooling over a window. */
    POOL,
    /** Pointwise work: activations, additions, normalization, concatenation. */
    ELEMENTWISE,
    /** Resize / upsample. */
    RESIZE,
    /** Global pooling, flatten and other layers that read every row. */
    GLOBAL,
    /** Fully-connected (Gemm / MatMul with constant weights). */
    FULLY_CONNECTED,
    /** Anything else. */
    OTHER
}
