package org.coedge.engine.api;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a {@link Session} runs: worker threads, the concrete NCHW dims of inputs the model leaves dynamic, and whether
 * convolutions may use Winograd.
 * A small fluent value object; validated as it is set.
 */
public final class SessionOptions
{
    private int threads = 1;
    private boolean winograd = org.coedge.engine.exec.Lowering.winogradByDefault();
    private final Map<String, long[]> inputDims = new LinkedHashMap<>();

    /** @return options with {@code threads} worker threads (caller included). */
    public static SessionOptions threads(final int threads)
    {
        return new SessionOptions().withThreads(threads);
    }

    public SessionOptions withThreads(final int threads)
    {
        if (threads < 1 || threads > 256)
        {
            throw new IllegalArgumentException("threads must be in 1..256: " + threads);
        }
        this.threads = threads;
        return this;
    }

    /** Sets the NCHW dims of input {@code name}. */
    public SessionOptions withInputDims(final String name, final long... dims)
    {
        for (final long d : dims)
        {
            if (d < 1)
            {
                throw new IllegalArgumentException("input '" + name + "' dims must be positive: " +
                    Arrays.toString(dims));
            }
        }
        inputDims.put(name, dims.clone());
        return this;
    }

    /**
     * Allows or forbids Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions (allowed by default unless the process
     * sets {@code -Dcoedge.winograd=false}); where allowed, the engine uses it on the layers where it measured faster.
     */
    public SessionOptions withWinograd(final boolean allowed)
    {
        this.winograd = allowed;
        return this;
    }

    public boolean winograd()
    {
        return winograd;
    }

    public int threads()
    {
        return threads;
    }

    public Map<String, long[]> inputDims()
    {
        return Collections.unmodifiableMap(inputDims);
    }
}
