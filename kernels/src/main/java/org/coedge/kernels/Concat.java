package org.coedge.kernels;

import java.nio.FloatBuffer;

/**
 * ONNX Concat along channels of NHWC maps of equal height and width (Inception and DenseNet blocks): for each pixel,
 * each input's run of channels is copied in turn. Rows line up, so no halo is needed.
 * <p>
 * Immutable; the engine calls one instance from several threads at once on disjoint output row ranges, passing an
 * input array it does not change during the call. The output must not overlap any input.
 */
public final class Concat
{
    private static final ThreadLocal<float[]> STAGING = ThreadLocal.withInitial(() -> new float[0]);

    private final int[] inputChannels;
    private final int outputChannels;
    private final String[] inputNames; // built once so that the checks on the forward path allocate nothing

    /**
     * @param inputChannels channels of each input, in order, each at least 1; copied.
     */
    public Concat(final int... inputChannels)
    {
        if (inputChannels == null || inputChannels.length < 1)
        {
            throw new IllegalArgumentException("Concat needs at least one input");
        }
        long sum = 0;
        for (final int c : inputChannels)
        {
            if (c < 1)
            {
                throw new IllegalArgumentException("Concat input channels must be >= 1: " + c);
            }
            sum += c;
        }
        if (sum > Integer.MAX_VALUE)
        {
            throw new IllegalArgumentException("Concat output channels too large: " + sum);
        }
        this.inputChannels = inputChannels.clone();
        this.outputChannels = (int)sum;
        this.inputNames = new String[inputChannels.length];
        for (int i = 0; i < inputChannels.length; i++)
        {
            inputNames[i] = "input " + i;
        }
    }

    public int inputCount()
    {
        return inputChannels.length;
    }

    public int outputChannels()
    {
        return outputChannels;
    }

    /**
     * Computes output rows {@code [h0, h1)} from the same rows of each input.
     *
     * @param inputs one view per input, in order, each {@code H x W x inputChannels[i]} holding rows {@code [h0, h1)}.
     * @param out    {@code H x W x outputChannels()}, holding rows {@code [h0, h1)}.
     * @throws IllegalArgumentException if the count or a shape does not match, a row is not held, or memory overlaps.
     */
    public void forward(final MapView[] inputs, final MapView out, final int h0, final int h1)
    {
        if (inputs == null || inputs.length != inputChannels.length)
        {
            throw new IllegalArgumentException("Concat: expected " + inputChannels.length + " inputs, got " +
                (inputs == null ? 0 : inputs.length));
        }
        for (int i = 0; i < inputs.length; i++)
        {
            OpsChecks.checkShape("Concat", inputNames[i], inputs[i], out.height(), out.width(), inputChannels[i]);
        }
        OpsChecks.checkShape("Concat", "output", out, out.height(), out.width(), outputChannels);
        OpsChecks.checkOutputRows("Concat", out, h0, h1);
        if (h0 == h1)
        {
            return;
        }
        for (int i = 0; i < inputs.length; i++)
        {
            OpsChecks.checkInputRows("Concat", inputNames[i], inputs[i], h0, h1);
            OpsChecks.checkDisjoint("Concat", inputs[i], out);
        }

        final FloatBuffer dst = out.region().floats();
        final int width = out.width();
        int channelBase = 0;
        for (int i = 0; i < inputs.length; i++)
        {
            final MapView in = inputs[i];
            final FloatBuffer src = in.region().floats();
            final int channels = inputChannels[i];
            final float[] row = stagingRow(width * channels);
            for (int h = h0; h < h1; h++)
            {
                // Buffer-to-buffer put allocates on JDK 17; heap-array bulk copies do not.
                src.get(in.rowOffset(h), row, 0, width * channels);
                final int dstRow = out.rowOffset(h) + channelBase;
                for (int p = 0; p < width; p++)
                {
                    dst.put(dstRow + p * outputChannels, row, p * channels, channels);
                }
            }
            channelBase += channels;
        }
    }

    private static float[] stagingRow(final int floats)
    {
        float[] row = STAGING.get();
        if (row.length < floats)
        {
            row = new float[floats];
            STAGING.set(row);
        }
        return row;
    }

    @Override
    public String toString()
    {
        return "Concat(" + inputChannels.length + " inputs, " + outputChannels + " channels)";
    }
}
