import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGINT and SIGTERM into a flag that a training loop checks between steps, so that the
/// run stops at a step boundary, saves its state and says how to resume instead of dying
/// mid-write. A second signal of either kind ends the process at once (the default action); the
/// temporary file of a write it cuts short is removed by the next run
/// (`RunFiles.removeStaleTemporaries`).
public final class InterruptMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Starts watching SIGINT and SIGTERM.
    public init() {
        for number in [SIGINT, SIGTERM] {
            // Ignored by the kernel, delivered to the dispatch source instead.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.record(number) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }

    private func record(_ number: Int32) {
        lock.lock()
        if received == nil { received = number }
        lock.unlock()
        // From now on the next SIGINT or SIGTERM terminates immediately.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// The first signal received, or nil.
    public var signalReceived: Int32? {
        lock.lock(); defer { lock.unlock() }
        return received
    }

    /// The shell's exit status for a run stopped by `signal`: 128 + the signal number (130 for
    /// SIGINT, 143 for SIGTERM).
    public static func exitStatus(for signal: Int32) -> Int32 { 128 + signal }
}

extension Trainer {
    /// Runs one step like `step()`, and stops the run at the first non-finite loss (a learning
    /// rate far too high diverges in a few steps; training on NaN would waste the epoch and the
    /// state written afterwards would be useless).
    ///
    /// - Throws: `TrainingError` naming the epoch and step and suggesting a lower learning rate.
    public func checkedStep() throws -> StepMetrics? {
        guard let metrics = step() else { return nil }
        guard metrics.loss.isFinite else {
            throw TrainingError("training diverged at epoch \(epoch + 1) step \(iterationInEpoch): the loss is "
                                + "\(metrics.loss.isNaN ? "NaN" : String(describing: metrics.loss)); try a lower learning rate (--lr, now \(config.learningRate))")
        }
        return metrics
    }
}
