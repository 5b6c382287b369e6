package org.coedge.planner;

/**
 * How the devices of a {@link Stage} share its layers.
 */
public enum Mode
{
    /**
     * Every layer is split by rows and neighbours exchange halo rows after every layer (CoEdge, MoDNN).
     */
    PER_LAYER,

    /**
     * Each device computes the whole block from a wider input, with no exchange inside the block (DeepThings, AOFL).
     */
    FUSED,

    /**
     * One device computes every row of the stage, e.g. the fully-connected head or an Edgent split.
     */
    SINGLE_DEVICE,

    /**
     * A run of fully-connected layers on a batch-1 vector, split by output features (MoDNN): each device computes a
     * contiguous slice of each layer's output features from the whole input vector and holds only that slice of the
     * weights; the slices are gathered onto every device that reads them next. The stage's ranges are feature
     * ranges over {@code [0, channels)} of each layer's {@code 1 x 1 x C} output, not row ranges
     * ({@link Stage#features}).
     */
    FEATURES
}
