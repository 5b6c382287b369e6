package org.coedge.engine.io;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostTensorTest
{
    @Test
    void shouldRejectDataNotMatchingShape()
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> new HostTensor("x", new long[]{ 2, 3 }, new float[5]));

        assertTrue(ex.getMessage().contains("[2, 3] needs 6 elements, given 5"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new HostTensor("x", new long[]{ -1 }, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> new HostTensor(null, new long[]{ 1 }, new float[1]));
    }

    @Test
    void shouldCopyOnTheWayInAndOut()
    {
        final long[] dims = { 1, 2 };
        final float[] data = { 1f, 2f };
        final HostTensor tensor = new HostTensor("x", dims, data);

        dims[1] = 7;
        data[0] = 9f;
        tensor.dims()[0] = 5;
        tensor.data()[1] = 5f;

        assertArrayEquals(new long[]{ 1, 2 }, tensor.dims());
        assertArrayEquals(new float[]{ 1f, 2f }, tensor.data());
        assertEquals(2f, tensor.get(1));
        assertEquals(2, tensor.size());
        assertEquals(2, tensor.rank());
    }

    @Test
    void shouldCompareByNameShapeAndValues()
    {
        final HostTensor tensor = new HostTensor("x", new long[]{ 2 }, new float[]{ 1f, 2f });

        assertEquals(tensor, new HostTensor("x", new long[]{ 2 }, new float[]{ 1f, 2f }));
        assertEquals(tensor.hashCode(), new HostTensor("x", new long[]{ 2 }, new float[]{ 1f, 2f }).hashCode());
        assertNotEquals(tensor, tensor.withName("y"));
        assertNotEquals(tensor, new HostTensor("x", new long[]{ 1, 2 }, new float[]{ 1f, 2f }));
        assertNotEquals(tensor, new HostTensor("x", new long[]{ 2 }, new float[]{ 1f, 3f }));
    }
}
