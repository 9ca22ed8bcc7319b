#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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

/// A reusable barrier for a fixed number of threads.
///
/// Threads arriving at `wait()` block until all `count` have arrived; the barrier then resets
/// itself for the next use (a generation counter prevents early leavers from racing ahead).
final class Barrier: @unchecked Sendable {
    let count: Int
    private let monitor = Monitor()
    private var arrived = 0
    private var generation = 0

    init(count: Int) { self.count = count }

    func wait() {
        if count <= 1 { return }
        monitor.lock()
        let myGeneration = generation
        arrived += 1
        if arrived == count {
            arrived = 0
            generation &+= 1
            monitor.broadcast()
        } else {
            while generation == myGeneration { monitor.wait() }
        }
        monitor.unlock()
    }
}

/// A fixed set of worker threads that run one job at a time, each with its worker index.
///
/// `run` executes `body(0)` on the calling thread and `body(1..<count)` on the persistent
/// workers, and returns when all have finished. With `count == 1` no thread is created.
final class WorkerPool: @unchecked Sendable {
    /// The number of workers, including the calling thread.
    let count: Int
    private let monitor = Monitor()
    private let doneMonitor = Monitor()
    private var job: ((Int) -> Void)?
    private var generation = 0
    private var pending = 0
    private var stopping = false
    private var threads: [pthread_t] = []

    private final class Start {
        let pool: WorkerPool
        let index: Int
        init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
    }

    init(count: Int) {
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
            precondition(rc == 0, "WorkerPool: pthread_create failed with code \(rc)")
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
        stopping = true
        monitor.broadcast()
        monitor.unlock()
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }

    private func workerLoop(_ index: Int) {
        var seen = 0
        monitor.lock()
        while true {
            while generation == seen && !stopping { monitor.wait() }
            if stopping { break }
            seen = generation
            var body = job
            monitor.unlock()
            body?(index)
            // Release the job before reporting done: `run` requires it not to outlive the call.
            body = nil
            doneMonitor.lock()
            pending -= 1
            if pending == 0 { doneMonitor.broadcast() }
            doneMonitor.unlock()
            monitor.lock()
        }
        monitor.unlock()
    }

    /// Runs `body(i)` for every worker index `i` in `0..<count` concurrently and waits for all.
    func run(_ body: (Int) -> Void) {
        if count == 1 || threads.isEmpty { body(0); return }
        withoutActuallyEscaping(body) { escaping in
            doneMonitor.lock()
            pending = count - 1
            doneMonitor.unlock()
            monitor.lock()
            job = escaping
            generation &+= 1
            monitor.broadcast()
            monitor.unlock()
            escaping(0)
            doneMonitor.lock()
            while pending > 0 { doneMonitor.wait() }
            doneMonitor.unlock()
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
