package org.coedge.transport;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

import org.agrona.concurrent.IdleStrategy;

/**
 * Lets an embedded media driver with threads of its own (SHARED, SHARED_NETWORK, DEDICATED) and the node's waiting
 * threads sleep long when nothing is going on, without delaying a message when something is.
 * <p>
 * Aeron polls its sockets; it cannot block on them. A driver parked 100 us at a time wakes 10,000 times a second,
 * which cost an idle worker about 11% of a core (19% of a 0.45-core quota's share, half of a 0.225-core one's). So:
 * <ul>
 * <li>the driver parks up to the <em>hot</em> park ({@code coedge.driver.max.park.us}) while the node is busy with
 * the network: within {@link #HOT_WINDOW_NS} of a message it sent, or while one of its threads waits for rows or
 * room ({@link #waitIdle(boolean, long)} with {@code hot}), and up to the <em>cold</em> park
 * ({@code coedge.driver.idle.park.us}) otherwise;</li>
 * <li>a thread that commits a message calls {@link #sent()}, which wakes a driver thread sleeping its cold park, so
 * a block leaves when it is committed, not when the driver next wakes;</li>
 * <li>a waiting thread parks long too: whenever a driver thread has done work (a frame received, a status
 * message) it wakes every waiting thread, which then polls. A wake cannot be lost: a waiter registers before it
 * re-reads the driver's work count and the driver counts its work before it scans the registered waiters.</li>
 * </ul>
 * Owned by a {@link TransportNode}; every method allocates nothing and may be called from any thread.
 */
public final class DriverWakeups
{
    /** How long after a message sent the driver stays hot (status messages and retransmits follow sends). */
    static final long HOT_WINDOW_NS = 2_000_000;
    /** Threads that may sleep registered at once (drivers and waiters each); one more sleeps without being woken. */
    static final int MAX_SLEEPERS = 32;
    private static final int SPINS = 50;
    private static final int YIELDS = 5;
    private static final long MIN_PARK_NS = 1_000;
    /** Parks double from {@link #MIN_PARK_NS} up to this (about 130 us in all), then take their full length. */
    private static final long RAMP_PARK_NS = 64_000;

    private final long hotParkNs;
    private final long coldParkNs;
    private final AtomicReferenceArray<Thread> coldDrivers = new AtomicReferenceArray<>(MAX_SLEEPERS);
    private final AtomicReferenceArray<Thread> waiters = new AtomicReferenceArray<>(MAX_SLEEPERS);
    private final AtomicInteger driverSlotsUsed = new AtomicInteger();
    private final AtomicInteger waiterSlotsUsed = new AtomicInteger();
    private final AtomicLong driverWork = new AtomicLong();
    private volatile long hotUntilNs;
    private volatile long lastSentNs = System.nanoTime() - Long.MAX_VALUE / 2;

    /**
     * @param hotParkNs  longest driver park while the node is busy with the network.
     * @param coldParkNs longest driver park otherwise.
     */
    public DriverWakeups(final long hotParkNs, final long coldParkNs)
    {
        if (hotParkNs <= 0 || coldParkNs < hotParkNs)
        {
            throw new IllegalArgumentException("driver parks must be 0 < hot (" + hotParkNs + " ns) <= cold (" +
                coldParkNs + " ns)");
        }
        this.hotParkNs = hotParkNs;
        this.coldParkNs = coldParkNs;
    }

    /** @return a new idle strategy for one of the driver's agent threads. */
    public IdleStrategy driverIdle()
    {
        return new DriverIdle();
    }

    /**
     * @param hot       true for a wait on the network (rows, room, an answer): the driver stays hot meanwhile; false
     *                  for a loop that only listens (a worker between requests).
     * @param maxParkNs longest park of the waiting thread; the driver wakes it earlier when it has done work.
     * @return a new idle strategy for one waiting thread.
     */
    public IdleStrategy waitIdle(final boolean hot, final long maxParkNs)
    {
        return new WaitIdle(hot, Math.max(MIN_PARK_NS, maxParkNs));
    }

    /** Called after committing a message: keeps the driver hot for a while and wakes it if it sleeps cold. */
    public void sent()
    {
        final long now = System.nanoTime();
        lastSentNs = now;
        hotUntilNs = now + HOT_WINDOW_NS;
        wakeAll(coldDrivers, driverSlotsUsed.get());
    }

    /** @return true if a message was committed in the last {@code ns} nanoseconds. */
    public boolean sentWithin(final long ns)
    {
        return System.nanoTime() - lastSentNs < ns;
    }

