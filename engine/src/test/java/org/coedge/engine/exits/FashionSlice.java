package org.coedge.engine.exits;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * The trained multi-exit test model and the first 200 Fashion-MNIST t10k images and labels committed beside it,
 * decoded here on their own (not through {@link LabelledImages}), normalised as the model was trained:
 * {@code (pixel / 255 - 0.2860) / 0.3530}. Test scope; any thread.
 */
public final class FashionSlice
{
    public static final int IMAGES = 200;
    public static final int PIXELS = 28 * 28;
    public static final double MEAN = 0.2860;
    public static final double STD = 0.3530;

    private FashionSlice()
    {
    }

    /** @return the trained model, {@code branchy-fmnist.onnx}. */
    public static Path model()
    {
        return resource("branchy-fmnist.onnx");
    }

    /** @return the directory with {@code t10k-images-idx3-ubyte.gz} and {@code t10k-labels-idx1-ubyte.gz}. */
    public static Path dataDir()
    {
        return resource("fmnist-t10k-200");
    }

    /** @return the first {@code n} images of the slice, normalised, each 1 x 1 x 28 x 28 floats. */
    public static float[][] images(final int n)
    {
        final byte[] raw = payload(dataDir().resolve("t10k-images-idx3-ubyte.gz"), 16);
        final float[][] images = new float[n][PIXELS];
        for (int i = 0; i < n; i++)
        {
            for (int p = 0; p < PIXELS; p++)
            {
                images[i][p] = (float)(((raw[i * PIXELS + p] & 0xFF) / 255.0 - MEAN) / STD);
            }
        }
        return images;
    }

    /** @return the slice's labels. */
    public static int[] labels()
    {
        final byte[] raw = payload(dataDir().resolve("t10k-labels-idx1-ubyte.gz"), 8);
        final int[] labels = new int[raw.length];
        for (int i = 0; i < raw.length; i++)
        {
            labels[i] = raw[i] & 0xFF;
        }
        return labels;
    }

    /** @return a gzip'd IDX file's bytes after its header of {@code headerBytes}. */
    public static byte[] payload(final Path file, final int headerBytes)
    {
        try (InputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(file))))
        {
            final byte[] all = in.readAllBytes();
            final byte[] body = new byte[all.length - headerBytes];
            System.arraycopy(all, headerBytes, body, 0, body.length);
            return body;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static Path resource(final String name)
    {
        try
        {
            return Path.of(FashionSlice.class.getResource("/org/coedge/engine/exits/" + name).toURI());
        }
        catch (final URISyntaxException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
