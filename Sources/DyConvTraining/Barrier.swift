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
