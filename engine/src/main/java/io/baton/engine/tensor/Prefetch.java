package io.baton.engine.tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Software prefetch of weight rows: asks the core to start loading cache lines that a kernel will read soon, without
 * waiting for them. The tile path of {@link MatMul} asks for the next 4-row panel while the tiles of the current one
 * run, so that its dequantization finds the bytes in cache instead of stalling on memory (BLAS libraries and
 * llama.cpp's kernels prefetch the same way).
 *
 * <p>Why machine code: Java has no prefetch (HotSpot removed {@code Unsafe.prefetch*} in JDK 9), and a plain load
 * does not do it: a "touch" of each line, spread over the tile loop or run as a pass of its own, blocks retirement
 * until the line arrives (JMH, 16 tokens: 186 -> 140-164 GFLOP/s). So this class maps one page, writes the 67 bytes
 * of {@link #CODE} into it, makes it read+execute (never writable and executable at once) and calls it through the
 * FFM linker as a "critical" function (no thread-state transition: a few nanoseconds per call, for a function that
 * neither blocks nor calls back). Prefetch instructions never fault, so a stale or wrong address costs nothing.
 *
 * <p>Only on x86-64 Linux; elsewhere, or when the page cannot be mapped, {@link #enabled} is false and the kernels run
 * as before. {@code -Dbaton.prefetch=false} turns it off (for comparisons).
 *
 * <p>Measured, engine, qwen2.5-0.5b Q8_0, 2 threads, steps alternating with and without it in one JVM (so the
 * machine's drift cancels, {@code scripts/step-ab}): batch 16 +1.5 to +5.7% in eight runs, batch 64 unchanged (-0.4%,
 * +0.2%); prefetching two panels ahead or into L2 only ({@code prefetcht1}) was no better.
 */
final class Prefetch {
    private Prefetch() {}

    /**
     * {@code void pf(const char *p, int lines, long stride, int rows)}: {@code prefetcht0 [p + r*stride + 64*l]} for
     * {@code r < rows}, {@code l < lines}; what gcc 14 -O1 makes of
     * <pre>
     * for (int r = 0; r < rows; r++, p += stride)
     *     for (int l = 0; l < lines; l++) __builtin_prefetch(p + 64L * l, 0, 3);
     * </pre>
     * (System V calling convention: p in rdi, lines in esi, stride in rdx, rows in ecx; jumps are relative, so the
     * bytes run at any address.)
     */
    private static final byte[] CODE = bytes(
            "85 c9",                // test ecx,ecx
            "7e 3e",                // jle ret
            "4c 63 ce",             // movsxd r9,esi
            "4c 89 c8",             // mov rax,r9
            "48 c1 e0 06",          // shl rax,6
            "48 01 c7",             // add rdi,rax          rdi = end of row 0's lines
            "49 f7 d9",             // neg r9
            "49 c1 e1 06",          // shl r9,6             r9 = -64*lines
            "41 b8 00 00 00 00",    // mov r8d,0            r = 0
            "eb 18",                // jmp row
            "0f 18 08",             // line: prefetcht0 [rax]
            "48 83 c0 40",          // add rax,64
            "48 39 f8",             // cmp rax,rdi
            "75 f4",                // jne line
            "41 83 c0 01",          // next: add r8d,1
            "48 01 d7",             // add rdi,rdx
            "44 39 c1",             // cmp ecx,r8d
            "74 0a",                // je ret
            "4a 8d 04 0f",          // row: lea rax,[rdi+r9]
            "85 f6",                // test esi,esi
            "7f e0",                // jg line
            "eb ea",                // jmp next
            "c3");                  // ret

    private static final MethodHandle PREFETCH = load();
    private static volatile boolean enabled = PREFETCH != null && !"false".equals(System.getProperty("baton.prefetch"));

    /** Whether the kernels prefetch: the function is loaded and {@code baton.prefetch} is not false. */
    static boolean enabled() {
        return enabled;
    }

    /** Whether the prefetch function could be loaded on this machine. */
    static boolean available() {
        return PREFETCH != null;
    }

    /** Turns prefetching on or off (tests, comparisons); on only where {@link #available}. */
    static void enable(boolean on) {
        enabled = on && PREFETCH != null;
    }

    /**
     * Prefetches {@code bytes} bytes from {@code address}, and from each of the next {@code rows - 1} rows
     * {@code stride} bytes apart. Does nothing for {@code rows <= 0} or when not {@link #available}.
     */
    static void rows(long address, long bytes, long stride, int rows) {
        if (PREFETCH == null || rows <= 0 || bytes <= 0) return;
        int lines = (int) (((address + bytes - 1) >>> 6) - (address >>> 6) + 1);
        try {
            PREFETCH.invokeExact(address, lines, stride, rows);
        } catch (Throwable t) {
            throw new IllegalStateException("prefetch failed", t);
        }
    }

    private static MethodHandle load() {
        String arch = System.getProperty("os.arch"), os = System.getProperty("os.name");
        if (!("amd64".equals(arch) || "x86_64".equals(arch)) || !"Linux".equals(os)) return null;
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
            MethodHandle mprotect = linker.downcallHandle(libc.find("mprotect").orElseThrow(), FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            long size = 4096;
            // PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS; the page is never unmapped (one per process).
            MemorySegment page = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, size, 0x1 | 0x2, 0x02 | 0x20, -1, 0L);
            if (page.address() == -1L) return null; // MAP_FAILED
            page = page.reinterpret(size);
            MemorySegment.copy(MemorySegment.ofArray(CODE), 0, page, 0, CODE.length);
            if ((int) mprotect.invokeExact(page, size, 0x1 | 0x4) != 0) return null; // PROT_READ | PROT_EXEC
            return linker.downcallHandle(page, FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), Linker.Option.critical(false));
        } catch (Throwable t) { // no native access, no libc symbol: run without prefetching
            return null;
        }
    }

    private static byte[] bytes(String... instructions) {
        String hex = String.join(" ", instructions);
        String[] parts = hex.split(" ");
        byte[] b = new byte[parts.length];
        for (int i = 0; i < parts.length; i++) b[i] = (byte) Integer.parseInt(parts[i], 16);
        return b;
    }
}
