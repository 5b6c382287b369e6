package org.coedge.planner;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A CNN's layers as a DAG in topological order: layer {@code i} reads only layers with smaller ids. Sources (no
 * inputs) are the model inputs. Validated once when built: ids in range and topological, one row map per input,
 * each map's input height equal to its input layer's height and its output height equal to the layer's height.
 * <p>
 * Built by the engine from its imported model (and by tests); immutable, so safe on any thread.
 */
public final class LayerGraph
{
    private final List<Layer> layers;
    private final int[][] readers;
    private final boolean[] outputs;

    private LayerGraph(final List<Layer> layers, final boolean[] outputs)
    {
        this.layers = Collections.unmodifiableList(new ArrayList<>(layers));
        this.outputs = outputs.clone();
        final int[] readerCount = new int[layers.size()];
        for (final Layer layer : layers)
        {
            for (int j = 0; j < layer.inputCount(); j++)
            {
                readerCount[layer.inputId(j)]++;
            }
        }
        readers = new int[layers.size()][];
        for (int i = 0; i < readers.length; i++)
        {
            readers[i] = new int[readerCount[i]];
            readerCount[i] = 0;
        }
        for (final Layer layer : layers)
        {
            for (int j = 0; j < layer.inputCount(); j++)
            {
                final int in = layer.inputId(j);
                final int[] r = readers[in];
                if (readerCount[in] == 0 || r[readerCount[in] - 1] != layer.id())
                {
                    r[readerCount[in]++] = layer.id();
                }
            }
        }
        for (int i = 0; i < readers.length; i++)
        {
            if (readerCount[i] != readers[i].length)
            {
                final int[] r = new int[readerCount[i]];
                System.arraycopy(readers[i], 0, r, 0, r.length);
                readers[i] = r;
            }
        }
    }

    public static Builder builder()
    {
        return new Builder();
    }

    public int layerCount()
    {
        return layers.size();
    }

    public Layer layer(final int id)
    {
        return layers.get(id);
    }

    public List<Layer> layers()
    {
        return layers;
    }

    /**
     * @return ids of the layers that read layer {@code id}, ascending, each once.
     */
    public int[] readers(final int id)
    {
        return readers[id].clone();
    }

    /**
     * @return true if layer {@code id} was marked as a model output ({@link Builder#markOutput}): its every row must
     * be computed by some device, whether or not a later layer reads it (a side output of deep supervision, an exit).
     */
    public boolean isOutput(final int id)
    {
        return outputs[id];
    }

    /**
     * @return id of the first GLOBAL layer, or {@link #layerCount()} if none: layers before it are spatial.
     */
    public int firstGlobalLayer()
    {
        for (final Layer layer : layers)
        {
            if (layer.isGlobal())
            {
                return layer.id();
            }
        }
        return layers.size();
    }

    /**
     * Collects layers in topological order; {@link #build()} validates them.
     */
    public static final class Builder
    {
        private final List<Layer> layers = new ArrayList<>();
        private final List<Integer> outputIds = new ArrayList<>();

        /**
         * Adds a model input (a source node with no inputs and no FLOPs; rows of 32-bit floats).
         *
         * @return the new layer's id.
         */
        public int addSource(final String name, final int heightRows, final int width, final int channels)
        {
            return addLayer(name, new int[0], new RowMap[0], heightRows, width, channels, 0,
                (long)width * channels * Float.BYTES);
        }

        /**
         * Adds a layer reading {@code inputIds}, with {@code rowMaps[j]} the row map of input {@code j}.
         *
         * @return the new layer's id.
         */
        public int addLayer(
            final String name,
            final int[] inputIds,
            final RowMap[] rowMaps,
            final int heightRows,
            final int width,
            final int channels,
            final long flopsPerRow,
            final long bytesPerRow)
        {
            final int id = layers.size();
            final String where = "layer " + id + " (" + name + ")";
            if (inputIds.length != rowMaps.length)
            {
                throw new IllegalArgumentException(where + ": " + inputIds.length + " inputs but " +
                    rowMaps.length + " row maps");
            }
            if (heightRows < 1 || width < 1 || channels < 1)
            {
                throw new IllegalArgumentException(where + ": shape must be positive, got " + heightRows + "x" +
                    width + "x" + channels);
            }
            if (flopsPerRow < 0 || bytesPerRow < 0)
            {
                throw new IllegalArgumentException(where + ": negative cost flopsPerRow=" + flopsPerRow +
                    " bytesPerRow=" + bytesPerRow);
            }
            for (int j = 0; j < inputIds.length; j++)
            {
                final int in = inputIds[j];
                if (in < 0 || in >= id)
                {
                    throw new IllegalArgumentException(where + ": input " + j + " is layer " + in +
                        ", must be in [0, " + id + ") (topological order)");
                }
                final RowMap map = rowMaps[j];
                if (map == null)
                {
                    throw new IllegalArgumentException(where + ": row map " + j + " is null");
                }
                if (map.inputHeightRows() != layers.get(in).heightRows())
                {
                    throw new IllegalArgumentException(where + ": row map " + j + " expects input height " +
                        map.inputHeightRows() + " but layer " + in + " has height " + layers.get(in).heightRows());
                }
                if (map.outputHeightRows() != heightRows)
                {
                    throw new IllegalArgumentException(where + ": row map " + j + " has output height " +
                        map.outputHeightRows() + " but layer height is " + heightRows);
                }
            }
            layers.add(new Layer(id, name, inputIds, rowMaps, heightRows, width, channels, flopsPerRow,
                bytesPerRow));
            return id;
        }

        /**
         * Says what kind of kernel layer {@code id} (already added) runs and how many bytes of weights it reads.
         *
         * @return this builder.
         */
        public Builder describe(final int id, final LayerKind kind, final long weightBytes)
        {
            if (id < 0 || id >= layers.size())
            {
                throw new IllegalArgumentException("layer " + id + " not in [0, " + layers.size() + ")");
            }
            if (kind == null || weightBytes < 0)
            {
                throw new IllegalArgumentException("layer " + id + ": kind " + kind + ", weight bytes " + weightBytes);
            }
            layers.get(id).describe(kind, weightBytes);
            return this;
        }

        /**
         * Marks layer {@code id} (already added) as a model output.
         *
         * @return this builder.
         */
        public Builder markOutput(final int id)
        {
            if (id < 0 || id >= layers.size())
            {
                throw new IllegalArgumentException("output layer " + id + " not in [0, " + layers.size() + ")");
            }
            outputIds.add(id);
            return this;
        }

        public LayerGraph build()
        {
            if (layers.isEmpty())
            {
                throw new IllegalArgumentException("layer graph is empty");
            }
            final boolean[] outputs = new boolean[layers.size()];
            for (final int id : outputIds)
            {
                outputs[id] = true;
            }
            return new LayerGraph(layers, outputs);
        }
    }
}
