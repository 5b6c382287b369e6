package org.coedge.engine.cluster;

import io.aeron.Publication;
import org.coedge.planner.Plan;

/**
 * A plan as a worker's control thread received it, handed to its compute thread to build (immutable, published
 * through a volatile field).
 */
final class PlanOrder
{
    final long sessionToken;
    final Publication toCoordinator;
    final ModelRef model;
    final Plan plan;
    final int device;
    final int[] nodes;
    final String[] endpoints;
    final int sessionBase;
    final int termLength;
    final int mtu;
    final long timeoutNs;

    PlanOrder(final long sessionToken, final Publication toCoordinator, final ModelRef model, final Plan plan,
        final int device, final int[] nodes, final String[] endpoints, final int sessionBase,
        final int termLength, final int mtu, final long timeoutNs)
    {
        this.sessionToken = sessionToken;
        this.toCoordinator = toCoordinator;
        this.model = model;
        this.plan = plan;
        this.device = device;
        this.nodes = nodes;
        this.endpoints = endpoints;
        this.sessionBase = sessionBase;
        this.termLength = termLength;
        this.mtu = mtu;
        this.timeoutNs = timeoutNs;
    }
}
