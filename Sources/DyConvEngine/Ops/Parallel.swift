import Dispatch
import CBLAS

/// Work splitting over the machine's cores.
///
/// The engine parallelises itself (over samples, or over output columns for a
/// single large sample) and keeps OpenBLAS single-threaded so the two never
/// oversubscribe the cores.
public enum Parallel {
    /// Number of worker threads the engine uses (default: active processors, at most 8).
    nonisolated(unsafe) public static var threads: Int = {
        if let s = getenv("DYCONV_THREADS"), let n = Int(String(cString: s)), n >= 1 { return min(n, 64) }
        return max(1, min(ProcessInfoCores.count, 8))
    }()

    /// Multiply-adds below which one sample's op stays on one core: waking a second thread costs
    /// tens of microseconds, more than splitting a small GEMM saves (DYCONV_SPLIT_THRESHOLD overrides).
    nonisolated(unsafe) public static var splitThreshold: Int = {
        if let s = getenv("DYCONV_SPLIT_THRESHOLD"), let n = Int(String(cString: s)), n >= 0 { return n }
        return 16_000_000
    }()

    /// Makes OpenBLAS single-threaded (the engine splits work itself). Idempotent.
    public static func configureBLAS() {
        _ = blasConfigured
    }

    private static let blasConfigured: Bool = {
        openblas_set_num_threads(1)
        #if os(Linux)
        // Keep freed activation buffers in the heap instead of unmapping them after every layer
        // (each forward pass allocates the same sizes again): avoids page faults on every pass.
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 512 << 20)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 1 << 30)
        #endif
        return true
    }()

    /// Runs `body(chunkIndex, range)` over `count` items split into at most `threads` contiguous chunks.
    ///
    /// Runs inline when there is one chunk. `body` must only write to disjoint memory per chunk.
    public static func forEachChunk(_ count: Int, maxChunks: Int = Parallel.threads,
                                    _ body: (Int, Range<Int>) -> Void) {
        let chunks = max(1, min(count, maxChunks))
        if chunks == 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = count * c / chunks
                let hi = count * (c + 1) / chunks
                if hi > lo { body(c, lo..<hi) }
            }
        }
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
