import Foundation
import DyConvEngine
import DyConvData
import DyConvUI

/// Events posted by background jobs, drained by the UI thread once per frame.
final class EventInbox: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []

    func post(_ event: Event) {
        lock.lock(); events.append(event); lock.unlock()
    }

    func drain() -> [Event] {
        lock.lock(); defer { lock.unlock() }
        let out = events
        events.removeAll(keepingCapacity: true)
        return out
    }
}

/// A cancellation flag shared with a background thread, which also reports when it is done.
///
/// The thread checks `isCancelled` between batches (cooperative cancellation: a batch inside
/// OpenBLAS is never interrupted) and calls `finish()` as its last action, so
/// `waitUntilFinished` tells the quitting UI thread that no job is left inside the engine.
final class CancelToken: @unchecked Sendable {
    private let condition = NSCondition()
    private var cancelled = false
    private var finished = false
    var isCancelled: Bool { condition.lock(); defer { condition.unlock() }; return cancelled }
    var isFinished: Bool { condition.lock(); defer { condition.unlock() }; return finished }
    func cancel() { condition.lock(); cancelled = true; condition.unlock() }
    func finish() { condition.lock(); finished = true; condition.broadcast(); condition.unlock() }

    /// Waits until the job has finished or `seconds` have passed; returns whether it finished.
    func waitUntilFinished(timeout seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: max(seconds, 0))
        condition.lock(); defer { condition.unlock() }
        while !finished {
            if !condition.wait(until: deadline) { return finished }
        }
        return true
    }
}

/// The dataset evaluation and τ sweep of one configuration, run on a background thread.
///
/// It only posts events to `inbox`; the UI thread applies them through `update`.
struct EvaluationJob: Sendable {
    let model: Model
    let dataset: ImageDataset
    let key: EvaluationKey
    let sweepKey: SweepKey
    let runEvaluation: Bool
    let runSweep: Bool
    let inbox: EventInbox
    let token: CancelToken

    func run() {
        defer { token.finish() }
        let clock = ContinuousClock()
        let start = clock.now
        if runEvaluation {
            do {
                guard try evaluateWithCloud(elapsed: { Session.milliseconds(clock.now - start) }) else { return }
            } catch {
                inbox.post(.failed("\(error)"))
                return
            }
        }
        guard runSweep else { return }
        do { try sweep() } catch { inbox.post(.failed("\(error)")) }
    }

    /// The evaluation of the configuration over its first `key.limit` images, batch by batch,
    /// through the one evaluation routine (`evaluate(model:…onBatch:)`); returns false when
    /// cancelled.
    ///
    /// Each batch posts the result so far (the dataset view fills in as it runs) and its
    /// images' π for the simplex cloud, taken from the batch's trace.
    func evaluateWithCloud(elapsed: () -> Double) throws -> Bool {
        if token.isCancelled { return false }
        let options = key.config.forwardOptions(seed: 0)
        _ = try evaluate(model: model, dataset: dataset, options: options, limit: key.limit,
                         batchSize: Session.batchSize) { batch in
            let indices = Array(batch.indices)
            let trace = batch.trace
            inbox.post(.cloudPoints(CloudBatch(key: key.config, indices: indices,
                                               layers: trace.layers.map(\.attention), entropies: trace.layers.map(\.entropy),
                                               kernels: trace.layers.map(\.kernels))))
            let r = batch.result
            inbox.post(.evaluationProgress(EvaluationProgress(
                key: key, done: r.images, total: batch.total, correct: r.correct,
                entropySums: r.layers.map { $0.meanEntropy * Double(r.images) }, milliseconds: elapsed())))
            return !token.isCancelled
        }
        return !token.isCancelled
    }

    /// The τ sweep: accuracy and mean entropy (over layers and images) at each of
    /// `SweepProgress.defaultTemperatures`, one `evaluate(model:…)` each; stops when cancelled.
    func sweep() throws {
        let temps = SweepProgress.defaultTemperatures
        let total = key.limit
        var points: [SweepPoint] = []
        inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: [])))
        for t in temps {
            let options = ForwardOptions(temperature: t, mode: sweepKey.mode, seed: 0, collectTrace: true)
            let finished = points
            let result = try evaluate(model: model, dataset: dataset, options: options, limit: total,
                                      batchSize: Session.batchSize) { [inbox, token, sweepKey] done, _ in
                inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: finished, partialDone: done)))
                return !token.isCancelled
            }
            guard !token.isCancelled, result.images >= total else { return }
            let layers = result.layers.map(\.meanEntropy)
            // Unlabelled images have no accuracy: NaN, which the sweep's plot leaves out.
            points.append(SweepPoint(temperature: t, accuracy: result.isScored ? result.accuracy : .nan,
                                     meanEntropy: layers.reduce(0, +) / Double(max(layers.count, 1))))
            inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: points)))
        }
    }
}
