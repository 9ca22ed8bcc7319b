import CBLAS

/// Work splitting over the machine's cores.
///
/// The engine parallelises itself (over samples, or over output columns for a
/// single large sample) and keeps OpenBLAS single-threaded so the two never
/// oversubscribe the cores.
public enum Parallel {
    /// Number of worker threads the engine uses (default: active processors, at most 8).
    nonisolated(unsafe) public static var threads: Int = {
        if let n = EnvironmentSetting.threads.integer { return n }
        return max(1, min(ProcessInfoCores.count, 8))
    }()

    /// Multiply-adds from which one sample's k×k implicit-GEMM convolution splits its output
    /// channels over the cores (DYCONV_SPLIT_THRESHOLD overrides): below it, halving the already
    /// thin per-tap GEMMs costs more than the second core saves (measured on `dycnn`'s 1–2 M layers).
    nonisolated(unsafe) public static var splitThreshold: Int = {
        if let n = EnvironmentSetting.splitThreshold.integer { return n }
        return 16_000_000
    }()

    /// Multiply-adds from which one sample's 1×1 / im2col GEMM (split by columns) or depthwise
    /// convolution (split by channels) uses all cores: `splitThreshold / 16`. Handing work to the
    /// persistent workers costs microseconds, and these ops stream large planes (MobileNetV2).
    public static var streamingSplitThreshold: Int { splitThreshold / 16 }

    /// Makes OpenBLAS single-threaded (the engine splits work itself). Idempotent.
    public static func configureBLAS() {
        _ = blasConfigured
    }

    private static let blasConfigured: Bool = {
        openblas_set_num_threads(1)
        // OpenBLAS (pthreads build) started its own worker threads at load time; they spin in
        // sched_yield for a while before sleeping, stealing a core from the engine during a
        // process's first ~0.1–0.3 s. Stop them: single-threaded calls never need them again.
        if let shutdown = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {
            typealias Shutdown = @convention(c) () -> Int32
            _ = unsafeBitCast(shutdown, to: Shutdown.self)()
        }
        #if os(Linux)
        // Keep freed activation buffers in the heap instead of unmapping them after every layer
        // (each forward pass allocates the same sizes again): avoids page faults on every pass.
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 512 << 20)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        #endif
        return true
    }()

    /// Runs `body(chunkIndex, range)` over `count` items split into at most `maxChunks` contiguous chunks.
    ///
    /// Runs inline when there is one chunk. The chunks go to the engine's persistent workers
    /// (`threads` of them, the caller included); an idle worker takes the next chunk, so more
    /// chunks than threads balance the load. A call made while another is running (nested, or
    /// from a second thread) runs its chunks inline, one after another. `body` must only write
    /// to disjoint memory per chunk.
    public static func forEachChunk(_ count: Int, maxChunks: Int = Parallel.threads,
                                    _ body: (Int, Range<Int>) -> Void) {
        let chunks = max(1, min(count, maxChunks))
        let range = { (c: Int) in (count * c / chunks)..<(count * (c + 1) / chunks) }
        let inline = chunks == 1 || threads == 1 || isSerialThread
        if inline || busy.add(1) != 1 {
            if !inline { busy.add(-1) }
            for c in 0..<chunks where !range(c).isEmpty { body(c, range(c)) }
            return
        }
        defer { busy.add(-1) }
        guard let pool = sharedPool() else {
            for c in 0..<chunks where !range(c).isEmpty { body(c, range(c)) }
            return
        }
        let next = SharedCounter()
        pool.run { _ in
            while true {
                let c = next.add(1) - 1
                if c >= chunks { break }
                let r = range(c)
                if !r.isEmpty { body(c, r) }
            }
        }
    }

    /// Runs `body` with every `forEachChunk` made on the calling thread inline, one chunk after
    /// another (nested calls included), so the work never touches the shared workers.
    ///
    /// For background work beside an interactive forward pass (the visualizer's profile pass and
    /// dataset view): on the workers it would occupy every core, and a foreground pass could not
    /// take the workers while the background held them (it would run inline on a contended
    /// core). Serial, it keeps to its own thread, which the caller can run at a lower priority.
    /// The chunks are the same (`maxChunks` still decides them); only where they run changes.
    public static func serially<T>(_ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(serialKey)
        pthread_setspecific(serialKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(serialKey, previous) }
        return try body()
    }

    /// Whether the calling thread is inside `serially`.
    public static var isSerialThread: Bool { pthread_getspecific(serialKey) != nil }

    /// The thread-specific flag of `serially` (non-nil inside it).
    private static let serialKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Calls of `forEachChunk` currently using the workers (0 or 1; more means "run inline").
    private static let busy = SharedCounter()
    private static let poolLock = Monitor()
    nonisolated(unsafe) private static var pool: WorkerPool?

    /// The workers for the current `threads` (restarted when it changed), or nil when no thread
    /// can be started (then everything runs on the caller's thread).
    private static func sharedPool() -> WorkerPool? {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let p = pool, p.count == threads { return p }
        pool?.shutdown()
        pool = try? WorkerPool(count: threads)
        return pool
    }
}

#if os(Linux)
/// glibc's `mallopt` (declared in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// The number of online processors.
enum ProcessInfoCores {
    static var count: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? n : 1
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
