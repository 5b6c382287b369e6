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
@Fork(value = 1, jvmArgsAppend = { ConvVsSgemmBenchmark.EXPORTS, ConvVsSgemmBenchmark.VECTOR, "-Xmx4g", "-XX:MaxDirectMemorySize=4g" })
public class ModelLatencyBenchmark
{
    private static final long INPUT_SEED = 42;

    /** Which model on how many threads; the input and the output array. */
    @State(Scope.Thread)
    public abstract static class ModelState
    {
        @Param({ "alexnet", "vgg16", "resnet18", "googlenet", "mobilenetv2" })
        public String model;

        @Param({ "1", "2" })
        public int threads;

        float[] input; // (1, 3, 224, 224) NCHW
        float[] output; // (1, 1000)

        byte[] load()
        {
            input = ModelZoo.randomInput(INPUT_SEED);
            output = new float[ModelZoo.CLASSES];
            return ModelZoo.build(model);
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
                SessionOptions.threads(threads).withInputDims(ModelZoo.INPUT_NAME, ModelZoo.inputDims()));
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
            runner = new OrtRunner(bytes, threads, ModelZoo.INPUT_NAME, ModelZoo.inputDims(), ModelZoo.OUTPUT_NAME,
                ModelZoo.outputDims());
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
