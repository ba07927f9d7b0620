package io.baton.kvtransfer.transport;

import java.io.IOException;
import java.net.InetSocketAddress;

/** Test access to the TCP transport's address parser. */
public final class TcpKvTransportAccess {
    private TcpKvTransportAccess() {}

    public static InetSocketAddress parse(String address) throws IOException {
        return TcpKvTransport.parse(address);
    }
}
