package org.coedge.engine.zoo;

import ai.onnx.proto.OnnxMl.ModelProto;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.coedge.engine.exits.ExitTable;

/**
 * The models the project is evaluated on, generated as ONNX files with random weights: {@code alexnet},
 * {@code vgg16}, {@code resnet18}, {@code googlenet} and {@code mobilenetv2}, and the multi-exit
 * {@code branchy-resnet18} ({@link #multiExitNames()}). Each of the first five has opset 13, IR version 8, one
 * input {@code "input"} of shape [1, 3, 224, 224] and one output {@code "output"} of shape [1, 1000], all float32.
 * <p>
 * Weights come from a fixed seed per model, so a model's bytes never change from build to build, and are scaled
 * (He-style uniform initialisation, near-identity batch normalisation, damped residual branches) so that on an input
 * of unit scale the activations neither vanish nor explode through the depth (AlexNet and GoogLeNet deliberately run
 * at pixel scale after their first layer, for their LRNs' sake) and the logits have a spread of a few units: outputs
 * can be compared with a reference at a relative tolerance, and every operator's parameters move them by more than
 * that tolerance.
 * <p>
 * Stateless; any thread may call it. Used by tests, benchmarks and the command line to produce model files without
 * downloading any.
 */
public final class ModelZoo
{
    public static final String INPUT_NAME = ZooGraphBuilder.INPUT_NAME;
    public static final String OUTPUT_NAME = ZooGraphBuilder.OUTPUT_NAME;
    public static final int OPSET_VERSION = ZooGraphBuilder.OPSET_VERSION;
    public static final long IR_VERSION = ZooGraphBuilder.IR_VERSION;
    public static final int CLASSES = 1000;

    private static final long[] INPUT_DIMS = { 1, 3, 224, 224 };
    private static final long[] OUTPUT_DIMS = { 1, CLASSES };
    private static final long SEED = 0x5EED_C0ED_6E2021L;
    private static final List<String> NAMES = List.of("alexnet", "vgg16", "resnet18", "googlenet", "mobilenetv2");
    private static final List<String> MULTI_EXIT_NAMES = List.of("branchy-resnet18");

    private ModelZoo()
    {
    }

    /** @return the names {@link #build(String)} accepts, in a fixed order. */
    public static List<String> names()
    {
        return NAMES;
    }

    /**
     * @return the multi-exit models {@link #build(String)} also accepts: {@code branchy-resnet18}, whose outputs are
     * its exits ({@link #exitTable(String)}), not one {@code "output"}.
     */
    public static List<String> multiExitNames()
    {
        return MULTI_EXIT_NAMES;
    }

    /** @return whether {@code name} is one of {@link #names()} or {@link #multiExitNames()}. */
    public static boolean isKnown(final String name)
    {
        return NAMES.contains(name) || MULTI_EXIT_NAMES.contains(name);
    }

    /**
     * @param name one of {@link #multiExitNames()}.
     * @return its exits, earliest first, with no accuracy: the weights are random.
     * @throws IllegalArgumentException if the name is not a multi-exit zoo model.
     */
    public static ExitTable exitTable(final String name)
    {
        if (!"branchy-resnet18".equals(name))
        {
            throw new IllegalArgumentException("'" + name + "' is not a multi-exit zoo model " + MULTI_EXIT_NAMES);
        }
        final List<ExitTable.Exit> exits = new ArrayList<>();
        for (final String output : BranchyResNet18.EXITS)
        {
            exits.add(new ExitTable.Exit(exits.size(), output, null, 0, 0));
        }
        return new ExitTable(ExitTable.RANDOM, null, null, exits);
    }

    /** @return [1, 3, 224, 224], the shape of every zoo model's input (a new array). */
    public static long[] inputDims()
    {
        return INPUT_DIMS.clone();
    }

    /** @return [1, 1000], the shape of every zoo model's output (a new array). */
    public static long[] outputDims()
    {
        return OUTPUT_DIMS.clone();
    }

    /**
     * @param name one of {@link #names()}.
     * @return the serialised ONNX model.
     * @throws IllegalArgumentException if the name is unknown.
     */
    public static byte[] build(final String name)
    {
        return model(name).toByteArray();
    }

    /**
     * Writes one model to a file, streaming it rather than holding its serialised bytes.
     *
     * @param name one of {@link #names()}.
     * @param file the file to create or replace.
     * @throws IOException if the file cannot be written.
     */
    public static void write(final String name, final Path file) throws IOException
    {
        final ModelProto model = model(name);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16))
        {
            model.writeTo(out);
        }
    }

    /**
     * Writes every model to {@code dir/<name>.onnx}, creating the directory if needed, one model in memory at a time.
     *
     * @param dir the directory to write into.
     * @throws UncheckedIOException if a file cannot be written.
     */
    public static void writeAll(final Path dir)
    {
        try
        {
            Files.createDirectories(dir);
            for (final String name : NAMES)
            {
                write(name, dir.resolve(name + ".onnx"));
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot write the model zoo to " + dir + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * A deterministic input for the zoo models: uniform in [-1, 1), NCHW, 3 x 224 x 224 floats.
     *
     * @param seed the random seed; the same seed gives the same input.
     * @return a new array.
     */
    public static float[] randomInput(final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final float[] input = new float[3 * 224 * 224];
        for (int i = 0; i < input.length; i++)
        {
            input[i] = (float)random.nextDouble(-1.0, 1.0);
        }
        return input;
    }

    static ModelProto model(final String name)
    {
        final ZooGraphBuilder builder = new ZooGraphBuilder(name, SEED ^ name.hashCode());
        // The classifier's gain differs per model because the features reaching it differ in scale (pixel-scale
        // stems before LRN, residual paths that grow a little); each value puts the logits' standard deviation on
        // randomInput(seed) near 4.
        switch (name)
        {
            case "alexnet":
                return AlexNet.define(builder, 0.2);
            case "vgg16":
                return Vgg16.define(builder, 3.0);
            case "resnet18":
                return ResNet18.define(builder, 1.0);
            case "googlenet":
                return GoogLeNet.define(builder, 0.09);
            case "mobilenetv2":
                return MobileNetV2.define(builder, 4.0);
            case "branchy-resnet18":
                return BranchyResNet18.define(builder, 1.0);
            default:
                throw new IllegalArgumentException("unknown zoo model '" + name + "', expected one of " + NAMES +
                    " or " + MULTI_EXIT_NAMES);
        }
    }
}
