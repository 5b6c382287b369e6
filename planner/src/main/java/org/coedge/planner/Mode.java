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
    SINGLE_DEVICE
}
