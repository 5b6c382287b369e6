package org.coedge.engine.exec;

import java.util.List;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.Step;

/**
 * Executes one device's compiled {@link DeviceProgram} against its {@link LocalExecutor} (arena and kernels) and a
 * {@link RowExchange}: COMPUTE runs a layer's rows, SEND offers rows straight from the arena, AWAIT writes received
 * rows straight into it. A step in features ({@link Step#features()}) works on a slice of a fully-connected layer's
 * {@code 1 x 1 x C} output: COMPUTE runs those output features, and a move is the slice's contiguous floats of the
 * vector's one row, handed to the exchange like a block of rows (its first "row" the first feature, its row count the
 * feature count). The program is flattened into arrays of ints once, with every arena offset resolved and
 * checked here, so {@link #run} only walks them.
 * <p>
 * {@link #run} allocates nothing and throws nothing: it returns {@link RowExchange#OK} or the code of the step that
 * failed, and {@link #failure()} then says what happened. Also accumulates compute, send and wait times. One thread
 * at a time (the device's).
 */
public final class StepRunner
{
    private static final byte COMPUTE = 0;
    private static final byte SEND = 1;
    private static final byte AWAIT = 2;

    private final int device;
    private final LocalExecutor executor;
    private final RowExchange exchange;
    private final byte[] kinds;
    private final int[] layerIndex; // COMPUTE: index into the model's layers; moves: planner layer id
    private final int[] from; // COMPUTE: first unit; moves: first row
    private final int[] to; // COMPUTE: end unit; moves: row count
    private final int[] peer;
    private final int[] sequence;
    private final int[] offsetFloats;
    private final int[] floats;
    private final String[] describe;
    private int failedStep = -1;
    private int failedCode;
    private Throwable failedWith;
    private long computeNs;
    private long sendNs;
    private long awaitNs;
    private final long[] stepNs; // per step, summed over runs
    private final long[] stepStartNs; // per step, System.nanoTime() at its start in the last run

    /**
     * @param model    the device's prepared model: windows and weights for {@code program}.
     * @param executor the device's executor over {@code model}.
     */
    public StepRunner(
        final DeviceProgram program, final PreparedModel model, final LocalExecutor executor,
        final RowExchange exchange)
    {
        if (executor.model() != model)
        {
            throw new IllegalArgumentException("executor runs another model");
        }
        this.device = program.device();
        this.executor = executor;
        this.exchange = exchange;
        final List<Step> steps = program.steps();
        final int n = steps.size();
        kinds = new byte[n];
        stepNs = new long[n];
        stepStartNs = new long[n];
        layerIndex = new int[n];
        from = new int[n];
        to = new int[n];
        peer = new int[n];
        sequence = new int[n];
        offsetFloats = new int[n];
        floats = new int[n];
        describe = new String[n];
        final int sources = model.inputs().size();
        for (int i = 0; i < n; i++)
        {
            final Step s = steps.get(i);
            describe[i] = s.toString();
            peer[i] = s.peer();
            sequence[i] = s.sequence();
            switch (s.kind())
            {
                case COMPUTE:
                {
                    kinds[i] = COMPUTE;
                    layerIndex[i] = s.layer() - sources;
                    final Layer layer = model.layers().get(layerIndex[i]);
                    if (layer instanceof IdleLayer)
                    {
                        throw new IllegalArgumentException("device " + device + " computes " + layer +
                            " but was prepared without it");
                    }
                    if (s.features())
                    {
                        // a slice of a fully-connected layer: its units are its output features
                        if (!(layer instanceof FullyConnectedLayer) || s.rows().end() > layer.units())
                        {
                            throw new IllegalArgumentException(s + ": not output features of a fully-connected " +
                                "layer with " + layer.units() + " of them (" + layer + ")");
                        }
                        from[i] = s.rows().start();
                        to[i] = s.rows().end();
                        break;
                    }
                    final int height = layer.output().shape().height();
                    if (s.rows().end() > height)
                    {
                        throw new IllegalArgumentException(s + ": rows beyond height " + height);
                    }
                    final boolean whole = s.rows().start() == 0 && s.rows().end() == height;
                    from[i] = whole ? 0 : s.rows().start();
                    to[i] = whole ? layer.units() : s.rows().end();
                    break;
                }
                case SEND:
                case AWAIT:
                {
                    kinds[i] = s.kind() == Step.Kind.SEND ? SEND : AWAIT;
                    layerIndex[i] = s.layer();
                    from[i] = s.rows().start();
                    to[i] = s.rows().rows();
                    final Value v = s.layer() < sources ? model.inputs().get(s.layer()) :
                        model.layers().get(s.layer() - sources).output();
                    if (s.features())
                    {
                        // features [a, b) of a 1x1xC vector: floats [a, b) of its one row
                        if (v.shape().height() != 1 || v.shape().width() != 1 ||
                            s.rows().end() > v.shape().channels())
                        {
                            throw new IllegalArgumentException(s + ": not features of a vector (" + v.shape() + ")");
                        }
                        offsetFloats[i] = v.rowOffset(0) + s.rows().start();
                        floats[i] = s.rows().rows();
                    }
                    else
                    {
                        // rowOffset checks that the device's window holds both ends
                        offsetFloats[i] = v.rowOffset(s.rows().start());
                        v.rowOffset(s.rows().end() - 1);
                        floats[i] = s.rows().rows() * v.shape().rowStride();
                    }
                    if ((long)offsetFloats[i] + floats[i] > executor.arena().length())
                    {
                        throw new IllegalArgumentException(s + ": outside the arena");
                    }
                    break;
                }
                default:
                    throw new IllegalArgumentException("unknown step " + s);
            }
        }
    }

