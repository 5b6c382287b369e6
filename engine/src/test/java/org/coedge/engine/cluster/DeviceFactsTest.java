package org.coedge.engine.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.coedge.planner.CpuQuota;
import org.junit.jupiter.api.Test;

/** The CPU quota the planner reads back from a device key. */
class DeviceFactsTest
{
    @Test
    void shouldReadTheQuotaOfOneThreadUnderACore()
    {
        final CpuQuota q = DeviceFacts.quotaOf("cpu=AMD EPYC;blas=Haswell;threads=1;cores=0.4500;period-us=10000;" +
            "memory-mib=512;winograd=on;method=3");
        assertEquals(0.45, q.cores(), 1e-9);
        assertEquals(10e6, q.periodNs(), 1e-3);
    }

    @Test
    void shouldModelNoQuotaWhereTheKeyHasNoneOrMoreThreadsOrCores()
    {
        assertNull(DeviceFacts.quotaOf("cpu=x;threads=1;cores=unlimited;memory-mib=512"));
        assertNull(DeviceFacts.quotaOf("cpu=x;threads=2;cores=0.4500;period-us=10000"));
        assertNull(DeviceFacts.quotaOf("cpu=x;threads=1;cores=1.5000;period-us=10000"));
        assertNull(DeviceFacts.quotaOf("cpu=x;threads=1;cores=0.4500")); // a key of before periods were named
        assertNull(DeviceFacts.quotaOf("cpu=x;threads=1;cores=zero;period-us=10000"));
        assertNull(DeviceFacts.quotaOf("node 3"));
    }
}
