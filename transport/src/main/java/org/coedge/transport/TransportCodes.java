package org.coedge.transport;

/**
 * Return codes of the hot-path calls ({@link RowBlockPublisher#send}, {@link RowBlockReceiver#receive}); negative is
 * failure. The numbers match the engine's row-exchange codes where the meaning is the same.
 */
public final class TransportCodes
{
    public static final int OK = 0;
    /** No room (back-pressure, not connected) or no block within the timeout. */
    public static final int TIMED_OUT = -1;
    /** The next block of the stream is not the one expected: the two sides' programs disagree. */
    public static final int OUT_OF_ORDER = -2;
    /** The wait was given up because {@link WaitHook#keepWaiting()} said so. */
    public static final int ABORTED = -3;
    /** The memory named does not hold the bytes named. */
    public static final int BAD_RANGE = -4;
    /** The publication or image is closed. */
    public static final int CLOSED = -6;

    private TransportCodes()
    {
    }

    public static String name(final int code)
    {
        switch (code)
        {
            case OK:
                return "OK";
            case TIMED_OUT:
                return "TIMED_OUT";
            case OUT_OF_ORDER:
                return "OUT_OF_ORDER";
            case ABORTED:
                return "ABORTED";
            case BAD_RANGE:
                return "BAD_RANGE";
            case CLOSED:
                return "CLOSED";
            default:
                return "code " + code;
        }
    }
}
