package org.coedge.engine.exec;

/**
 * The NHWC shape of one runtime value (batch 1): a feature map {@code [1, C, H, W]} is {@code (H, W, C)}, a vector
 * {@code [1, N]} is {@code (1, 1, N)}.
 *
 * @param height   rows.
 * @param width    columns.
 * @param channels channels, contiguous in memory.
 */
public record MapShape(int height, int width, int channels)
{
    public MapShape
    {
        if (height < 1 || width < 1 || channels < 1)
        {
            throw new IllegalArgumentException("bad shape " + height + "x" + width + "x" + channels);
        }
    }

    /** @return number of floats. */
    public int size()
    {
        return Math.multiplyExact(Math.multiplyExact(height, width), channels);
    }

    /** @return floats per row. */
    public int rowStride()
    {
        return width * channels;
    }

    @Override
    public String toString()
    {
        return height + "x" + width + "x" + channels;
    }
}
