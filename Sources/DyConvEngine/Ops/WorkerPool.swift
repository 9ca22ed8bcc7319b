#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import Synchronization
#endif

// Thread primitives shared by the engine's `Parallel` and the trainer: persistent workers that
// spin briefly before sleeping, so handing a short job to the other core costs microseconds.

/// A worker thread could not be started.
public struct WorkerPoolError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A mutex and condition variable pair at stable addresses.
package final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    package func wait() { pthread_cond_wait(condition, mutex) }
    package func broadcast() { pthread_cond_broadcast(condition) }
}

/// A counter that threads can poll without locking: an atomic on Linux, a mutex elsewhere.
package final class SharedCounter: @unchecked Sendable {
    package init() {}
    #if os(Linux)
    private let value = Atomic<Int>(0)
    package func load() -> Int { value.load(ordering: .acquiring) }
    package func store(_ v: Int) { value.store(v, ordering: .releasing) }
    /// Adds `delta` and returns the new value.
    @discardableResult
    package func add(_ delta: Int) -> Int { value.wrappingAdd(delta, ordering: .acquiringAndReleasing).newValue }
    #else
    private let monitor = Monitor()
    private var value = 0
    package func load() -> Int { monitor.lock(); defer { monitor.unlock() }; return value }
    package func store(_ v: Int) { monitor.lock(); value = v; monitor.unlock() }
    @discardableResult
    package func add(_ delta: Int) -> Int { monitor.lock(); defer { monitor.unlock() }; value &+= delta; return value }
    #endif
}

/// Polls `done` for a short while before a caller falls back to blocking: with one thread
/// per core, the partner usually arrives within microseconds, and a futex sleep/wake costs
/// far more than that.
@inline(__always)
package func spinUntil(_ done: () -> Bool) -> Bool {
    for _ in 0..<20_000 where done() { return true }
    return done()
}

/// A fixed set of worker threads that run one job at a time, each with its worker index.
///
/// `run` executes `body(0)` on the calling thread and `body(1..<count)` on the persistent
/// workers, and returns when all have finished. With `count == 1` no thread is created.
/// Hand-over and completion spin briefly before blocking.
package final class WorkerPool: @unchecked Sendable {
    /// The number of workers, including the calling thread.
    package let count: Int
    private let monitor = Monitor()
    private let doneMonitor = Monitor()
    private var job: ((Int) -> Void)?
    private let generation = SharedCounter()
    private let pending = SharedCounter()
    private let stopping = SharedCounter()
    private var threads: [pthread_t] = []

    private final class Start {
        let pool: WorkerPool
        let index: Int
        init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
    }

    /// Starts `count - 1` worker threads.
    ///
    /// - Throws: `WorkerPoolError` when the system refuses to create a thread.
    package init(count: Int) throws {
        self.count = max(1, count)
        for index in 1..<self.count {
            let start = Unmanaged.passRetained(Start(pool: self, index: index)).toOpaque()
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t?
            #endif
            let rc = pthread_create(&thread, nil, { raw in
                #if canImport(Glibc)
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                #else
                let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
                #endif
                start.pool.workerLoop(start.index)
                return nil
            }, start)
            guard rc == 0 else {
                Unmanaged<Start>.fromOpaque(start).release()
                shutdown()
                throw WorkerPoolError("cannot start worker thread \(index) of \(self.count): \(String(cString: strerror(rc)))")
            }
            #if canImport(Glibc)
            threads.append(thread)
            #else
            threads.append(thread!)
            #endif
        }
    }

    /// Stops and joins the worker threads.
    package func shutdown() {
        monitor.lock()
        stopping.store(1)
        monitor.broadcast()
        monitor.unlock()
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        while true {
            if !spinUntil({ generation.load() != seen || stopping.load() != 0 }) {
                monitor.lock()
                while generation.load() == seen && stopping.load() == 0 { monitor.wait() }
                monitor.unlock()
            }
            if stopping.load() != 0 { return }
            seen = generation.load()
            monitor.lock()
            var body = job
            monitor.unlock()
            body?(index)
            // Release the job before reporting done: `run` requires it not to outlive the call.
            body = nil
            if pending.add(-1) == 0 {
                doneMonitor.lock()
                doneMonitor.broadcast()
                doneMonitor.unlock()
            }
        }
    }

    /// Runs `body(i)` for every worker index `i` in `0..<count` concurrently and waits for all.
    package func run(_ body: (Int) -> Void) {
        if count == 1 || threads.isEmpty { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            pending.store(count - 1)
            monitor.lock()
            job = escaping
            generation.add(1)
            monitor.broadcast()
            monitor.unlock()
            escaping(0)
            if !spinUntil({ pending.load() == 0 }) {
                doneMonitor.lock()
                while pending.load() != 0 { doneMonitor.wait() }
                doneMonitor.unlock()
            }
            monitor.lock()
            job = nil
            monitor.unlock()
        }
    }
}