    /** @return true while the driver parks short (a message sent lately or a hot wait going on). */
    public boolean isHot()
    {
        return System.nanoTime() - hotUntilNs < 0;
    }

    long driverWorkCount()
    {
        return driverWork.get();
    }

    private static void wakeAll(final AtomicReferenceArray<Thread> sleepers, final int used)
    {
        for (int i = 0; i < used; i++)
        {
            final Thread t = sleepers.get(i);
            if (t != null)
            {
                LockSupport.unpark(t);
            }
        }
    }

    /** @return the slot taken for the calling thread, or -1 when every slot is taken. */
    private static int register(final AtomicReferenceArray<Thread> sleepers, final AtomicInteger used)
    {
        final Thread me = Thread.currentThread();
        for (int i = 0; i < MAX_SLEEPERS; i++)
        {
            if (sleepers.get(i) == null && sleepers.compareAndSet(i, null, me))
            {
                used.accumulateAndGet(i + 1, Math::max);
                return i;
            }
        }
        return -1;
    }

    /**
     * Backs off: spins, then yields, then parks doubling from 1 us to 64 us (what follows a frame comes soon), then
     * parks of the full length chosen at each park.
     */
    private abstract static class Backoff implements IdleStrategy
    {
        private int spins;
        private int yields;
        long parkNs = MIN_PARK_NS;

        @Override
        public void idle(final int workCount)
        {
            if (workCount > 0)
            {
                reset();
            }
            else
            {
                idle();
            }
        }

        @Override
        public void idle()
        {
            if (spins < SPINS)
            {
                spins++;
                Thread.onSpinWait();
            }
            else if (yields < YIELDS)
            {
                yields++;
                Thread.yield();
            }
            else
            {
                park();
            }
        }

        abstract void park();

        /** @return the next park of the ramp, or 0 when the ramp is over. */
        long rampParkNs()
        {
            if (parkNs > RAMP_PARK_NS)
            {
                return 0;
            }
            final long ns = parkNs;
            parkNs <<= 1;
            return ns;
        }

        @Override
        public void reset()
        {
            spins = 0;
            yields = 0;
            parkNs = MIN_PARK_NS;
        }
    }

    private final class DriverIdle extends Backoff
    {
        @Override
        public void idle(final int workCount)
        {
            if (workCount > 0)
            {
                // count first, then scan: a waiter that registered after the scan sees the new count and polls
                driverWork.getAndIncrement();
                wakeAll(waiters, waiterSlotsUsed.get());
            }
            super.idle(workCount);
        }

        @Override
        void park()
        {
            final long ramp = rampParkNs();
            if (ramp > 0 || isHot())
            {
                LockSupport.parkNanos(ramp > 0 ? Math.min(ramp, hotParkNs) : hotParkNs);
                return;
            }
            final int slot = register(coldDrivers, driverSlotsUsed);
            // registered first, then re-read: a send after the check finds this thread in its slot and wakes it
            if (slot < 0 || isHot())
            {
                LockSupport.parkNanos(hotParkNs);
            }
            else
            {
                LockSupport.parkNanos(coldParkNs);
            }
            if (slot >= 0)
            {
                coldDrivers.set(slot, null);
            }
        }

        @Override
        public String alias()
        {
            return "coedge-driver";
        }
    }

    private final class WaitIdle extends Backoff
    {
        private final boolean hot;
        private final long maxParkNs;
        private long seenWork = -1;

        WaitIdle(final boolean hot, final long maxParkNs)
        {
            this.hot = hot;
            this.maxParkNs = maxParkNs;
        }

        @Override
        void park()
        {
            final long work = driverWork.get();
            if (work != seenWork)
            {
                // the driver did something since this thread last looked: look again before sleeping
                seenWork = work;
                return;
            }
            if (hot)
            {
                final boolean wasCold = !isHot();
                hotUntilNs = System.nanoTime() + Math.max(HOT_WINDOW_NS, 2 * maxParkNs);
                if (wasCold)
                {
                    wakeAll(coldDrivers, driverSlotsUsed.get());
                }
            }
            final long ramp = rampParkNs();
            final long ns = ramp > 0 ? Math.min(ramp, maxParkNs) : maxParkNs;
            final int slot = register(waiters, waiterSlotsUsed);
            if (slot < 0)
            {
                LockSupport.parkNanos(Math.min(ns, hotParkNs));
                return;
            }
            if (driverWork.get() == seenWork)
            {
                LockSupport.parkNanos(ns);
            }
            waiters.set(slot, null);
        }

        @Override
        public String alias()
        {
            return hot ? "coedge-wait" : "coedge-listen";
        }
    }
}
