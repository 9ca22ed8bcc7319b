#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import Synchronization
#endif

/// A mutex and condition variable pair at stable addresses.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func wait() { pthread_cond_wait(condition, mutex) }
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// A counter that threads can poll without locking: an atomic on Linux, a mutex elsewhere.
final class SharedCounter: @unchecked Sendable {
    #if os(Linux)
    private let value = Atomic<Int>(0)
    func load() -> Int { value.load(ordering: .acquiring) }
    func store(_ v: Int) { value.store(v, ordering: .releasing) }
    /// Adds `delta` and returns the new value.
    @discardableResult
    func add(_ delta: Int) -> Int { value.wrappingAdd(delta, ordering: .acquiringAndReleasing).newValue }
    #else
    private let monitor = Monitor()
    private var value = 0
    func load() -> Int { monitor.lock(); defer { monitor.unlock() }; return value }
    func store(_ v: Int) { monitor.lock(); value = v; monitor.unlock() }
    @discardableResult
    func add(_ delta: Int) -> Int { monitor.lock(); defer { monitor.unlock() }; value &+= delta; return value }
    #endif
}

/// Polls `done` for a short while before a caller falls back to blocking: with one thread
/// per core, the partner usually arrives within microseconds, and a futex sleep/wake costs
/// far more than that.
@inline(__always)
func spinUntil(_ done: () -> Bool) -> Bool {
    for _ in 0..<20_000 where done() { return true }
    return done()
}

/// A reusable barrier for a fixed number of threads (spins briefly, then blocks).
///
/// Threads arriving at `wait()` continue when all `count` have arrived; a generation counter
/// makes it reusable. The last arriver bumps the generation and broadcasts under the lock, and
/// sleepers re-check the generation under the lock, so no wake-up is lost.
final class Barrier: @unchecked Sendable {
    let count: Int
    private let monitor = Monitor()
    private let arrived = SharedCounter()
    private let generation = SharedCounter()

    init(count: Int) { self.count = count }

    func wait() {
        if count <= 1 { return }
        let myGeneration = generation.load()
        if arrived.add(1) == count {
            arrived.store(0)
            generation.add(1)
            monitor.lock()
            monitor.broadcast()
            monitor.unlock()
            return
        }
        if spinUntil({ generation.load() != myGeneration }) { return }
        monitor.lock()
        while generation.load() == myGeneration { monitor.wait() }
        monitor.unlock()
    }
}

/// A fixed set of worker threads that run one job at a time, each with its worker index.
///
/// `run` executes `body(0)` on the calling thread and `body(1..<count)` on the persistent
/// workers, and returns when all have finished. With `count == 1` no thread is created.
/// Hand-over and completion spin briefly before blocking.
final class WorkerPool: @unchecked Sendable {
    /// The number of workers, including the calling thread.
    let count: Int
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
    /// - Throws: `TrainingError` when the system refuses to create a thread.
    init(count: Int) throws {
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
                throw TrainingError("cannot start worker thread \(index) of \(self.count): \(String(cString: strerror(rc)))")
            }
            #if canImport(Glibc)
            threads.append(thread)
            #else
            threads.append(thread!)
            #endif
        }
    }

    /// Stops and joins the worker threads.
    func shutdown() {
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
    func run(_ body: (Int) -> Void) {
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

/// A heap buffer of Floats with a stable address, freed with its owner.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    func zero() { pointer.update(repeating: 0, count: count) }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    func load(_ values: [Float]) {
        precondition(values.count == count, "FloatBuffer: \(values.count) values for \(count) slots")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }
}
