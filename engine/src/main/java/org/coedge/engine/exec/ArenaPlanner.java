package org.coedge.engine.exec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Places buffers with known lifetimes in one arena so that buffers alive at the same time never overlap, reusing
 * the space of dead ones (greedy by size, lowest fitting offset). Offsets are aligned to 16 floats (64 bytes).
 * Called once per prepared model on the preparing thread.
 */
public final class ArenaPlanner
{
    /** Alignment of every offset, in floats. */
    public static final int ALIGN_FLOATS = 16;

    private final List<Block> blocks = new ArrayList<>();

    /**
     * Adds a buffer alive from step {@code firstStep} to step {@code lastStep} inclusive.
     *
     * @return the buffer's index, for {@link #offset(int)}.
     */
    public int add(final long sizeFloats, final int firstStep, final int lastStep)
    {
        if (sizeFloats < 0 || firstStep > lastStep)
        {
            throw new IllegalArgumentException("bad buffer " + sizeFloats + " floats, steps " + firstStep + ".." +
                lastStep);
        }
        blocks.add(new Block(blocks.size(), align(sizeFloats), firstStep, lastStep));
        return blocks.size() - 1;
    }

    /**
     * Assigns offsets to every buffer added.
     *
     * @return the arena size in floats.
     */
    public long plan()
    {
        final List<Block> bySize = new ArrayList<>(blocks);
        bySize.sort(Comparator.comparingLong((Block b) -> -b.size).thenComparingInt(b -> b.index));
        final List<Block> placed = new ArrayList<>();
        long total = 0;
        for (final Block b : bySize)
        {
            final List<Block> live = new ArrayList<>();
            for (final Block p : placed)
            {
                if (p.firstStep <= b.lastStep && b.firstStep <= p.lastStep)
                {
                    live.add(p);
                }
            }
            live.sort(Comparator.comparingLong(p -> p.offset));
            long candidate = 0;
            for (final Block p : live)
            {
                if (candidate + b.size <= p.offset)
                {
                    break;
                }
                candidate = Math.max(candidate, p.offset + p.size);
            }
            b.offset = candidate;
            placed.add(b);
            total = Math.max(total, candidate + b.size);
        }
        return total;
    }

    /** @return the offset in floats of buffer {@code index}, after {@link #plan()}. */
    public long offset(final int index)
    {
        return blocks.get(index).offset;
    }

    /** @return sum of all buffer sizes: the arena size without reuse. */
    public long sizeWithoutReuse()
    {
        long sum = 0;
        for (final Block b : blocks)
        {
            sum += b.size;
        }
        return sum;
    }

    static long align(final long floats)
    {
        return (floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    }

    private static final class Block
    {
        final int index;
        final long size;
        final int firstStep;
        final int lastStep;
        long offset = -1;

        Block(final int index, final long size, final int firstStep, final int lastStep)
        {
            this.index = index;
            this.size = size;
            this.firstStep = firstStep;
            this.lastStep = lastStep;
        }
    }
}
