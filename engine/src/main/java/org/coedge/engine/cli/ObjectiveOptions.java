package org.coedge.engine.cli;

import org.coedge.planner.policy.PlanObjective;

import picocli.CommandLine.Option;

/** {@code --objective} and {@code --deadline-ms}, shared by the commands that plan ({@code run}, {@code plan}). */
final class ObjectiveOptions
{
    @Option(names = "--objective", paramLabel = "latency|accuracy|energy", defaultValue = "latency",
        description = "What the adaptive planner optimises: latency (default), accuracy (the most accurate exit " +
            "predicted to meet --deadline-ms) or energy (the least energy, under the devices' --power models, " +
            "predicted to meet --deadline-ms).")
    String objective;

    @Option(names = "--deadline-ms", paramLabel = "MS", defaultValue = "0",
        description = "Deadline of one request for --objective accuracy and energy, in milliseconds.")
    double deadlineMs;

    /** @throws IllegalArgumentException naming a bad value. */
    PlanObjective objective()
    {
        return PlanObjective.of(objective, deadlineMs);
    }
}
