package org.coedge.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import org.coedge.engine.api.Model;
import org.coedge.engine.exits.ExitAccuracy;
import org.coedge.engine.exits.ExitTable;
import org.coedge.engine.exits.LabelledImages;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code coedge exits}: measures each exit of a multi-exit model on a labelled IDX image set with the engine and
 * writes the model's exit sidecar ({@link ExitTable}). Runs on the main thread.
 */
@Command(name = "exits", description = "Measure each exit's top-1 accuracy of a multi-exit model on labelled " +
    "IDX images (MNIST / Fashion-MNIST files) and write the exit sidecar M.exits.json next to the model.")
final class ExitsCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "ONNX model file with one image input.")
    Path model;

    @Option(names = "--data", required = true, description = "Directory with PREFIX-images-idx3-ubyte.gz and " +
        "PREFIX-labels-idx1-ubyte.gz (or without .gz), e.g. /usr/share/datasets/fashion-mnist.")
    Path data;

    @Option(names = "--prefix", defaultValue = "t10k", description = "The IDX files' prefix (default " +
        "${DEFAULT-VALUE}).")
    String prefix;

    @Option(names = "--limit", description = "Only the first N images.")
    Integer limit;

    @Option(names = "--exits", split = ",", description = "The exits' graph outputs, earliest first (default: " +
        "the order of an existing sidecar, else every model output in model order).")
    List<String> exits;

    @Option(names = "--scale", defaultValue = "0.00392156862745098", description = "Pixel scale (default 1/255).")
    double scale;

    @Option(names = "--mean", defaultValue = "0.2860", description = "Subtracted after scaling (default " +
        "${DEFAULT-VALUE}, Fashion-MNIST's training mean).")
    double mean;

    @Option(names = "--std", defaultValue = "0.3530", description = "Divided by after (default ${DEFAULT-VALUE}, " +
        "Fashion-MNIST's training standard deviation).")
    double std;

    @Option(names = "--weights", defaultValue = ExitTable.TRAINED, description = "Recorded in the sidecar: " +
        "trained or random (default ${DEFAULT-VALUE}).")
    String weights;

    @Option(names = "--threads", defaultValue = "1", description = "Worker threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--out", description = "Sidecar file to write (default: M.exits.json beside the model).")
    Path out;

    @Override
    public Integer call() throws Exception
    {
        if (limit != null && limit < 1)
        {
            throw new IllegalArgumentException("--limit must be at least 1");
        }
        if (threads < 1)
        {
            throw new IllegalArgumentException("--threads must be at least 1");
        }
        if (!(std > 0) || !(scale > 0))
        {
            throw new IllegalArgumentException("--scale and --std must be positive");
        }
        if (!ExitTable.TRAINED.equals(weights) && !ExitTable.RANDOM.equals(weights))
        {
            throw new IllegalArgumentException("--weights must be trained or random, not " + weights);
        }
        final Model m = Model.load(model);
        final Path sidecar = ExitTable.sidecarOf(model);
        List<String> order = exits;
        if (order == null)
        {
            order = Files.exists(sidecar) ? ExitTable.read(sidecar).exits().stream().map(ExitTable.Exit::output)
                .toList() : m.outputNames();
        }
        final LabelledImages images = LabelledImages.readDirectory(data, prefix,
            limit == null ? Integer.MAX_VALUE : limit);
        final long start = System.nanoTime();
        final ExitTable table = ExitAccuracy.measure(m, order, images, new double[] {scale, mean, std}, threads,
            weights);
        final double seconds = (System.nanoTime() - start) * 1e-9;
        final Path file = out == null ? sidecar : out;
        table.write(file);
        final var o = spec.commandLine().getOut();
        for (final ExitTable.Exit e : table.exits())
        {
            o.printf(Locale.ROOT, "exit %d  %-12s top-1 %.4f  (%d of %d)%n", e.index(), e.output(), e.top1(),
                e.correct(), e.samples());
        }
        o.printf(Locale.ROOT, "measured on %d images of %s in %.1f s; wrote %s%n", images.count(), data, seconds,
            file);
        return 0;
    }
}
