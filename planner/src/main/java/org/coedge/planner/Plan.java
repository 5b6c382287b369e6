package org.coedge.planner;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A partition of one inference: stages covering the layers in order, each with per-device row ranges, the epoch that
 * orders plans (a new plan takes over with epoch + 1 at a request boundary), and the layers the coordinator gathers
 * when they are not the model's outputs (one exit of a multi-exit model: then only what that exit reads is computed,
 * {@link StepCompiler}).
 * <p>
 * Built by {@link Planner}, sent by the engine's coordinator to every device; immutable, so safe on any thread.
 */
public final class Plan
{
    private final long epoch;
    private final List<Stage> stages;
    private final int[] outputs; // null: the model's outputs

    /** A plan that gathers the model's outputs. */
    public Plan(final long epoch, final List<Stage> stages)
    {
        this(epoch, stages, null);
    }

    /**
     * @param outputs the layers the coordinator gathers instead of the model's outputs (copied), or null for the
     *                model's outputs.
     */
    public Plan(final long epoch, final List<Stage> stages, final int[] outputs)
    {
        if (stages.isEmpty())
        {
            throw new IllegalArgumentException("plan has no stages");
        }
        int next = 0;
        final int devices = stages.get(0).deviceCount();
        for (int i = 0; i < stages.size(); i++)
        {
            final Stage s = stages.get(i);
            if (s.firstLayer() != next)
            {
                throw new IllegalArgumentException("stage " + i + " starts at layer " + s.firstLayer() +
                    " but layer " + next + " is next (gap or overlap)");
            }
            if (s.deviceCount() != devices)
            {
                throw new IllegalArgumentException("stage " + i + " has " + s.deviceCount() + " devices, stage 0 has " +
                    devices);
            }
            next = s.lastLayer() + 1;
        }
        if (outputs != null && outputs.length == 0)
        {
            throw new IllegalArgumentException("a plan that names its outputs needs at least one");
        }
        this.epoch = epoch;
        this.stages = Collections.unmodifiableList(new ArrayList<>(stages));
        this.outputs = outputs == null ? null : outputs.clone();
    }

    /** @return this plan gathering {@code outputs} instead (null: the model's outputs). */
    public Plan withOutputs(final int[] outputs)
    {
        return new Plan(epoch, stages, outputs);
    }

    /** @return this plan under another epoch. */
    public Plan withEpoch(final long epoch)
    {
        return new Plan(epoch, stages, outputs);
    }

    /** @return the layers the coordinator gathers (a copy), or null when they are the model's outputs. */
    public int[] outputs()
    {
        return outputs == null ? null : outputs.clone();
    }

    /** @return the layers gathered: this plan's own {@link #outputs()}, else {@code modelOutputs}. */
    public int[] outputsOr(final int[] modelOutputs)
    {
        return outputs == null ? modelOutputs : outputs.clone();
    }

    /** @return what tells two plans apart whatever their epochs: their stages and the layers they gather. */
    public String shape()
    {
        return outputs == null ? stages.toString() : stages + " -> " + java.util.Arrays.toString(outputs);
    }

    public long epoch()
    {
        return epoch;
    }

    public List<Stage> stages()
    {
        return stages;
    }

    public int deviceCount()
    {
        return stages.get(0).deviceCount();
    }

    /**
     * Checks the plan against {@code graph}: stages end at the last layer, each stage's device ranges cover
     * {@code [0, height)} of its last layer (and of every layer, for a stage built by {@link Stage#perLayer}),
     * GLOBAL layers sit only in SINGLE_DEVICE stages or at a stage's end, and a FEATURES stage holds only
     * fully-connected vector layers ({@link #isFeatureLayer}), each covered over {@code [0, channels)}.
     *
     * @return this plan, for chaining.
     */
    public Plan validate(final LayerGraph graph)
    {
        final Stage lastStage = stages.get(stages.size() - 1);
        if (lastStage.lastLayer() != graph.layerCount() - 1)
        {
            throw new IllegalArgumentException("plan ends at layer " + lastStage.lastLayer() + " but graph has " +
                graph.layerCount() + " layers");
        }
        for (int i = 0; i < stages.size(); i++)
        {
            final Stage s = stages.get(i);
            if (s.mode() == Mode.FEATURES)
            {
                validateFeatures(graph, i, s);
                continue;
            }
            final int height = graph.layer(s.lastLayer()).heightRows();
            if (s.coveredRows() != height)
            {
                throw new IllegalArgumentException("stage " + i + " covers rows [0, " + s.coveredRows() +
                    ") of layer " + s.lastLayer() + " with height " + height);
            }
            if (s.hasLayerRows())
            {
                for (int l = 0; l < s.layerCount() - 1; l++)
                {
                    final int layerHeight = graph.layer(s.firstLayer() + l).heightRows();
                    int covered = 0;
                    for (int d = 0; d < s.deviceCount(); d++)
                    {
                        covered = Math.max(covered, s.layerRows(l, d).end());
                    }
                    if (covered != layerHeight)
                    {
                        throw new IllegalArgumentException("stage " + i + " covers rows [0, " + covered +
                            ") of layer " + (s.firstLayer() + l) + " with height " + layerHeight);
                    }
                }
            }
            if (s.mode() != Mode.SINGLE_DEVICE)
            {
                for (int id = s.firstLayer(); id < s.lastLayer(); id++)
                {
                    if (graph.layer(id).isGlobal())
                    {
                        throw new IllegalArgumentException("stage " + i + " (" + s.mode() + ") has GLOBAL layer " +
                            id + " (" + graph.layer(id).name() + ") before its end");
                    }
                }
            }
        }
        return this;
    }

    /**
     * @return whether {@code layer} can sit in a {@link Mode#FEATURES} stage: a fully-connected layer whose output
     * is a {@code 1 x 1 x C} vector.
     */
    public static boolean isFeatureLayer(final Layer layer)
    {
        return layer.kind() == LayerKind.FULLY_CONNECTED && layer.heightRows() == 1 && layer.width() == 1;
    }

    private static void validateFeatures(final LayerGraph graph, final int i, final Stage s)
    {
        for (int l = 0; l < s.layerCount(); l++)
        {
            final Layer layer = graph.layer(s.firstLayer() + l);
            if (!isFeatureLayer(layer))
            {
                throw new IllegalArgumentException("stage " + i + " (FEATURES) has layer " + layer.id() + " (" +
                    layer.name() + "), which is not a fully-connected layer with a 1x1xC output");
            }
            int covered = 0;
            for (int d = 0; d < s.deviceCount(); d++)
            {
                covered = Math.max(covered, s.layerRows(l, d).end());
            }
            if (covered != layer.channels())
            {
                throw new IllegalArgumentException("stage " + i + " covers features [0, " + covered + ") of layer " +
                    layer.id() + " with " + layer.channels() + " features");
            }
        }
    }

    public String toString()
    {
        return "Plan{epoch=" + epoch + " " + stages + (outputs == null ? "" : " outputs " +
            java.util.Arrays.toString(outputs)) + "}";
    }
}
