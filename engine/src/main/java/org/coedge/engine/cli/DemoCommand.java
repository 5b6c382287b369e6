package org.coedge.engine.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import org.coedge.engine.api.Model;
import org.coedge.engine.api.Session;
import org.coedge.engine.api.SessionOptions;
import org.coedge.engine.cluster.Coordinator;
import org.coedge.engine.cluster.LocalWorkers;
import org.coedge.engine.zoo.ModelZoo;
import org.coedge.transport.ClusterKey;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code coedge demo}: a cooperative run on this machine. Writes a zoo model and a key, starts worker processes on
 * loopback UDP, runs the model alone and then cooperatively, and reports the plan, each device's rows and times, the
 * latency against the model alone and the largest difference from the single-device result.
 */
@Command(name = "demo", description = "Start worker processes on loopback, run a zoo model cooperatively over " +
    "Aeron UDP, and compare with the same model run alone.")
final class DemoCommand implements Callable<Integer>
{
    @Spec
    CommandSpec spec;

    @Option(names = "--model-name", defaultValue = "resnet18", description = "Zoo model (default ${DEFAULT-VALUE}).")
    String modelName;

    @Option(names = "--workers", defaultValue = "2", description = "Worker processes (default ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--repeat", defaultValue = "10", description = "Timed requests (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed requests first (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--fuse", defaultValue = "auto", description = "Fuse depth N, or auto (default ${DEFAULT-VALUE}).")
    String fuse;

    @Option(names = "--pin", description = "Pin the coordinator to CPU 0 and worker i to CPU i (taskset), each " +
        "with one thread; the model alone also runs on CPU 0.")
    boolean pin;

    @Option(names = "--dir", description = "Working directory for the model, key and worker logs (default: a new " +
        "temporary directory).")
    Path dir;

    @Option(names = "--peer-timeout-ms", defaultValue = "1000", description = "Failure detection timeout (default " +
        "${DEFAULT-VALUE}).")
    long peerTimeoutMs;

    @picocli.CommandLine.Mixin
    KernelOptions kernelOptions = new KernelOptions();

    @Override
    public Integer call() throws Exception
    {
        kernelOptions.apply();
        if (workers < 1 || repeat < 1 || warmup < 0)
        {
            throw new IllegalArgumentException("--workers and --repeat must be >= 1, --warmup >= 0");
        }
        if (!ModelZoo.names().contains(modelName))
        {
            throw new IllegalArgumentException("unknown zoo model '" + modelName + "'; known: " + ModelZoo.names());
        }
        final int fuseDepth = FuseOptions.parseDepth(fuse, Coordinator.FUSE_AUTO);
        final PrintWriter out = spec.commandLine().getOut();
        final Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("coedge-demo-");
        final Path modelFile = work.resolve(modelName + ".onnx");
        ModelZoo.write(modelName, modelFile);
        final Path keyFile = work.resolve("cluster.key");
        final byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.write(keyFile, key);
        final int cpus = Runtime.getRuntime().availableProcessors();
        if (pin)
        {
            pinSelf();
        }
        final Model model = Model.load(modelFile);
        final float[] input = ModelZoo.randomInput(20261124L);
        final Map<String, long[]> dims = new LinkedHashMap<>();
        dims.put(model.inputNames().get(0), ModelZoo.inputDims());
        out.printf("demo: %s, 1 coordinator + %d worker process(es) on loopback UDP%s; files in %s%n", modelName,
            workers, pin ? ", each pinned to its own CPU" : "", work);
        BlasReport.print(out, spec.commandLine().getErr());

        // the same model alone, one thread
        final float[] alone;
        final long[] aloneNs = new long[repeat];
        try (Session session = model.newSession(SessionOptions.threads(1)))
        {
            session.setInput(0, input);
            for (int i = 0; i < warmup; i++)
            {
                session.run();
            }
            for (int i = 0; i < repeat; i++)
            {
                final long t0 = System.nanoTime();
                session.run();
                aloneNs[i] = System.nanoTime() - t0;
            }
            alone = session.output(0);
        }

        try (LocalWorkers local = new LocalWorkers(workers, keyFile, work, 1, pin ? cpus : 0);
            ClusterRun run = new ClusterRun(modelFile, model, dims, local.endpoints(), ClusterKey.fromFile(keyFile),
                "127.0.0.1:0", 1, fuseDepth, peerTimeoutMs, repeat, out))
        {
            final List<float[]> outputs = new ArrayList<>();
            outputs.add(new float[alone.length]);
            run.run(List.of(input), outputs, warmup);
            run.report(out);
            run.explain(out, run.graph());
            final double coop = ClusterRun.median(run.latencyNs);
            final double single = ClusterRun.median(aloneNs);
            double maxErr = 0;
            double maxRef = 0;
            for (int i = 0; i < alone.length; i++)
            {
                maxErr = Math.max(maxErr, Math.abs(alone[i] - outputs.get(0)[i]));
                maxRef = Math.max(maxRef, Math.abs(alone[i]));
            }
            out.printf("latency (median of %d): cooperative %.2f ms, alone %.2f ms: speedup %.2fx%n", repeat,
                coop / 1e6, single / 1e6, single / coop);
            out.printf("max |cooperative - alone| = %.3g (%.3g of max |alone|)%n", maxErr, maxErr / maxRef);
            if (workers + 1 > cpus)
            {
                out.printf("note: %d devices share %d CPU(s) on this machine, so they compete for them; a speedup " +
                    "needs a CPU per device (--pin, --workers %d or fewer)%n", workers + 1, cpus, cpus - 1);
            }
        }
        finally
        {
            if (dir == null)
            {
                deleteTree(work);
            }
        }
        return 0;
    }

    private static void deleteTree(final Path root)
    {
        try (java.util.stream.Stream<Path> paths = Files.walk(root))
        {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        catch (final java.io.IOException e)
        {
            // a temporary directory left behind is harmless
        }
    }

    private static void pinSelf() throws Exception
    {
        final Process p = new ProcessBuilder("taskset", "-a", "-cp", "0", Long.toString(ProcessHandle.current().pid()))
            .redirectErrorStream(true).start();
        final String text = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0)
        {
            throw new IllegalStateException("taskset failed: " + text.trim());
        }
    }
}
