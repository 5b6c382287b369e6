package org.coedge.planner.policy;

import java.util.List;

import org.coedge.planner.DeviceProgram;
import org.coedge.planner.LayerGraph;
import org.coedge.planner.Plan;

/**
 * Which plan the coordinator runs, and when it should make a new one: the one seam between the coordinator's
 * mechanics (membership, probing, distributing a plan, running requests; in the engine) and the choice of plan (this
 * package: pure, it sees only the numbers it is given).
 * {@link SharePlanPolicy} (rows by a {@link SharePolicy}, fused to a fixed or estimated depth) is what
 * {@code coedge run --peers} uses unless a policy is given to the coordinator.
 * <p>
 * Called by the coordinator's plan session, on the coordinator's thread only: {@link #plan} whenever a plan is
 * needed (at start, when a worker joins again or fails, and when {@link #wantsReplan} said so), {@link #learn} then
 * {@link #wantsReplan} after every successful request.
 */
public interface PlanPolicy
{
    /**
     * @param graph        the model's layers.
     * @param outputLayers the layers whose outputs the model returns (gathered onto device 0).
     * @param view         the devices to plan for: device 0 is the coordinator, each other device a live worker.
     * @param epoch        the epoch the plan must carry.
     * @return a plan over exactly {@code view.deviceCount()} devices, valid for {@code graph}.
     */
    Plan plan(LayerGraph graph, int[] outputLayers, ClusterView view, long epoch);

    /**
     * Takes the step times of one successful request run under {@code plan}.
     *
     * @param programs the devices' programs compiled from {@code plan}, in device order.
     * @param times    every device's step durations in program order; reused after the call returns.
     */
    void learn(Plan plan, List<DeviceProgram> programs, RequestTimes times);

    /**
     * Asked after each {@link #learn}: the next request then runs under a new plan (epoch + 1).
     *
     * @param now the devices of the current plan as they are now (measured rates updated by the last request).
     * @return true to plan again before the next request.
     */
    boolean wantsReplan(ClusterView now);

    /**
     * Told when a link's measured rate changed ({@code now} carries the new rates): the policy may choose the plan it
     * would make for them.
     *
     * @return true to plan again before the next request.
     */
    default boolean linksChanged(final ClusterView now)
    {
        return false;
    }

    /**
     * @return true while the policy is still measuring plans against each other to choose one (the requests then
     * run under plans it may not keep); a caller that times steady requests runs on until this is false.
     */
    default boolean exploring()
    {
        return false;
    }

    /**
     * @return the fuse depth the last plan was made with, for reports; 0 when its stages have no single depth.
     */
    default int fuseDepth()
    {
        return 0;
    }
}