    /**
     * Runs the program once for request {@code request}.
     *
     * @return {@link RowExchange#OK}, or the failing step's code (a kernel failure is {@link RowExchange#ABORTED}).
     * @throws IllegalStateException if the executor or its model is closed (checked once, before any step).
     */
    public int run(final long request)
    {
        executor.checkOpen();
        failedStep = -1;
        failedWith = null;
        for (int i = 0; i < kinds.length; i++)
        {
            final long start = System.nanoTime();
            stepStartNs[i] = start;
            final int code;
            final long before = computeNs + sendNs + awaitNs;
            switch (kinds[i])
            {
                case COMPUTE:
                    code = compute(i);
                    computeNs += System.nanoTime() - start;
                    break;
                case SEND:
                    code = exchange.send(peer[i], request, sequence[i], layerIndex[i], from[i], to[i],
                        executor.arena(), offsetFloats[i], floats[i]);
                    sendNs += System.nanoTime() - start;
                    break;
                default:
                    code = exchange.await(peer[i], request, sequence[i], layerIndex[i], from[i], to[i],
                        executor.arena(), offsetFloats[i], floats[i]);
                    awaitNs += System.nanoTime() - start;
                    break;
            }
            stepNs[i] += computeNs + sendNs + awaitNs - before;
            if (code != RowExchange.OK)
            {
                failedStep = i;
                failedCode = code;
                return code;
            }
        }
        return RowExchange.OK;
    }

    private int compute(final int i)
    {
        try
        {
            executor.runLayer(layerIndex[i], from[i], to[i]);
            return RowExchange.OK;
        }
        catch (final RuntimeException | Error ex)
        {
            failedWith = ex;
            return RowExchange.ABORTED;
        }
    }

    /** @return what made the last {@link #run} fail (cold path), or null if it did not. */
    public String failure()
    {
        if (failedStep < 0)
        {
            return null;
        }
        return "device " + device + " step " + failedStep + " (" + describe[failedStep] + "): " +
            (failedWith != null ? failedWith.toString() : exchange.lastError());
    }

    /** @return the exception a kernel threw in the last run, or null. */
    public Throwable failureCause()
    {
        return failedWith;
    }

    /** @return whether the last run failed on its own rather than by another device's abort. */
    public boolean failedFirst()
    {
        return failedStep >= 0 && (failedWith != null || failedCode != RowExchange.ABORTED);
    }

    public int stepCount()
    {
        return kinds.length;
    }

    /** @return nanoseconds spent computing, summed over runs. */
    public long computeNs()
    {
        return computeNs;
    }

    /** @return nanoseconds spent sending, summed over runs. */
    public long sendNs()
    {
        return sendNs;
    }

    /** @return nanoseconds spent waiting for and copying in rows, summed over runs. */
    public long awaitNs()
    {
        return awaitNs;
    }

    /** @return nanoseconds spent in step {@code i}, summed over runs since {@link #resetTimes()}. */
    public long stepNs(final int i)
    {
        return stepNs[i];
    }

    /** @return {@code System.nanoTime()} at the start of step {@code i} in the last run (0 if it did not run). */
    public long stepStartNs(final int i)
    {
        return stepStartNs[i];
    }

    public void resetTimes()
    {
        java.util.Arrays.fill(stepNs, 0);
        java.util.Arrays.fill(stepStartNs, 0);
        computeNs = 0;
        sendNs = 0;
        awaitNs = 0;
    }
}
