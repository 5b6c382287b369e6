package org.coedge.transport;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;

/**
 * {@code HOST:PORT} strings as the command line and the control messages carry them. Cold path.
 */
public final class Endpoints
{
    private Endpoints()
    {
    }

    /**
     * @return the endpoint as an unresolved address.
     * @throws IllegalArgumentException naming what is wrong with it.
     */
    public static InetSocketAddress parse(final String endpoint)
    {
        if (endpoint == null || endpoint.isBlank())
        {
            throw new IllegalArgumentException("endpoint is empty; expected HOST:PORT");
        }
        final int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1)
        {
            throw new IllegalArgumentException("endpoint '" + endpoint + "' is not HOST:PORT");
        }
        final String host = endpoint.substring(0, colon);
        final int port;
        try
        {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        }
        catch (final NumberFormatException e)
        {
            throw new IllegalArgumentException("endpoint '" + endpoint + "' has no numeric port");
        }
        if (port < 0 || port > 65535)
        {
            throw new IllegalArgumentException("endpoint '" + endpoint + "' has port outside [0, 65535]");
        }
        if (host.indexOf('|') >= 0 || host.indexOf('=') >= 0 || host.indexOf('?') >= 0)
        {
            throw new IllegalArgumentException("endpoint '" + endpoint + "' has characters a channel forbids");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    /**
     * @return the address of this host that routes to {@code peer}, found by connecting a UDP socket (no packet is
     * sent), so a coordinator can tell its peers where to answer.
     */
    public static String localAddressTowards(final String peer)
    {
        final InetSocketAddress address = parse(peer);
        try (DatagramSocket socket = new DatagramSocket())
        {
            socket.connect(new InetSocketAddress(address.getHostString(), Math.max(1, address.getPort())));
            return socket.getLocalAddress().getHostAddress();
        }
        catch (final IOException e)
        {
            throw new IllegalArgumentException("no route to peer " + peer + ": " + e.getMessage(), e);
        }
    }
}
