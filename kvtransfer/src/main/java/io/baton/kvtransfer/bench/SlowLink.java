package io.baton.kvtransfer.bench;

import io.baton.engine.kv.BlockTable;
import io.baton.engine.kv.KvLayout;
import io.baton.engine.kv.KvStorage;
import io.baton.engine.kv.KvType;
import io.baton.kvtransfer.KvGrant;
import io.baton.kvtransfer.KvReceiver;
import io.baton.kvtransfer.KvSender;
import io.baton.kvtransfer.ModelFingerprint;
import io.baton.kvtransfer.OutgoingTransfer;
import io.baton.kvtransfer.WireType;
import io.baton.kvtransfer.transport.TcpKvTransport;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The two processes of the slow-link experiment ({@code scripts/slow-link.sh}): a receiver and a sender in separate
 * network namespaces, so the KV crosses a real (shaped) link. The grant travels over a tiny control connection on the
 * port after the KV port (in the product the router carries it). Reported: seconds from start to acknowledgement of a
 * prompt's KV (qwen2.5-0.5b shape, F32), all rows ready at once: the part of TTFT a transfer adds when it cannot
 * overlap the prefill.
 *
 * <pre>
 * KvBench receive --listen HOST:PORT [--max-tokens N]
 * KvBench send --to HOST:PORT [--tokens 512,2048,8192] [--wire native|int8] [--repetitions N] [--label NAME] [--json]
 * </pre>
 */
final class SlowLink {
    private SlowLink() {}

    private static final ModelFingerprint MODEL = ModelFingerprint.synthetic("kv-bench-slow-link");
    private static final KvLayout LAYOUT = KvBench.QWEN_05B.layout(KvType.F32);

    static void main(String[] args) {
        try {
            if (args[0].equals("receive")) receive(args);
            else send(args);
        } catch (IOException | RuntimeException e) {
            System.err.println("kv bench " + args[0] + ": " + e.getMessage());
            System.exit(1);
        }
    }

    private static String arg(String[] args, String name, String dflt) {
        for (int i = 1; i + 1 < args.length; i++) if (args[i].equals(name)) return args[i + 1];
        if (dflt == null) throw new IllegalArgumentException("missing " + name);
        return dflt;
    }

    private static InetSocketAddress hostPort(String s) {
        int colon = s.lastIndexOf(':');
        return new InetSocketAddress(s.substring(0, colon), Integer.parseInt(s.substring(colon + 1)));
    }

    /** Serves grants for the whole storage, one transfer at a time, until the sender says BYE. */
    static void receive(String[] args) throws IOException {
        InetSocketAddress at = hostPort(arg(args, "--listen", null));
        int maxTokens = Integer.parseInt(arg(args, "--max-tokens", "8192"));
        int blocks = LAYOUT.blocksForTokens(maxTokens);
        int[] ids = new int[blocks];
        for (int i = 0; i < blocks; i++) ids[i] = blocks - 1 - i;
        try (KvStorage kv = KvStorage.allocate(LAYOUT, blocks);
             TcpKvTransport transport = new TcpKvTransport(at);
             KvReceiver receiver = new KvReceiver(kv, MODEL, transport);
             ServerSocket control = new ServerSocket(at.getPort() + 1, 1, at.getAddress())) {
            System.out.println("receiving at " + receiver.address() + ", control port " + control.getLocalPort());
            System.out.flush();
            try (Socket s = control.accept(); DataInputStream in = new DataInputStream(s.getInputStream());
                 DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
                while (true) {
                    int tokens = in.readInt();
                    if (tokens <= 0) return; // BYE
                    byte[] g = receiver.grant(new BlockTable(ids, LAYOUT.blockSize()), tokens, Duration.ofMinutes(2), new KvBench.Outcome()).encode();
                    out.writeInt(g.length);
                    out.write(g);
                    out.flush();
                }
            }
        }
    }

    static void send(String[] args) throws IOException {
        InetSocketAddress to = hostPort(arg(args, "--to", null));
        int[] tokenCounts = Arrays.stream(arg(args, "--tokens", "512,2048,8192").split(",")).mapToInt(Integer::parseInt).toArray();
        WireType wire = WireType.parse(arg(args, "--wire", "native"));
        int reps = Integer.parseInt(arg(args, "--repetitions", "3"));
        String label = arg(args, "--label", "link");
        boolean json = Arrays.asList(args).contains("--json");
        int max = Arrays.stream(tokenCounts).max().orElseThrow();
        int blocks = LAYOUT.blocksForTokens(max);
        int[] ids = new int[blocks];
        for (int i = 0; i < blocks; i++) ids[i] = i;
        List<KvBench.Result> results = new ArrayList<>();
        try (KvStorage kv = KvStorage.allocate(LAYOUT, blocks);
             TcpKvTransport transport = new TcpKvTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             KvSender sender = new KvSender(kv, MODEL, transport, wire);
             Socket control = new Socket(to.getAddress(), to.getPort() + 1);
             DataInputStream in = new DataInputStream(control.getInputStream());
             DataOutputStream out = new DataOutputStream(control.getOutputStream())) {
            for (int l = 0; l < LAYOUT.layers(); l++) kv.layerSegment(l).fill((byte) 0x3c);
            for (int tokens : tokenCounts) {
                double best = Double.MAX_VALUE;
                for (int rep = 0; rep <= reps; rep++) { // the first run warms up
                    out.writeInt(tokens);
                    out.flush();
                    byte[] g = new byte[in.readInt()];
                    in.readFully(g);
                    KvBench.Outcome done = new KvBench.Outcome() {
                        @Override
                        public void succeeded(long id) {
                            super.succeeded(id);
                            super.succeeded(id); // only the sender's outcome is seen in this process
                        }
                    };
                    long t0 = System.nanoTime();
                    OutgoingTransfer t = sender.start(KvGrant.decode(g), new BlockTable(ids, LAYOUT.blockSize()), done);
                    t.allLayersReady(0, tokens);
                    done.await();
                    if (rep > 0) best = Math.min(best, KvBench.seconds(t0));
                }
                String name = "slowlink_" + label + "_" + sender.wire().name().toLowerCase() + "_" + tokens;
                results.add(new KvBench.Result(name + "_seconds", best, "s"));
                results.add(new KvBench.Result(name + "_kv_gbps", tokens * LAYOUT.bytesPerToken() * 8 / best / 1e9, "Gbit/s"));
            }
            out.writeInt(0);
            out.flush();
        }
        System.out.println(json ? KvBench.json(results) : KvBench.table(results));
    }
}
