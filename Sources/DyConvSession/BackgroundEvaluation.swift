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

/// Starts a background job's thread: serial in the engine (`Parallel.serially`) and at a lower
/// scheduling priority, so a job never holds the engine's workers or a core the foreground
/// forward pass of a key press needs (key → redraw stays within a frame while the profile or
/// the dataset view recomputes). The foreground pass keeps the workers to itself.
func startBackgroundThread(_ body: @escaping @Sendable () -> Void) {
    let thread = Thread {
        lowerThreadPriority()
        Parallel.serially { body() }
    }
    thread.qualityOfService = .utility
    thread.stackSize = 4 << 20
    thread.start()
}

/// Raises the calling thread's nice value to `backgroundNice`; elsewhere `qualityOfService`
/// does this. On Linux the nice value is per thread and `who` 0 is the calling thread
/// (setpriority(2), "Bugs"), so the UI thread keeps its priority.
private func lowerThreadPriority() {
    #if os(Linux)
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, backgroundNice)
    #endif
}

/// Nice value of background jobs: the kernel gives a nice-0 thread about 10× the CPU share of
/// a nice-10 one when both want the same core.
let backgroundNice: Int32 = 10

/// The profile pass of one configuration, run on a background thread: π and H/lnK of the
/// first `limit` images (`DatasetSummary.profileLimit`), posted as `cloudPoints` batch by
/// batch, for the depth profile, the simplex clouds and the heat rows' means.
///
/// Each batch is the engine call the current image's forward pass makes
/// (`Model.forward(_:indices:options:partners:)`, seed 0, the dataset's shuffle-across
/// partners), so a point is exactly the π that image shows when stepped to; both shuffles
/// depend on the image, not on its batch. No labels or classifier head are needed, so it runs
/// for any model the session opened (`evaluate` would refuse a headless one).
struct ProfileJob: Sendable {
    let model: Model
    let dataset: ImageDataset
    let key: ConfigKey
    let limit: Int
    let inbox: EventInbox
    let token: CancelToken

    /// Images per batch: small, so the first points arrive within milliseconds and a
    /// cancelled pass (τ changed again) stops soon.
    static let batchSize = 50

    func run() {
        defer { token.finish() }
        let total = min(limit, dataset.count)
        let options = key.forwardOptions(seed: 0)
        let partners: ShuffleAcrossPartners?
        do { partners = key.mode == .shuffleAcross ? try ShuffleAcrossPartners(count: dataset.count, seed: 0) : nil } catch {
            inbox.post(.failed("profile of the images: \(error)"))
            return
        }
        var done = 0
        while done < total, !token.isCancelled {
            let indices = Array(done..<min(done + ProfileJob.batchSize, total))
            let trace = model.forward(dataset, indices: indices, options: options, partners: partners)
            done += indices.count
            inbox.post(.cloudPoints(CloudBatch(key: key, indices: indices,
                                               layers: trace.layers.map(\.attention), entropies: trace.layers.map(\.entropy),
                                               kernels: trace.layers.map(\.kernels), done: done, total: total)))
        }
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
                guard try evaluateProgressively(elapsed: { Session.milliseconds(clock.now - start) }) else { return }
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
    /// cancelled. Each batch posts the result so far (the dataset view fills in as it runs):
    /// accuracy, and per layer the sums of H/lnK and of Σπ (CondConv's Σr) and the H/lnK box
    /// (`LayerAttentionSummary.entropyBox`, what `dyconv report` draws). The simplex
    /// clouds are the profile pass's (`ProfileJob`), not this job's.
    func evaluateProgressively(elapsed: () -> Double) throws -> Bool {
        if token.isCancelled { return false }
        let options = key.config.forwardOptions(seed: 0)
        _ = try evaluate(model: model, dataset: dataset, options: options, limit: key.limit,
                         batchSize: Session.batchSize) { batch in
            let r = batch.result
            let n = Double(r.images)
            inbox.post(.evaluationProgress(EvaluationProgress(
                key: key, done: r.images, total: batch.total, correct: r.correct,
                entropySums: r.layers.map { $0.meanEntropy * n }, massSums: r.layers.map { $0.meanMass * n },
                milliseconds: elapsed(), entropyBoxes: r.layers.map(\.entropyBox))))
            return !token.isCancelled
        }
        return !token.isCancelled
    }

    /// The τ sweep: accuracy and mean entropy per layer (and over layers) at each of
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
                                     meanEntropy: layers.reduce(0, +) / Double(max(layers.count, 1)), layerEntropy: layers))
            inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: points)))
        }
    }
}
