// How background jobs run beside the foreground forward pass: serially in the engine
// (`Parallel.serially`) and at a lower priority (`startBackgroundThread`), so a key press's
// forward pass has the engine's workers and a core to itself.
import XCTest
import Foundation
import DyConvEngine
#if canImport(Glibc)
import Glibc
#endif
@testable import DyConvSession

final class BackgroundThreadTests: XCTestCase {
    /// Inside `Parallel.serially` every chunk runs on the calling thread, nested calls too, and
    /// the flag ends with the scope. Oracle: the thread id each chunk ran on.
    func testSeriallyKeepsEveryChunkOnTheCallingThread() throws {
        try XCTSkipIf(Parallel.threads < 2, "one engine thread: everything is inline anyway")
        let caller = pthread_self()
        let lock = NSLock()
        var threads: [pthread_t] = []
        var chunks = 0
        XCTAssertFalse(Parallel.isSerialThread)
        Parallel.serially {
            XCTAssertTrue(Parallel.isSerialThread)
            Parallel.forEachChunk(64, maxChunks: 64) { _, _ in
                // Enough work per chunk that idle workers would pick some up if they could.
                var x = 0.0
                for i in 0..<20_000 { x += Double(i).squareRoot() }
                lock.lock(); threads.append(pthread_self()); chunks += 1; lock.unlock()
                if x < 0 { print(x) }
            }
            Parallel.serially { XCTAssertTrue(Parallel.isSerialThread) }
            XCTAssertTrue(Parallel.isSerialThread, "a nested scope restores the outer one")
        }
        XCTAssertFalse(Parallel.isSerialThread)
        XCTAssertEqual(chunks, 64)
        XCTAssertTrue(threads.allSatisfy { pthread_equal($0, caller) != 0 })
    }

    /// A model's forward pass gives the same result serially. Oracle: the parallel pass.
    func testSerialForwardMatchesTheParallelOne() throws {
        let model = Model.seededRandom(Families.dycnn(), seed: 4)
        let data = try SessionTests.images(24)
        let input = data.batch(Array(0..<24), normalization: model.description.normalization)
        let parallel = model.forward(input)
        let serial = Parallel.serially { model.forward(input) }
        XCTAssertEqual(serial.logits.count, parallel.logits.count)
        for (a, b) in zip(serial.logits.data, parallel.logits.data) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// Background threads run at nice `backgroundNice` (Linux: per thread), serially.
    /// Oracle: getpriority and `Parallel.isSerialThread` seen from inside the thread.
    func testBackgroundThreadsAreNicedAndSerial() throws {
        #if os(Linux)
        final class Seen: @unchecked Sendable { var nice: Int32 = 0; var serial = false }
        let done = expectation(description: "thread ran")
        let seen = Seen()
        startBackgroundThread {
            seen.nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            seen.serial = Parallel.isSerialThread
            done.fulfill()   // publishes the writes: the test reads them after wait(for:)
        }
        wait(for: [done], timeout: 30)
        XCTAssertGreaterThanOrEqual(seen.nice, backgroundNice)
        XCTAssertTrue(seen.serial)
        XCTAssertLessThan(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), backgroundNice, "the test's own thread keeps its priority")
        #endif
    }
}
