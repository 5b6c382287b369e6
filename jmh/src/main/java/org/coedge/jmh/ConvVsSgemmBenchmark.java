package org.coedge.jmh;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.coedge.kernels.Activation;
import org.coedge.kernels.Blas;
import org.coedge.kernels.ConvKernel;
import org.coedge.kernels.FloatRegion;
import org.coedge.kernels.MapView;
import org.coedge.kernels.DepthwiseConv2d;
import org.coedge.kernels.WinogradConv2d;
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
 * How close the engine's convolution kernels come to the GEMM they are built on, on one thread, for the conv layer
 * shapes of ResNet-18, VGG-16 and MobileNetV2 (see {@link ConvLayerShape} for the names). Per layer, three
 * benchmarks with identical flops, so ops/s ratios are GFLOP/s ratios (GFLOP/s = {@link ConvLayerShape#flops()} *
 * ops/s; {@link BenchmarkReport} prints them):
 * <ul>
 *   <li>{@link #conv}: {@link ConvKernel#forward} over all output rows, bias and fused ReLU included (im2col + sgemm,
 *   one sgemm for pointwise layers, the direct depthwise kernel for {@code dw} layers);</li>
 *   <li>{@link #sgemm}: plain {@link Blas#sgemm} on preallocated matrices of the same GEMM shape, once per group
 *   (M = outH * outW, N = Cout / groups, K = kH * kW * Cin / groups): for dense layers the bound the kernel can
 *   approach; for depthwise layers the grouped-conv-as-GEMM baseline (Cin products of N = 1, K = 9);</li>
 *   <li>{@link #winograd}: {@link WinogradConv2d} over all output rows (3x3 stride-1 layers only; others fail their
 *   setup, and {@link BenchmarkReport} skips them), whether or not the lowering would choose it there;</li>
 *   <li>{@link #plain}: {@link DepthwiseConv2d} on its plain-Java loop ({@code dw} layers only), beside {@link #conv}
 *   which runs the Vector API loop where the fork has the module;</li>
 *   <li>{@link #ort}: ONNX Runtime running the layer alone ({@code Relu(Conv)} in NCHW, one intra-op thread), an
 *   outside reference, the only meaningful one for depthwise layers.</li>
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = { ConvVsSgemmBenchmark.EXPORTS, ConvVsSgemmBenchmark.VECTOR, "-Xmx2g" })
public class ConvVsSgemmBenchmark
{
    /** Agrona (via the kernels' and engine's dependencies) reads jdk.internal.misc.Unsafe. */
    static final String EXPORTS = "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED";

    /** The Vector API, as the coedge launcher enables it (the depthwise kernel's fast loop). */
    static final String VECTOR = "--add-modules=jdk.incubator.vector";

    private static final long SEED = 0xC0DE_C0F5L;

    /** The layer under test and a random stream seeded by its name, so every run draws the same data. */
    @State(Scope.Thread)
    public abstract static class LayerState
    {
        @Param({
            "r18_c3_56x56x64_64",
            "r18_c3_28x28x128_128",
            "r18_c3_14x14x256_256",
            "r18_c3_7x7x512_512",
            "r18_c1_56x56x64_128_s2",
            "r18_c1_28x28x128_256_s2",
            "r18_c1_14x14x256_512_s2",
            "vgg_c3_112x112x128_128",
            "vgg_c3_56x56x256_256",
            "vgg_c3_28x28x512_512",
            "vgg_c3_14x14x512_512",
            "mv2_c1_56x56x24_144",
            "mv2_c1_56x56x144_24",
            "mv2_c1_28x28x32_192",
            "mv2_c1_14x14x96_576",
            "mv2_c1_7x7x160_960",
            "mv2_c1_7x7x960_160",
            "mv2_dw_112x112x32",
            "mv2_dw_112x112x96_s2",
            "mv2_dw_56x56x144",
            "mv2_dw_14x14x576",
            "mv2_dw_7x7x960",
            "mv2_dw_56x56x144_s2",
            "mv2_c3_224x224x3_32_s2",
        })
        public String layer;

        ConvLayerShape shape;
        SplittableRandom random;

        void parse()
        {
            shape = ConvLayerShape.parse(layer);
            random = new SplittableRandom(SEED ^ layer.hashCode());
        }

        /** @return weights with He-style scale, so outputs stay O(1) and no denormals slow anything down. */
        float[] weights()
        {
            final float bound = (float)Math.sqrt(6.0 / shape.gemmK());
            return uniform(random, shape.weightFloats(), bound);
        }
    }

    /** The engine's prepared kernel over a whole input map. */
    public static class ConvState extends LayerState
    {
        ConvKernel kernel;
        MapView in;
        MapView out;
        FloatRegion scratch;
        int outH;

        @Setup(Level.Trial)
        public void setUp()
        {
            BenchmarkReport.printBlasCoreOnce();
            parse();
            Blas.setThreads(1);
            kernel = ConvKernel.create(shape.params(), weights(), uniform(random, shape.outC(), 0.05f),
                Activation.RELU);
            bind();
        }

        /** Allocates the input (random), output and scratch for {@link #kernel}. */
        void bind()
        {
            outH = shape.outH();
            final FloatRegion input = region(random, shape.inH() * shape.inW() * shape.inC());
            final FloatRegion output = FloatRegion.allocate(outH * shape.outW() * shape.outC());
            in = MapView.of(input, 0, shape.inH(), shape.inW(), shape.inC());
            out = MapView.of(output, 0, outH, shape.outW(), shape.outC());
            scratch = FloatRegion.allocate(Math.max(1, kernel.scratchFloats(shape.inW(), outH)));
        }
    }

    /** Winograd F(4x4, 3x3) over a whole input map. */
    public static class WinogradState extends ConvState
    {
        @Override
        @Setup(Level.Trial)
        public void setUp()
        {
            parse();
            if (!WinogradConv2d.supports(shape.params()))
            {
                throw new IllegalStateException(layer + " is not a 3x3 stride-1 convolution");
            }
            BenchmarkReport.printBlasCoreOnce();
            Blas.setThreads(1);
            kernel = new WinogradConv2d(shape.params(), weights(), uniform(random, shape.outC(), 0.05f),
                Activation.RELU);
            bind();
        }
    }

    /** The depthwise kernel on its plain-Java loop, whatever the JVM has. */
    public static class PlainState extends ConvState
    {
        @Override
        @Setup(Level.Trial)
        public void setUp()
        {
            parse();
            if (!shape.isDepthwise())
            {
                throw new IllegalStateException(layer + " is not a depthwise convolution");
            }
            BenchmarkReport.printBlasCoreOnce();
            Blas.setThreads(1);
            kernel = new DepthwiseConv2d(shape.params(), weights(), uniform(random, shape.outC(), 0.05f),
                Activation.RELU, false);
            bind();
        }
    }

    /** Row-major GEMM operands per group: A (M x K), B (K x N), and C (M x Cout) written at column g * N. */
    public static class SgemmState extends LayerState
    {
        FloatRegion a;
        FloatRegion b;
        FloatRegion c;
        int m;
        int n;
        int k;
        int groups;
        int ldc;

        @Setup(Level.Trial)
        public void setUp()
        {
            parse();
            Blas.setThreads(1);
            m = shape.gemmM();
            n = shape.gemmN();
            k = shape.gemmK();
            groups = shape.groups();
            ldc = shape.outC();
            a = region(random, groups * m * k);
            b = FloatRegion.allocate(groups * k * n);
            b.put(0, weights());
            c = FloatRegion.allocate(m * ldc);
        }
    }

    /** ONNX Runtime with the layer alone. */
    public static class OrtState extends LayerState
    {
        OrtRunner runner;

        @Setup(Level.Trial)
        public void setUp()
        {
            parse();
            final byte[] model = SingleConvOnnx.build(shape, weights(), uniform(random, shape.outC(), 0.05f));
            runner = new OrtRunner(model, 1, SingleConvOnnx.INPUT, SingleConvOnnx.inputDims(shape),
                SingleConvOnnx.OUTPUT, SingleConvOnnx.outputDims(shape));
            runner.setInput(uniform(random, shape.inH() * shape.inW() * shape.inC(), 1f));
        }

        @TearDown(Level.Trial)
        public void tearDown()
        {
            runner.close();
        }
    }

    @Benchmark
    public void conv(final ConvState s)
    {
        s.kernel.forward(s.in, s.out, 0, s.outH, s.scratch, 0);
    }

    @Benchmark
    public void winograd(final WinogradState s)
    {
        s.kernel.forward(s.in, s.out, 0, s.outH, s.scratch, 0);
    }

    @Benchmark
    public void plain(final PlainState s)
    {
        s.kernel.forward(s.in, s.out, 0, s.outH, s.scratch, 0);
    }

    @Benchmark
    public void sgemm(final SgemmState s)
    {
        final int m = s.m;
        final int n = s.n;
        final int k = s.k;
        for (int g = 0; g < s.groups; g++)
        {
            Blas.sgemm(false, false, m, n, k, 1f, s.a, g * m * k, k, s.b, g * k * n, n, 0f, s.c, g * n, s.ldc);
        }
    }

    @Benchmark
    public void ort(final OrtState s)
    {
        s.runner.run();
    }

    private static float[] uniform(final SplittableRandom random, final int count, final float bound)
    {
        final float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)random.nextDouble(-bound, bound);
        }
        return values;
    }

    private static FloatRegion region(final SplittableRandom random, final int count)
    {
        final FloatRegion region = FloatRegion.allocate(count);
        region.put(0, uniform(random, count, 1f));
        return region;
    }
}
