package org.coedge.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.agrona.concurrent.IdleStrategy;
import org.junit.jupiter.api.Test;

/**
 * The hand-offs that let a driver and the threads waiting on it sleep long: a waiter is woken by the driver's work,
 * a cold driver by a message sent, and hot / cold follow sends and waits. Parks here are 30 s, so a thread that
 * comes back within the 10 s the test waits was woken, not timed out.
 */
class DriverWakeupsTest
{
    private static final long LONG_PARK_NS = TimeUnit.SECONDS.toNanos(30);

    /** A thread idling on no work, parked in the long park of {@code idle}, until it is stopped. */
    private static final class Sleeper
    {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final CountDownLatch done = new CountDownLatch(1);

        Sleeper(final IdleStrategy idle) throws InterruptedException
        {
            final CountDownLatch started = new CountDownLatch(1);
            final Thread t = new Thread(() ->
            {
                started.countDown();
                while (!stop.get())
                {
                    idle.idle(0);
                }
                done.countDown();
            });
            t.setDaemon(true);
            t.start();
            started.await();
            Thread.sleep(100); // past the backoff's short parks: now in its 30 s one
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (t.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < deadline)
            {
                Thread.sleep(1);
            }
            assertTrue(t.getState() == Thread.State.TIMED_WAITING, "the idler never parked: " + t.getState());
            stop.set(true); // seen at its next wake only
        }

        /** @return true if the thread came back within 10 s, i.e. was woken rather than timed out. */
        boolean woken() throws InterruptedException
        {
            return done.await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void shouldWakeAWaiterWhenTheDriverHasDoneWork() throws Exception
    {
        final DriverWakeups wakeups = new DriverWakeups(100_000, LONG_PARK_NS);
        final Sleeper waiter = new Sleeper(wakeups.waitIdle(true, LONG_PARK_NS));
        wakeups.driverIdle().idle(1); // the driver's agent reports work
        assertTrue(waiter.woken(), "the waiter slept on after the driver's work");
    }

    @Test
    void shouldWakeADriverSleepingColdWhenAMessageIsSent() throws Exception
    {
        final DriverWakeups wakeups = new DriverWakeups(100_000, LONG_PARK_NS);
        final Sleeper driver = new Sleeper(wakeups.driverIdle());
        wakeups.sent();
        assertTrue(driver.woken(), "the driver slept on after a message was sent");
    }

    @Test
    void shouldBeHotAfterASendAndDuringAHotWaitButNotForAListener() throws Exception
    {
        final DriverWakeups wakeups = new DriverWakeups(100_000, LONG_PARK_NS);
        assertFalse(wakeups.isHot());
        wakeups.sent();
        assertTrue(wakeups.isHot());

        final DriverWakeups listened = new DriverWakeups(100_000, LONG_PARK_NS);
        final IdleStrategy listen = listened.waitIdle(false, 1_000);
        for (int i = 0; i < 1000; i++)
        {
            listen.idle(0);
        }
        assertFalse(listened.isHot(), "a listening loop kept the driver hot");

        final DriverWakeups waited = new DriverWakeups(100_000, LONG_PARK_NS);
        final IdleStrategy wait = waited.waitIdle(true, 1_000);
        for (int i = 0; i < 1000; i++)
        {
            wait.idle(0);
        }
        assertTrue(waited.isHot(), "a thread waiting for rows did not keep the driver hot");
    }

    @Test
    void shouldRefuseParksOutOfOrder()
    {
        assertThrows(IllegalArgumentException.class, () -> new DriverWakeups(0, 1000));
        assertThrows(IllegalArgumentException.class, () -> new DriverWakeups(2000, 1000));
    }

    @Test
    void shouldTellWhetherAMessageWasSentLately() throws Exception
    {
        final DriverWakeups wakeups = new DriverWakeups(100_000, LONG_PARK_NS);
        assertFalse(wakeups.sentWithin(java.util.concurrent.TimeUnit.DAYS.toNanos(1)), "nothing sent yet");
        wakeups.sent();
        assertTrue(wakeups.sentWithin(java.util.concurrent.TimeUnit.SECONDS.toNanos(10)));
        Thread.sleep(5);
        assertFalse(wakeups.sentWithin(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(1)), "5 ms ago");
    }
}
