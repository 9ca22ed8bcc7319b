#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DyConvEngine

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
