package io.baton.bench.run;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * A thread's EEVDF time slice, through Linux's {@code sched_setattr(2)} and {@code sched_getattr(2)} (called with
 * libc's {@code syscall} through the FFM linker; glibc has no wrapper). Since Linux 6.12 a normal ({@code
 * SCHED_OTHER}) thread may ask for its own slice in {@code sched_attr.sched_runtime}, between 0.1 ms and 100 ms, and
 * a thread with a shorter slice than the running one preempts it when it wakes (kernel commit "sched/eevdf: Allow
 * shorter slices to wakeup-preempt"); with the default slice (0.75 ms times 1 + log2(CPUs)) a waking thread may wait
 * until the running one has used its slice. No privilege is needed: the policy and nice value stay as they were.
 */
final class SchedSlice {
    private SchedSlice() {}

    /** The shortest slice the kernel accepts (it clamps sched_runtime to [0.1 ms, 100 ms]). */
    static final long MIN_SLICE_NS = 100_000;

    // struct sched_attr (include/uapi/linux/sched/types.h), SCHED_ATTR_SIZE_VER1 = 56 bytes:
    // u32 size, u32 sched_policy, u64 sched_flags, s32 sched_nice, u32 sched_priority,
    // u64 sched_runtime, u64 sched_deadline, u64 sched_period, u32 sched_util_min, u32 sched_util_max.
    private static final int ATTR_SIZE = 56;
    private static final long OFF_POLICY = 4, OFF_RUNTIME = 24;
    private static final int SCHED_OTHER = 0;

    private static final MethodHandle SYSCALL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final long ERRNO_OFFSET = Linker.Option.captureStateLayout()
            .byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    /** System call numbers of sched_setattr and sched_getattr for this architecture. */
    private record Numbers(long set, long get) {}

    private static Numbers numbers() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> new Numbers(314, 315);
            case "aarch64", "arm64", "riscv64" -> new Numbers(274, 275);
            default -> throw new IllegalStateException("sched_setattr: no system call number known for " + arch);
        };
    }

    /**
     * Asks for a slice of {@code sliceNs} for thread {@code tid} (a Linux thread id of this process), keeping it a
     * normal thread at its nice value.
     *
     * @throws IllegalStateException when the kernel refuses, or keeps another slice (kernels before 6.12)
     */
    static void set(long tid, long sliceNs) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = get(arena, tid);
            int policy = attr.get(ValueLayout.JAVA_INT, OFF_POLICY);
            if (policy != SCHED_OTHER) throw new IllegalStateException("thread " + tid + " is not SCHED_OTHER (policy " + policy + ")");
            attr.set(ValueLayout.JAVA_INT, 0, ATTR_SIZE);
            attr.set(ValueLayout.JAVA_LONG, OFF_RUNTIME, sliceNs);
            call(arena, "sched_setattr", numbers().set(), tid, attr, 0);
        }
        long got = slice(tid);
        if (got != sliceNs) {
            throw new IllegalStateException("thread " + tid + " kept a slice of " + got + " ns after asking for " + sliceNs
                    + " ns (per-thread slices need Linux 6.12 or later)");
        }
    }

    /** The slice thread {@code tid} asked for, in ns (0 on kernels without per-thread slices). */
    static long slice(long tid) {
        try (Arena arena = Arena.ofConfined()) {
            return get(arena, tid).get(ValueLayout.JAVA_LONG, OFF_RUNTIME);
        }
    }

    private static MemorySegment get(Arena arena, long tid) {
        MemorySegment attr = arena.allocate(ATTR_SIZE, 8);
        call(arena, "sched_getattr", numbers().get(), tid, attr, ATTR_SIZE);
        return attr;
    }

    /**
     * {@code syscall(number, tid, attr, third, 0)}: sched_setattr(tid, attr, flags) takes {@code third = 0} (its
     * flags), sched_getattr(tid, attr, size, flags) the buffer's size; the last argument is the latter's flags.
     */
    private static void call(Arena arena, String name, long number, long tid, MemorySegment attr, long third) {
        MemorySegment state = arena.allocate(Linker.Option.captureStateLayout());
        long r;
        try {
            r = (long) SYSCALL.invokeExact(state, number, tid, attr, third, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException(name + ": " + t);
        }
        if (r != 0) {
            int errno = state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
            throw new IllegalStateException(name + "(" + tid + ") failed: errno " + errno);
        }
    }
}
