package org.coedge.engine.cli;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import io.aeron.Publication;
import org.agrona.concurrent.UnsafeBuffer;
import org.bytedeco.javacpp.Loader;
import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;
import org.coedge.engine.zoo.SelfTestNet;
import org.coedge.kernels.Blas;
import org.coedge.kernels.FloatRegion;
import org.coedge.transport.TransportContext;
import org.coedge.transport.TransportNode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coedge selftest}: what a user runs first on a new board. Loads the native libraries, prints the platform,
 * the OpenBLAS core and a measured sgemm rate, checks every kernel against its naive reference
 * ({@link SelfTestKernels}), runs {@link SelfTestNet} end to end on 1 and 2 threads against a node-by-node reference
 * evaluation ({@link SelfTestModel}), starts an embedded Aeron media driver in a temporary directory, sends itself a
 * message over loopback UDP and checks the directory is gone after, and ends with one line {@code PASS} (exit 0) or
 * {@code FAIL} (exit 1). Seconds on a Raspberry-Pi-class board. Runs on the main thread.
 */
@Command(name = "selftest", description = "Check this device: natives, OpenBLAS core and GFLOP/s, every kernel " +
    "against its reference, a small model end to end, the Aeron media driver; ends with PASS or FAIL (exit 0 / 1).")
final class SelfTestCommand implements Callable<Integer>
{
    /** Exit code when a check fails. */
    static final int EXIT_FAILED = 1;

    private static final int GEMM_N = 256;
    private static final long AERON_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(30);

    @Spec
    CommandSpec spec;

    @Option(names = "--write-model", description = "Also write the self-test model (selftest.onnx) and an input " +
        "(selftest-input.npy) into this directory, e.g. for a cooperative check with coedge worker and run --peers.")
    Path writeModel;

    @Option(names = "--seed", defaultValue = "17", description = "Seed of the random shapes' values (default " +
        "${DEFAULT-VALUE}).")
    long seed;

    private PrintWriter out;
    private int failed;

    @Override
    public Integer call() throws IOException
    {
        out = spec.commandLine().getOut();
        out.printf("platform: %s %s (javacpp %s), Java %s (%s), %d processors, max heap %d MiB%n",
            System.getProperty("os.name"), System.getProperty("os.arch"), Loader.getPlatform(),
            System.getProperty("java.version"), System.getProperty("java.vm.vendor"),
            Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        out.flush();
        if (natives())
        {
            sgemm();
            failed += new SelfTestKernels(seed, out).run();
            model();
        }
        aeron();
        out.println(failed == 0 ? "PASS" : "FAIL");
        out.flush();
        return failed == 0 ? 0 : EXIT_FAILED;
    }

    private boolean natives()
    {
        try
        {
            Blas.setThreads(1);
            out.printf("openblas: %s, core %s, 1 thread per caller%n",
                org.bytedeco.openblas.global.openblas.OPENBLAS_VERSION.trim(),
                org.coedge.kernels.BlasCore.current().describe());
            BlasReport.warn(spec.commandLine().getErr());
            return true;
        }
        catch (final LinkageError | RuntimeException e)
        {
            out.println("natives: FAIL: cannot load OpenBLAS for " + Loader.getPlatform() + ": " +
                CoEdgeCli.describe(e));
            failed++;
            return false;
        }
        finally
        {
            out.flush();
        }
    }

    private void sgemm()
    {
        final int n = GEMM_N;
        final FloatRegion a = FloatRegion.allocate(n * n);
        final FloatRegion b = FloatRegion.allocate(n * n);
        final FloatRegion c = FloatRegion.allocate(n * n);
        a.fill(0, n * n, 0.5f);
        b.fill(0, n * n, 0.25f);
        long best = Long.MAX_VALUE;
        int runs = 0;
        final long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(400);
        while (runs < 3 || (runs < 200 && System.nanoTime() < until))
        {
            final long t0 = System.nanoTime();
            Blas.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
            best = Math.min(best, System.nanoTime() - t0);
            runs++;
        }
        final boolean right = c.floats().get(n * n - 1) == 0.125f * n;
        out.printf(Locale.ROOT, "sgemm %dx%dx%d: %.1f GFLOP/s (1 thread, best of %d)%s%n", n, n, n,
            2.0 * n * n * n / Math.max(1, best), runs, right ? "" : "  FAIL: wrong result");
        failed += right ? 0 : 1;
        out.flush();
    }

    private void model() throws IOException
    {
        final byte[] bytes = SelfTestNet.build();
        final long[] dims = SelfTestNet.INPUT_DIMS;
        final float[] input = new float[(int)HostTensor.elementCount(dims)];
        final SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < input.length; i++)
        {
            input[i] = (float)(random.nextDouble() * 2 - 1);
        }
        if (writeModel != null)
        {
            Files.createDirectories(writeModel);
            Files.write(writeModel.resolve("selftest.onnx"), bytes);
            TensorFiles.write(writeModel.resolve("selftest-input.npy"), new HostTensor("input", dims, input));
            out.println("model: wrote selftest.onnx and selftest-input.npy to " + writeModel);
        }
        try
        {
            final float[] expected = SelfTestModel.evaluate(bytes, dims, input);
            final Model model = Model.load(bytes, "selftest");
            for (int threads = 1; threads <= 2; threads++)
            {
                try (Session session = model.newSession(SessionOptions.threads(threads)))
                {
                    session.setInput(0, input);
                    long best = Long.MAX_VALUE;
                    for (int i = 0; i < 3; i++)
                    {
                        final long t0 = System.nanoTime();
                        session.run();
                        best = Math.min(best, System.nanoTime() - t0);
                    }
                    final double error = relativeError(expected, session.output(0));
                    final boolean ok = error <= SelfTestKernels.TOLERANCE;
                    out.printf(Locale.ROOT, "model selftest (%d layers, %.1f MFLOPs), %d thread%s: %.2f ms, " +
                        "max rel err %.1e against the reference graph  %s%n", session.prepared().layers().size(),
                        session.prepared().flops() / 1e6, threads, threads == 1 ? "" : "s", best / 1e6, error,
                        ok ? "ok" : "FAIL");
                    failed += ok ? 0 : 1;
                }
            }
        }
        catch (final RuntimeException | LinkageError e)
        {
            out.println("model selftest: FAIL: " + CoEdgeCli.describe(e));
            failed++;
        }
        out.flush();
    }

