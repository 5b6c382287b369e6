package org.coedge.engine.testing;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.StringVector;
import org.bytedeco.onnxruntime.TensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.Value;
import org.bytedeco.onnxruntime.ValueVector;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_LOGGING_LEVEL_WARNING;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtArenaAllocator;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtMemTypeDefault;

/**
 * The correctness oracle: runs an ONNX model with ONNX Runtime on the CPU (default graph optimisations, the given
 * number of intra-op threads) and returns its float outputs. One ONNX Runtime environment is created on first use
 * and shared for the life of the JVM, since the runtime expects one per process; every session, tensor and name
 * buffer is released when the call (or the {@link Loaded} model) is done with it, so tests may call it many times.
 * <p>
 * Test scope only. {@link #run} may be called from any thread; a {@link Loaded} model is used by one thread at a time.
 */
public final class OrtReference
{
    private OrtReference()
    {
    }

    /**
     * Loads a model, runs it once and releases it.
     *
     * @param model   the serialised ONNX model.
     * @param inputs  one array per model input, in the model's input order, row-major: {@code float[]}, or
     *                {@code long[]} for an int64 input.
     * @param dims    the shape of each input.
     * @param threads intra-op threads ONNX Runtime may use.
     * @return every model output, in the model's output order.
     */
    public static Result run(final byte[] model, final List<?> inputs, final List<long[]> dims, final int threads)
    {
        try (Loaded loaded = open(model, threads))
        {
            return loaded.run(inputs, dims);
        }
    }

    /** As {@link #run(byte[], List, List, int)} for a model file. */
    public static Result run(final Path model, final List<?> inputs, final List<long[]> dims, final int threads)
    {
        try (Loaded loaded = open(model, threads))
        {
            return loaded.run(inputs, dims);
        }
    }

    /**
     * Loads a model for repeated runs; the caller closes it.
     *
     * @param model   the serialised ONNX model.
     * @param threads intra-op threads ONNX Runtime may use.
     * @return the loaded model.
     */
    public static Loaded open(final byte[] model, final int threads)
    {
        final SessionOptions options = options(threads);
        // The runtime copies what it needs while the session is created, so the native copy of the bytes is
        // released straight after.
        try (BytePointer bytes = new BytePointer(model))
        {
            return new Loaded(new Session(EnvHolder.ENV, bytes, model.length, options), options);
        }
        catch (final RuntimeException ex)
        {
            options.close();
            throw new IllegalArgumentException("ONNX Runtime cannot load the model: " + ex.getMessage(), ex);
        }
    }

    /** As {@link #open(byte[], int)} for a model file. */
    public static Loaded open(final Path model, final int threads)
    {
        if (!Files.isRegularFile(model))
        {
            throw new IllegalArgumentException("no model file " + model);
        }
        final SessionOptions options = options(threads);
        try (BytePointer path = new BytePointer(model.toString()))
        {
            return new Loaded(new Session(EnvHolder.ENV, path, options), options);
        }
        catch (final RuntimeException ex)
        {
            options.close();
            throw new IllegalArgumentException("ONNX Runtime cannot load " + model + ": " + ex.getMessage(), ex);
        }
    }

