package org.coedge.engine.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the system tools the testbed drives ({@code ip}, {@code tc}) and waits for them. A failure is an
 * {@link IllegalStateException} naming the command and what it printed. Cold path; the caller's thread.
 */
final class Shell
{
    private static final long TIMEOUT_S = 30;

    private Shell()
    {
    }

    /** @return what {@code command} printed on stdout and stderr together. */
    static String run(final List<String> command)
    {
        final Result r = tryRun(command);
        if (r.exitCode != 0)
        {
            throw new IllegalStateException(String.join(" ", command) + " failed (exit " + r.exitCode + "): " +
                r.output.trim());
        }
        return r.output;
    }

    static String run(final String... command)
    {
        return run(List.of(command));
    }

    /** Runs {@code command} and returns its exit code and output; never throws for a failing command. */
    static Result tryRun(final List<String> command)
    {
        try
        {
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            final byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(TIMEOUT_S, TimeUnit.SECONDS))
            {
                p.destroyForcibly();
                return new Result(-1, "timed out after " + TIMEOUT_S + " s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        }
        catch (final IOException e)
        {
            return new Result(-1, e.getMessage());
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    static Result tryRun(final String... command)
    {
        return tryRun(List.of(command));
    }

    /** A finished command. */
    static final class Result
    {
        final int exitCode;
        final String output;

        Result(final int exitCode, final String output)
        {
            this.exitCode = exitCode;
            this.output = output;
        }
    }
}