    private void aeron()
    {
        File dir = null;
        try (TransportNode node = new TransportNode(new TransportContext().listenEndpoint("127.0.0.1:0")
            .aeronDirectoryName(null)))
        {
            dir = new File(node.aeron().context().aeronDirectoryName());
            final Publication publication = node.addControlPublication(node.endpoint());
            final UnsafeBuffer message = new UnsafeBuffer(new byte[16]);
            message.putLong(0, seed);
            final long deadline = System.nanoTime() + AERON_TIMEOUT_NS;
            while (publication.offer(message) < 0)
            {
                idle(deadline, "no connection to itself on " + node.endpoint());
            }
            final long[] received = { Long.MIN_VALUE };
            while (node.controlSubscription().poll((buffer, offset, length, header) ->
                received[0] = buffer.getLong(offset), 1) == 0)
            {
                idle(deadline, "nothing received on " + node.endpoint());
            }
            if (received[0] != seed)
            {
                throw new IllegalStateException("received " + received[0] + ", sent " + seed);
            }
            out.printf("aeron: media driver started in %s, loopback UDP message on %s received%n", dir,
                node.endpoint());
        }
        catch (final RuntimeException | LinkageError e)
        {
            out.println("aeron: FAIL: " + CoEdgeCli.describe(e));
            failed++;
            return;
        }
        finally
        {
            out.flush();
        }
        final File parent = dir.getParentFile();
        if (dir.exists() || (parent != null && parent.getName().startsWith("coedge-aeron-") && parent.exists()))
        {
            out.println("aeron: FAIL: media driver directory " + dir + " left behind");
            failed++;
        }
        else
        {
            out.println("aeron: media driver stopped, directory removed");
        }
        out.flush();
    }

    private static void idle(final long deadline, final String what)
    {
        if (System.nanoTime() > deadline)
        {
            throw new IllegalStateException(what + " within " +
                TimeUnit.NANOSECONDS.toSeconds(AERON_TIMEOUT_NS) + " s");
        }
        LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
    }

    private static double relativeError(final float[] expected, final float[] actual)
    {
        if (expected.length != actual.length)
        {
            return Double.POSITIVE_INFINITY;
        }
        double maxError = 0;
        double maxReference = 1e-3;
        for (int i = 0; i < expected.length; i++)
        {
            maxReference = Math.max(maxReference, Math.abs(expected[i]));
            maxError = Float.isNaN(actual[i]) ? Double.POSITIVE_INFINITY :
                Math.max(maxError, Math.abs(actual[i] - expected[i]));
        }
        return maxError / maxReference;
    }
}
