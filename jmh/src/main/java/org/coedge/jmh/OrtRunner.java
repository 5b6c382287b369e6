package org.coedge.jmh;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.Value;

import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_WARNING;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

/**
 * The ONNX Runtime baseline: one CPU session of a one-input, one-output float model with its input and output tensors
 * allocated once, so that {@link #run()} is only ONNX Runtime's own work (no per-call tensors, names or output
 * allocation). Default graph optimisations and thread-pool settings, except the thread counts: {@code threads}
 * intra-op threads (caller included) and one inter-op thread.
 * <p>
 * Owned by one benchmark state and used from one thread at a time; {@link #close()} releases every native object.
 */
final class OrtRunner implements AutoCloseable
{
    private final SessionOptions options;
    private final Session session;
    private final RunOptions runOptions;
    private final FloatPointer inputData;
    private final FloatPointer outputData;
    private final LongPointer inputShape;
    private final LongPointer outputShape;
    private final Value input;
    private final Value output;
    private final PointerPointer<BytePointer> inputNames;
    private final PointerPointer<BytePointer> outputNames;
    private final int inputFloats;
    private final int outputFloats;

    /**
     * @param model       serialised ONNX model.
     * @param threads     intra-op threads, at least 1.
     * @param inputName   name of the model's input.
     * @param inputDims   its dims.
     * @param outputName  name of the model's output.
     * @param outputDims  its dims.
     */
    OrtRunner(
        final byte[] model, final int threads, final String inputName, final long[] inputDims,
        final String outputName, final long[] outputDims)
    {
        options = new SessionOptions();
        options.SetIntraOpNumThreads(threads);
        options.SetInterOpNumThreads(1);
        try (BytePointer bytes = new BytePointer(model))
        {
            session = new Session(EnvHolder.ENV, bytes, model.length, options);
        }
        runOptions = new RunOptions();
        inputFloats = Math.toIntExact(count(inputDims));
        outputFloats = Math.toIntExact(count(outputDims));
        inputData = new FloatPointer(inputFloats);
        outputData = new FloatPointer(outputFloats);
        inputShape = new LongPointer(inputDims);
        outputShape = new LongPointer(outputDims);
        try (MemoryInfo memory = MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault))
        {
            input = Value.CreateTensorFloat(memory.asOrtMemoryInfo(), inputData, inputFloats, inputShape,
                inputDims.length);
            output = Value.CreateTensorFloat(memory.asOrtMemoryInfo(), outputData, outputFloats, outputShape,
                outputDims.length);
        }
        inputNames = new PointerPointer<>(inputName);
        outputNames = new PointerPointer<>(outputName);
    }

    /** Copies the input in (the model's layout, usually NCHW). */
    void setInput(final float[] data)
    {
        inputData.put(data, 0, inputFloats);
    }

    /** Runs the model once; the output lands in the preallocated output tensor. */
    void run()
    {
        session.Run(runOptions, inputNames, input, 1, outputNames, output, 1);
    }

    /** Copies the output out. */
    void outputInto(final float[] data)
    {
        outputData.get(data, 0, outputFloats);
    }

    @Override
    public void close()
    {
        session.close();
        options.close();
        runOptions.close();
        input.close();
        output.close();
        inputData.close();
        outputData.close();
        inputShape.close();
        outputShape.close();
        inputNames.close();
        outputNames.close();
    }

    private static long count(final long[] dims)
    {
        long n = 1;
        for (final long d : dims)
        {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** ONNX Runtime expects one environment per process; it lives as long as the JVM. */
    private static final class EnvHolder
    {
        static final Env ENV = new Env(ORT_LOGGING_LEVEL_WARNING, "coedge-jmh");
    }
}
