package org.coedge.engine.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.exec.PreparedModel;
import org.coedge.engine.exec.SplitExecutor;
import org.coedge.engine.testing.OrtReference;
import org.coedge.engine.testing.RelativeError;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.planner.Apportion;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Mode;
import org.coedge.planner.Plan;
import org.coedge.planner.Planner;
import org.coedge.planner.Stage;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Property test of split execution in one process: over random device counts (1-8), random shares (devices with no
 * rows, a device with exactly one row; in some plans new shares at every stage) and random fusion depths, the split
 * output equals the unsplit engine's on the same input within max abs error / max |unsplit| <= 1e-4, on every zoo
 * model and on the PP-OCR models at non-square sizes; on PP-OCR one split is also checked against ONNX Runtime
 * (<= 1e-4, as the unsplit engine is).
 * <p>
 * Why 1e-4 and not bit-identity: a slice's GEMMs have other shapes than the whole map's, and BLAS kernels round
 * differently in differently shaped products (edge tiles, small-matrix paths, another core type). A split is thus one
 * more correct evaluation order of the same network, like ONNX Runtime's, and is held to the same bound. Measured:
 * up to 1.5e-5 on the PP-OCR det models with OpenBLAS's Haswell kernels, about 1e-6 on the zoo models. A wrong or
 * missing halo row moves outputs by far more than 1e-4.
 */
class SplitMatchesUnsplitTest
{
    private static final double TOLERANCE = OracleSupport.TOLERANCE;

    @ParameterizedTest
    @ValueSource(strings = {"alexnet", "vgg16", "resnet18", "googlenet", "mobilenetv2"})
    void shouldEqualUnsplitOnZooModel(final String name)
    {
        final boolean heavy = name.equals("vgg16") || name.equals("alexnet");
        assertSplitsEqualUnsplit(Model.load(ModelZoo.build(name), name), name, Map.of(),
            OracleSupport.randomInput(name.hashCode(), 3 * 224 * 224), heavy ? 4 : 7);
    }