    private static SessionOptions options(final int threads)
    {
        if (threads < 1)
        {
            throw new IllegalArgumentException("threads must be >= 1: " + threads);
        }
        final SessionOptions options = new SessionOptions();
        options.SetIntraOpNumThreads(threads);
        // Idle pool threads would otherwise spin after each run and steal cores from whatever the test runs next;
        // this changes timing only, never results.
        options.AddConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /** The shared environment, created when first needed and kept for the life of the JVM. */
    private static final class EnvHolder
    {
        static final Env ENV = new Env(ORT_LOGGING_LEVEL_WARNING, "coedge-ort-reference");
    }

    /**
     * One model loaded in ONNX Runtime: owns the native session until {@link #close()}. Run it from one thread at a
     * time.
     */
    public static final class Loaded implements AutoCloseable
    {
        private final Session session;
        private final SessionOptions options;
        private final List<String> inputNames;
        private final List<String> outputNames;
        private boolean closed;

        private Loaded(final Session session, final SessionOptions options)
        {
            this.session = session;
            this.options = options;
            try (PointerScope ignored = new PointerScope())
            {
                inputNames = strings(session.GetInputNames());
                outputNames = strings(session.GetOutputNames());
            }
        }

        public List<String> inputNames()
        {
            return inputNames;
        }

        public List<String> outputNames()
        {
            return outputNames;
        }

        /**
         * @param inputs one array per model input, in {@link #inputNames()} order, row-major.
         * @param dims   the shape of each input.
         * @return every model output, in {@link #outputNames()} order.
         */
        public Result run(final List<?> inputs, final List<long[]> dims)
        {
            if (closed)
            {
                throw new IllegalStateException("model already closed");
            }
            if (inputs.size() != inputNames.size() || dims.size() != inputNames.size())
            {
                throw new IllegalArgumentException("model takes " + inputNames.size() + " inputs " + inputNames +
                    ", given " + inputs.size() + " arrays and " + dims.size() + " shapes");
            }
            // Everything allocated natively for this run (input copies, tensors, names, outputs) is released when
            // the scope closes.
            try (PointerScope ignored = new PointerScope())
            {
                final MemoryInfo memory = MemoryInfo.CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
                final int inputCount = inputs.size();
                final Value values = new Value(inputCount);
                for (int i = 0; i < inputCount; i++)
                {
                    final long[] shape = dims.get(i);
                    final Object given = inputs.get(i);
                    final int length = given instanceof long[] ? ((long[])given).length : ((float[])given).length;
                    final long count = Arrays.stream(shape).reduce(1L, Math::multiplyExact);
                    if (count != length)
                    {
                        throw new IllegalArgumentException("input " + inputNames.get(i) + " of shape " +
                            Arrays.toString(shape) + " needs " + count + (given instanceof long[] ? " int64s" :
                            " floats") + ", given " + length);
                    }
                    // The tensor borrows this native copy, which the scope keeps alive until after Run.
                    final LongPointer nativeShape = new LongPointer(shape);
                    final Value tensor = given instanceof long[]
                        ? Value.CreateTensorLong(memory.asOrtMemoryInfo(), new LongPointer((long[])given), length,
                            nativeShape, shape.length)
                        : Value.CreateTensorFloat(memory.asOrtMemoryInfo(), new FloatPointer((float[])given), length,
                            nativeShape, shape.length);
                    values.position(i).put(tensor);
                }
                values.position(0);
                final ValueVector outputs = session.Run(
                    new RunOptions(),
                    new PointerPointer<BytePointer>(inputNames.toArray(new String[0])),
                    values,
                    inputCount,
                    new PointerPointer<BytePointer>(outputNames.toArray(new String[0])),
                    outputNames.size());
                final List<float[]> data = new ArrayList<>(outputNames.size());
                final List<long[]> shapes = new ArrayList<>(outputNames.size());
                for (int i = 0; i < outputNames.size(); i++)
                {
                    final Value output = outputs.get(i);
                    final TensorTypeAndShapeInfo info = output.GetTensorTypeAndShapeInfo();
                    if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
                    {
                        throw new IllegalStateException("output " + outputNames.get(i) + " is not float32");
                    }
                    final long count = info.GetElementCount();
                    final float[] values32 = new float[Math.toIntExact(count)];
                    output.GetTensorMutableDataFloat().capacity(count).get(values32);
                    data.add(values32);
                    shapes.add(info.GetShape().get());
                }
                return new Result(outputNames, data, shapes);
            }
        }

        @Override
        public void close()
        {
            if (!closed)
            {
                closed = true;
                session.close();
                options.close();
            }
        }

        private static List<String> strings(final StringVector vector)
        {
            final List<String> strings = new ArrayList<>((int)vector.size());
            for (long i = 0; i < vector.size(); i++)
            {
                strings.add(vector.get(i).getString());
            }
            return List.copyOf(strings);
        }
    }

    /** The outputs of one run, on the Java heap: no native memory is held. Immutable. */
    public static final class Result
    {
        private final List<String> names;
        private final List<float[]> data;
        private final List<long[]> dims;

        private Result(final List<String> names, final List<float[]> data, final List<long[]> dims)
        {
            this.names = List.copyOf(names);
            this.data = List.copyOf(data);
            this.dims = List.copyOf(dims);
        }

        public int count()
        {
            return names.size();
        }

        public List<String> names()
        {
            return names;
        }

        /** @return a copy of output {@code i}'s values, row-major. */
        public float[] data(final int i)
        {
            return data.get(i).clone();
        }

        /** @return a copy of output {@code i}'s shape. */
        public long[] dims(final int i)
        {
            return dims.get(i).clone();
        }

        public float[] data(final String name)
        {
            return data(indexOf(name));
        }

        public long[] dims(final String name)
        {
            return dims(indexOf(name));
        }

        private int indexOf(final String name)
        {
            final int i = names.indexOf(name);
            if (i < 0)
            {
                throw new IllegalArgumentException("no output " + name + " in " + names);
            }
            return i;
        }
    }
}
