package org.coedge.engine.exits;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * A labelled set of grey-scale images read from the IDX files MNIST and Fashion-MNIST ship as (an images file of
 * magic 0x00000803, dims count x rows x cols, and a labels file of magic 0x00000801, dims count, both of unsigned
 * bytes, optionally gzip'd), e.g. Debian's {@code dataset-fashion-mnist}: {@code t10k-images-idx3-ubyte.gz} and
 * {@code t10k-labels-idx1-ubyte.gz}. Holds the raw bytes; {@link #imageInto} normalises one image for a model.
 * Immutable after loading; cold path, any thread.
 */
public final class LabelledImages
{
    private static final int IMAGES_MAGIC = 0x00000803;
    private static final int LABELS_MAGIC = 0x00000801;

    private final String source;
    private final int count;
    private final int total;
    private final int rows;
    private final int cols;
    private final byte[] pixels; // (count, rows, cols)
    private final byte[] labels; // (count)

    private LabelledImages(final String source, final int count, final int total, final int rows, final int cols,
        final byte[] pixels, final byte[] labels)
    {
        this.source = source;
        this.count = count;
        this.total = total;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
        this.labels = labels;
    }

    /**
     * Reads {@code PREFIX-images-idx3-ubyte[.gz]} and {@code PREFIX-labels-idx1-ubyte[.gz]} from {@code dir}.
     *
     * @param prefix e.g. {@code t10k} or {@code train}.
     * @param limit  read at most this many images (the first ones); {@code Integer.MAX_VALUE} for all.
     * @throws IllegalArgumentException in one line naming the file, if one is missing, malformed or short, or the
     *                                  two disagree on the count.
     */
    public static LabelledImages readDirectory(final Path dir, final String prefix, final int limit)
        throws IOException
    {
        if (!Files.isDirectory(dir))
        {
            throw new IllegalArgumentException("--data " + dir + " is not a directory (it should hold " + prefix +
                "-images-idx3-ubyte.gz and " + prefix + "-labels-idx1-ubyte.gz)");
        }
        return read(find(dir, prefix + "-images-idx3-ubyte"), find(dir, prefix + "-labels-idx1-ubyte"), limit);
    }

    /** As {@link #readDirectory} for two named files. */
    public static LabelledImages read(final Path imagesFile, final Path labelsFile, final int limit)
        throws IOException
    {
        if (limit < 1)
        {
            throw new IllegalArgumentException("the limit must be at least 1 image, not " + limit);
        }
        final int imageCount;
        final int rows;
        final int cols;
        final byte[] pixels;
        try (DataInputStream in = open(imagesFile))
        {
            final int[] dims = header(in, imagesFile, IMAGES_MAGIC, 3);
            imageCount = dims[0];
            rows = dims[1];
            cols = dims[2];
            if (rows < 1 || cols < 1 || (long)rows * cols > 1 << 20)
            {
                throw new IllegalArgumentException(imagesFile + ": images of " + rows + "x" + cols + " pixels");
            }
            final int n = Math.min(limit, imageCount);
            if ((long)n * rows * cols > Integer.MAX_VALUE - 64)
            {
                throw new IllegalArgumentException(imagesFile + ": " + n + " images of " + rows + "x" + cols +
                    " are too many to hold at once (use --limit)");
            }
            pixels = new byte[n * rows * cols];
            readFully(in, pixels, imagesFile, "header says " + imageCount + " images of " + rows + "x" + cols);
        }
        final byte[] labels;
        try (DataInputStream in = open(labelsFile))
        {
            final int labelCount = header(in, labelsFile, LABELS_MAGIC, 1)[0];
            if (labelCount != imageCount)
            {
                throw new IllegalArgumentException(labelsFile + " has " + labelCount + " labels but " + imagesFile +
                    " has " + imageCount + " images");
            }
            labels = new byte[Math.min(limit, labelCount)];
            readFully(in, labels, labelsFile, "header says " + labelCount + " labels");
        }
        return new LabelledImages(imagesFile.getFileName().toString(), labels.length, imageCount, rows, cols, pixels,
            labels);
    }

    /** @return how many images were read. */
    public int count()
    {
        return count;
    }

    /** @return how many images the file holds (at least {@link #count()}). */
    public int total()
    {
        return total;
    }

    public int rows()
    {
        return rows;
    }

    public int cols()
    {
        return cols;
    }

    /** @return the images file's name, for reports. */
    public String source()
    {
        return source;
    }

    /** @return the label of image {@code i}, 0-255. */
    public int label(final int i)
    {
        return labels[i] & 0xFF;
    }

    /** @return the largest label read. */
    public int maxLabel()
    {
        int max = 0;
        for (int i = 0; i < count; i++)
        {
            max = Math.max(max, label(i));
        }
        return max;
    }

    /**
     * Writes image {@code i} into {@code out} (rows x cols, row-major) as {@code (pixel * scale - mean) / std}.
     *
     * @throws IllegalArgumentException if {@code i} or {@code out}'s length is wrong.
     */
    public void imageInto(final int i, final double scale, final double mean, final double std, final float[] out)
    {
        if (i < 0 || i >= count || out.length != rows * cols)
        {
            throw new IllegalArgumentException("image " + i + " of " + count + " into " + out.length + " floats");
        }
        final int base = i * rows * cols;
        for (int p = 0; p < out.length; p++)
        {
            out[p] = (float)(((pixels[base + p] & 0xFF) * scale - mean) / std);
        }
    }

    private static Path find(final Path dir, final String stem)
    {
        final Path gz = dir.resolve(stem + ".gz");
        if (Files.exists(gz))
        {
            return gz;
        }
        final Path plain = dir.resolve(stem);
        if (Files.exists(plain))
        {
            return plain;
        }
        throw new IllegalArgumentException("--data " + dir + " has no " + stem + ".gz (nor " + stem + ")");
    }

    private static DataInputStream open(final Path file) throws IOException
    {
        try
        {
            final InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
            return new DataInputStream(file.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw);
        }
        catch (final NoSuchFileException ex)
        {
            throw new IllegalArgumentException("no such file: " + file);
        }
        catch (final java.util.zip.ZipException ex)
        {
            throw new IllegalArgumentException(file + " is not a gzip file: " + ex.getMessage());
        }
    }

    private static int[] header(final DataInputStream in, final Path file, final int magic, final int rank)
        throws IOException
    {
        try
        {
            final int found = in.readInt();
            if (found != magic)
            {
                throw new IllegalArgumentException(String.format("%s: magic 0x%08x, expected 0x%08x (an IDX file " +
                    "of unsigned bytes with %d dims)", file, found, magic, rank));
            }
            final int[] dims = new int[rank];
            for (int d = 0; d < rank; d++)
            {
                dims[d] = in.readInt();
                if (dims[d] < 0)
                {
                    throw new IllegalArgumentException(file + ": dimension " + d + " is " + (dims[d] & 0xFFFFFFFFL));
                }
            }
            return dims;
        }
        catch (final EOFException ex)
        {
            throw new IllegalArgumentException(file + " ends inside its IDX header");
        }
    }

    private static void readFully(final DataInputStream in, final byte[] into, final Path file, final String expected)
        throws IOException
    {
        int done = 0;
        try
        {
            while (done < into.length)
            {
                final int n = in.read(into, done, into.length - done);
                if (n < 0)
                {
                    break;
                }
                done += n;
            }
        }
        catch (final EOFException ex)
        {
            // a gzip stream cut short ends this way rather than with -1
        }
        if (done < into.length)
        {
            throw new IllegalArgumentException(file + " is short: " + expected + ", the data ends after " + done +
                " bytes");
        }
    }
}
