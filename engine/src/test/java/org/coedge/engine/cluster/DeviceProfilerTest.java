package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.coedge.engine.api.Model;
import org.coedge.engine.zoo.SelfTestNet;
import org.coedge.planner.DeviceProfile;
import org.coedge.planner.Layer;
import org.coedge.planner.LayerGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The profile of the self-test model (convolutions, pooling, a residual add, a concat, global pooling and a
 * fully-connected head): one whole-height sample per computed layer and one quarter-height sample per row-split
 * layer, and a second profile of the same model on the same device read back from the cache.
 */
class DeviceProfilerTest
{
    @TempDir
    Path dir;

    private ModelRef selfTestModel() throws Exception
    {
        final Path file = dir.resolve("selftest.onnx");
        Files.write(file, SelfTestNet.build());
        final Model model = Model.load(file);
        final Map<String, long[]> dims = new LinkedHashMap<>();
        dims.put(model.inputNames().get(0), SelfTestNet.INPUT_DIMS);
        return new ModelRef(file, ModelRef.sha256(file), model, dims);
    }

    @Test
    void shouldSampleEveryComputedLayerWholeAndEveryRowSplitLayerOnAQuarterOfItsRows() throws Exception
    {
        final ModelRef m = selfTestModel();
        checkSamples(m.graph, DeviceProfiler.measure(m.model, m.inputDims, m.graph, m.outputLayers, 1, "test-device",
            1e9, 1L << 30, 0));
    }

    @Test
    void shouldSampleAlikeWhenTheWeightsArePreparedOneLayerAtATime() throws Exception
    {
        final ModelRef m = selfTestModel();
        final long[] stats = new long[3];
        // chunks of one byte: every layer is prepared alone
        checkSamples(m.graph, DeviceProfiler.measure(m.model, m.inputDims, m.graph, m.outputLayers, 1, "test-device",
            1e9, 1L << 30, 0, 1, stats));
        int computed = 0;
        for (final Layer layer : m.graph.layers())
        {
            computed += layer.isSource() ? 0 : 1;
        }
        // at least two timed runs per chunk
        assertTrue(stats[1] >= 2L * computed, stats[1] + " timed runs for " + computed + " chunks");
    }

    @Test
    void shouldNotProfileALayerWhoseWeightsMayNotFitTheDevice() throws Exception
    {
        final ModelRef m = selfTestModel();
        long largest = 0;
        int largestId = -1;
        for (final Layer layer : m.graph.layers())
        {
            final long bytes = layer.isSource() ? 0 : DeviceProfiler.weightBytesEstimate(layer);
            if (bytes > largest)
            {
                largest = bytes;
                largestId = layer.id();
            }
        }
        final DeviceProfile p = DeviceProfiler.measure(m.model, m.inputDims, m.graph, m.outputLayers, 1, "small",
            1e9, largest - 1, 0);
        assertTrue(p.sampleCount() > 0);
        for (int i = 0; i < p.sampleCount(); i++)
        {
            assertTrue(p.layer(i) != largestId, "sample " + i + " of layer " + largestId);
            assertTrue(p.ns(i) > 0);
        }
    }

    private static void checkSamples(final LayerGraph graph, final DeviceProfile p)
    {
        final int[] whole = new int[graph.layerCount()];
        final int[] partial = new int[graph.layerCount()];
        int computed = 0;
        int rowSplit = 0;
        for (final Layer layer : graph.layers())
        {
            if (!layer.isSource())
            {
                computed++;
                rowSplit += !layer.isGlobal() && layer.heightRows() >= 2 ? 1 : 0;
            }
        }
        assertTrue(rowSplit > 0 && rowSplit < computed, rowSplit + " of " + computed);
        for (int i = 0; i < p.sampleCount(); i++)
        {
            final Layer layer = graph.layer(p.layer(i));
            assertTrue(!layer.isSource(), "sample " + i + " of source " + layer);
            assertTrue(p.ns(i) > 0, "sample " + i + " took " + p.ns(i) + " ns");
            if (p.rows(i) == layer.heightRows())
            {
                whole[layer.id()]++;
            }
            else
            {
                assertEquals(Math.max(1, layer.heightRows() / 4), p.rows(i), layer.toString());
                assertTrue(!layer.isGlobal(), layer.toString());
                partial[layer.id()]++;
            }
        }
        int partials = 0;
        for (final Layer layer : graph.layers())
        {
            assertEquals(layer.isSource() ? 0 : 1, whole[layer.id()], layer.toString());
            final boolean split = !layer.isSource() && !layer.isGlobal() && layer.heightRows() >= 2;
            assertEquals(split ? 1 : 0, partial[layer.id()], layer.toString());
            partials += partial[layer.id()];
        }
        assertEquals(computed + partials, p.sampleCount());
        assertEquals("test-device", p.deviceKey());
        assertEquals(1L << 30, p.memoryBytes());
    }

    @Test
    void shouldReadTheSecondProfileOfAModelOnTheSameDeviceFromTheCache() throws Exception
    {
        final ModelRef m = selfTestModel();
        final ProfileCache cache = new ProfileCache(dir.resolve("profiles"));
        final DeviceProfiler profiler = new DeviceProfiler(1, 256L << 20, cache);
        final StringWriter log = new StringWriter();
        final DeviceProfile first = profiler.profile(m, 2e9, new PrintWriter(log, true), "test");
        assertTrue(log.toString().contains("measured"), log.toString());
        assertTrue(Files.isRegularFile(cache.fileOf(m.sha256, profiler.deviceKey())));
        final StringWriter log2 = new StringWriter();
        final DeviceProfile second = profiler.profile(m, 3e9, new PrintWriter(log2, true), "test");
        assertTrue(log2.toString().contains("from " + cache.fileOf(m.sha256, profiler.deviceKey())), log2.toString());
        assertEquals(first.sampleCount(), second.sampleCount());
        for (int i = 0; i < first.sampleCount(); i++)
        {
            assertArrayEquals(new long[] {first.layer(i), first.rows(i), first.ns(i)},
                new long[] {second.layer(i), second.rows(i), second.ns(i)}, "sample " + i);
        }
        // the rate is today's calibration, the memory the device's stated limit
        assertEquals(3e9, second.calibratedFlopsPerSecond());
        assertEquals(256L << 20, second.memoryBytes());
        assertEquals(profiler.deviceKey(), second.deviceKey());
    }
}
