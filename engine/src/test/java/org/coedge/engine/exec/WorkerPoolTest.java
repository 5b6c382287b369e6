package org.coedge.engine.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

class WorkerPoolTest
{
    @Test
    void shouldRunEveryPartExactlyOncePerRun()
    {
        try (WorkerPool pool = new WorkerPool(3, "test"))
        {
            final AtomicIntegerArray counts = new AtomicIntegerArray(3);
            for (int run = 0; run < 2000; run++)
            {
                pool.run((part, parts) ->
                {
                    assertEquals(3, parts);
                    counts.incrementAndGet(part);
                });
            }
            for (int i = 0; i < 3; i++)
            {
                assertEquals(2000, counts.get(i));
            }
        }
    }

    @Test
    void shouldPropagateFailureOfAWorkerPart()
    {
        try (WorkerPool pool = new WorkerPool(2, "test"))
        {
            final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> pool.run((part, parts) ->
            {
                if (part == 1)
                {
                    throw new IllegalStateException("part 1 failed");
                }
            }));
            assertEquals("part 1 failed", ex.getMessage());
            final AtomicIntegerArray counts = new AtomicIntegerArray(2);
            pool.run((part, parts) -> counts.incrementAndGet(part));
            assertEquals(1, counts.get(1));
        }
    }
}
