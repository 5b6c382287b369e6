package org.coedge.engine.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.coedge.engine.io.HostTensor;
import org.coedge.engine.io.TensorFiles;

/**
 * What the testbed reads back from a device's run: the coordinator's explain table from its log, the lists of its
 * JSON, and how far its outputs are from the single-device reference. Stateless; called by {@link Testbed}.
 */
final class RunOutputs
{
    private RunOutputs()
    {
    }

    /** @return the coordinator's explain table from its log, from "plan epoch" to "end to end", or "". */
    static String explainTable(final Path stderr) throws IOException
    {
        if (!Files.exists(stderr))
        {
            return "";
        }
        final StringBuilder sb = new StringBuilder();
        boolean in = false;
        for (final String line : Files.readAllLines(stderr, StandardCharsets.UTF_8))
        {
            if (line.startsWith("plan epoch "))
            {
                in = true;
                sb.setLength(0);
            }
            if (in)
            {
                sb.append(line).append('\n');
                if (line.startsWith("end to end:"))
                {
                    in = false;
                }
            }
        }
        return sb.toString();
    }

    @SuppressWarnings("unchecked")
    static List<Object> castList(final Object o)
    {
        return (List<Object>)o;
    }

    /**
     * @return the largest {@link #relativeError(HostTensor, HostTensor)} over the outputs the run computed (an exit
     * it did not answer from is all NaN and left out).
     * @throws IllegalStateException if it computed none.
     */
    static double relativeError(final List<HostTensor> expected, final List<Path> actual) throws IOException
    {
        double worst = -1;
        for (int k = 0; k < expected.size(); k++)
        {
            final HostTensor got = TensorFiles.read(actual.get(k));
            boolean computed = false;
            for (final float v : got.data())
            {
                computed |= !Float.isNaN(v);
            }
            if (computed)
            {
                worst = Math.max(worst, relativeError(expected.get(k), got));
            }
        }
        if (worst < 0)
        {
            throw new IllegalStateException("the run computed none of the model's " + expected.size() + " outputs");
        }
        return worst;
    }

    /** @return max |a - b| over max |a|, over all of one output. */
    static double relativeError(final HostTensor expected, final HostTensor actual)
    {
        final float[] a = expected.data();
        final float[] b = actual.data();
        if (a.length != b.length)
        {
            throw new IllegalStateException("outputs differ in size: " + a.length + " and " + b.length);
        }
        double err = 0;
        double max = 0;
        for (int i = 0; i < a.length; i++)
        {
            err = Math.max(err, Math.abs((double)a[i] - b[i]));
            max = Math.max(max, Math.abs(a[i]));
        }
        return max > 0 ? err / max : err;
    }
}
