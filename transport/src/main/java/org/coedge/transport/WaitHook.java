package org.coedge.transport;

/**
 * Called on the waiting thread each time a send or receive finds nothing to do, before it idles: the owner polls what
 * else it must (control messages, peer liveness) and says whether to keep waiting. Must not allocate or throw.
 */
@FunctionalInterface
public interface WaitHook
{
    WaitHook NONE = () -> true;

    /** @return false to give the wait up (the call then returns {@link TransportCodes#ABORTED}). */
    boolean keepWaiting();
}
