package org.coedge.engine.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

import org.coedge.engine.graph.ModelException;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code coedge} command line: {@code info}, {@code run}, {@code zoo}. Every failure a user can cause (a bad
 * model, a bad input file, a wrong shape) ends with one line on stderr and a non-zero exit code, never a stack
 * trace. Runs on the main thread.
 */
@Command(
    name = "coedge",
    mixinStandardHelpOptions = true,
    version = "coedge 0.1.0",
    description = "Cooperative CNN inference engine for edge devices.",
    subcommands = {InfoCommand.class, RunCommand.class, PlanCommand.class, ZooCommand.class, ExitsCommand.class,
        WorkerCommand.class, DemoCommand.class, SelfTestCommand.class, TestbedCommand.class, CalibrateCommand.class,
        CommandLine.HelpCommand.class})
public final class CoEdgeCli
{
    /** Exit code for bad input: model, tensor file, shape or argument. */
    public static final int EXIT_BAD_INPUT = 2;
    /** Exit code for an internal failure. */
    public static final int EXIT_INTERNAL = 3;

    private CoEdgeCli()
    {
    }

    public static void main(final String[] args)
    {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given streams; returns the exit code (used by tests). */
    public static int execute(final String[] args, final PrintWriter out, final PrintWriter err)
    {
        final CommandLine cl = new CommandLine(new CoEdgeCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) ->
        {
            final boolean userError = isUserError(ex);
            commandLine.getErr().println("coedge: error: " + describe(ex));
            commandLine.getErr().flush();
            return userError ? EXIT_BAD_INPUT : EXIT_INTERNAL;
        });
        final int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    private static boolean isUserError(final Throwable ex)
    {
        return ex instanceof ModelException || ex instanceof IOException || ex instanceof UncheckedIOException ||
            ex instanceof IllegalArgumentException;
    }

    static String describe(final Throwable ex)
    {
        if (ex instanceof NoSuchFileException)
        {
            return "no such file: " + ex.getMessage();
        }
        final Throwable cause = ex instanceof UncheckedIOException ? ex.getCause() : ex;
        final String msg = cause.getMessage();
        final String text = msg == null || msg.isBlank() ? cause.getClass().getSimpleName() : msg;
        return text.replace('\n', ' ');
    }
}
