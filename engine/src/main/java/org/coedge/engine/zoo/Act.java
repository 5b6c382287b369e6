package org.coedge.engine.zoo;

/**
 * A named activation while a zoo model is being defined, with its shape (batch 1, NCHW): the value a builder call
 * consumes and the one it produces. After {@code Flatten} the features sit in {@code channels} with height and
 * width 1. Immutable; used on the defining thread only.
 */
record Act(String name, int channels, int height, int width)
{
    /** @return number of elements per batch item: what a {@code Gemm} after {@code Flatten} sees as its fan-in. */
    int features()
    {
        return channels * height * width;
    }
}