    @ParameterizedTest
    @CsvSource({
        "ch_PP-OCRv3_det_infer.onnx, 96, 160",
        "ch_PP-OCRv3_det_infer.onnx, 608, 32",
        "ch_PP-OCRv4_det_infer.onnx, 32, 608",
        "ch_PP-OCRv4_det_infer.onnx, 160, 96",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx, 48, 192"})
    void shouldEqualUnsplitAndOnnxRuntimeOnPpOcr(final String file, final int height, final int width)
    {
        final byte[] bytes = PpOcrMatchesOrtTest.resource(file);
        final long[] dims = {1, 3, height, width};
        final float[] input = OracleSupport.documentImage(height * 17L + width, height, width);
        final float[] split = assertSplitsEqualUnsplit(Model.load(bytes, file), file + " " + height + "x" + width,
            Map.of("x", dims), input, 5);
        final float[] ort = OrtReference.run(bytes, List.of(input), List.of(dims), 1).data(0);
        final double rel = RelativeError.of(ort, split);
        System.out.printf("%s %dx%d: split vs ONNX Runtime max abs error / max |ref| = %.3g%n", file, height, width,
            rel);
        assertTrue(rel <= 1e-4, file + ": split vs ONNX Runtime " + rel);
    }

    /**
     * Runs {@code trials} splits: one device; three devices where one has no rows and one exactly one row of the last
     * split layer; then random ones. Each split runs twice, so a stale message from the first request would show.
     *
     * @return the output of the last split.
     */
    static float[] assertSplitsEqualUnsplit(
        final Model model, final String name, final Map<String, long[]> dims, final float[] input, final int trials)
    {
        final SplittableRandom random = new SplittableRandom(name.hashCode());
        final float[] expected;
        final SessionOptions options = SessionOptions.threads(1);
        dims.forEach(options::withInputDims);
        try (Session session = model.newSession(options))
        {
            session.setInput(0, input);
            session.run();
            expected = session.output(0);
        }
        final PreparedModel whole = model.prepare(dims);
        final LayerGraph graph = PlanGraphs.of(whole);
        final int lastSplit = Math.min(graph.firstGlobalLayer(), graph.layerCount()) - 1;
        final int lastHeight = graph.layer(lastSplit).heightRows();
        final List<String> done = new ArrayList<>();
        float[] actual = null;
        double worst = 0;
        for (int trial = 0; trial < trials; trial++)
        {
            final double[] shares;
            final int fuse;
            if (trial == 0)
            {
                shares = new double[] {1};
                fuse = 1;
            }
            else if (trial == 1 && lastHeight > 1)
            {
                shares = new double[] {lastHeight - 1, 0, 1};
                fuse = 1;
            }
            else
            {
                final int devices = 2 + random.nextInt(7);
                shares = new double[devices];
                for (int d = 0; d < devices; d++)
                {
                    shares[d] = random.nextInt(5) == 0 ? 0 : 0.1 + random.nextDouble();
                }
                shares[random.nextInt(devices)] = 1.0;
                fuse = 1 + random.nextInt(6);
            }
            final boolean reshare = trial >= 2 && trial % 2 == 0;
            final Plan plan = reshare ? reshared(graph, Planner.uniform(graph, shares, fuse), random) :
                Planner.uniform(graph, shares, fuse);
            if (trial == 1 && lastHeight > 1)
            {
                assertEquals(1, plan.stages().get(0).deviceRows(2).rows(), "device 2 has one row: " + plan);
                assertTrue(plan.stages().get(0).deviceRows(1).isEmpty(), "device 1 has none: " + plan);
            }
            actual = runTwice(model, dims, whole, graph, plan, input, expected.length);
            final double rel = RelativeError.of(expected, actual);
            worst = Math.max(worst, rel);
            assertTrue(rel <= TOLERANCE, name + " split " + Arrays.toString(shares) + " fuse " + fuse +
                ": max abs error / max |unsplit| = " + rel);
            done.add(shares.length + "x" + fuse + (reshare ? "r" : ""));
        }
        System.out.printf("%s: %d splits (devices x fuse: %s), worst max abs error / max |unsplit| = %.3g%n", name,
            trials, done, worst);
        return actual;
    }

    /**
     * Runs {@code plan} twice through the split executor (a stale message from the first request would show in the
     * second), the output filled with NaN before each run.
     *
     * @return the second run's first output.
     */
    static float[] runTwice(
        final Model model, final Map<String, long[]> dims, final PreparedModel whole, final LayerGraph graph,
        final Plan plan, final float[] input, final int outputLength)
    {
        final float[] actual = new float[outputLength];
        try (SplitExecutor split = SplitExecutor.create(model, dims, whole, graph, plan))
        {
            for (int run = 0; run < 2; run++)
            {
                Arrays.fill(actual, Float.NaN);
                split.setInput(0, input);
                split.run();
                split.outputInto(0, actual);
            }
        }
        return actual;
    }

    /** @return {@code plan} with new random shares in every split stage, so rows are redistributed between stages. */
    private static Plan reshared(final LayerGraph graph, final Plan plan, final SplittableRandom random)
    {
        final List<Stage> stages = new ArrayList<>();
        for (final Stage stage : plan.stages())
        {
            if (stage.mode() == Mode.SINGLE_DEVICE)
            {
                stages.add(stage);
                continue;
            }
            final double[] shares = new double[stage.deviceCount()];
            for (int d = 0; d < shares.length; d++)
            {
                shares[d] = random.nextInt(4) == 0 ? 0 : random.nextDouble();
            }
            shares[random.nextInt(shares.length)] = 1;
            final int height = graph.layer(stage.lastLayer()).heightRows();
            stages.add(new Stage(stage.firstLayer(), stage.lastLayer(), stage.mode(),
                Apportion.rowRanges(Apportion.largestRemainder(shares, height, new int[shares.length]))));
        }
        return new Plan(plan.epoch(), stages).validate(graph);
    }
}
