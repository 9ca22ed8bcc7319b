import Foundation
import DyConvEngine
import DyConvData
import DyConvUI

/// The visualizer's engine side: owns the opened models and the images, runs the real
/// forward pass for the current image, and on background threads the profile pass (π of the
/// first `profileLimit` images under the current configuration) and the dataset evaluation.
///
/// The UI thread calls `handle(_:)` with terminal events and `pollBackground()` once per
/// frame; both apply events to `state` through the pure `update` and perform the effects
/// it returns. What the session finds out (a result, a failure) is itself an event applied
/// through `update`: the session never writes `state` directly. Background jobs only post
/// events; they never touch `state`.
public final class Session {
    /// The view state, drawn by `render`.
    public private(set) var state: ViewState
    let checkpoints: [OpenedCheckpoint]
    let dataset: ImageDataset
    let inbox = EventInbox()
    private var job: (key: EvaluationKey, token: CancelToken)?
    /// The profile pass (`ProfileJob`) of a configuration, running or finished.
    private var profile: (key: ConfigKey, token: CancelToken)?
    /// Every background job started and not yet seen finished, cancelled ones included: a job
    /// cancelled by closing the dataset view may still be inside its last batch, and quitting
    /// must wait for it too (`shutdown`).
    private var started: [CancelToken] = []

    /// Images evaluated per batch in background jobs (one progress event per batch).
    public static let batchSize = 100

    init(state: ViewState, checkpoints: [OpenedCheckpoint], dataset: ImageDataset) {
        self.state = state; self.checkpoints = checkpoints; self.dataset = dataset
    }

    deinit { for t in started { t.cancel() } }

    // MARK: Running

    /// Runs the first forward pass and starts the profile pass (call once before drawing).
    public func start() { perform([.forward, .prefill]) }

    /// Applies an event (key, click, resize) and performs the effects; returns false once
    /// the user asked to quit.
    @discardableResult
    public func handle(_ event: Event) -> Bool {
        perform(update(&state, event))
        return !state.quit
    }

    /// Applies the events background jobs posted since the last call; returns whether any arrived.
    @discardableResult
    public func pollBackground() -> Bool {
        let events = inbox.drain()
        for e in events { perform(update(&state, e)) }
        return !events.isEmpty
    }

    /// Whether a background job is running (the presenter then polls more often).
    public var isBusy: Bool { isEvaluating || isProfiling }

    /// Whether the dataset evaluation (and τ sweep) is running.
    var isEvaluating: Bool { job.map { !$0.token.isCancelled && !$0.token.isFinished } ?? false }

    /// Whether the profile pass is running.
    var isProfiling: Bool { profile.map { !$0.token.isCancelled && !$0.token.isFinished } ?? false }

    /// Changes the colour mode (the presenter knows it only after the terminal opened).
    public func setColorMode(_ mode: ColorMode) { state.colorMode = mode }

    /// The simplex view the first screen opens with for a terminal of `width × height`: every
    /// layer side by side (small multiples, the flat-low / sparse-high picture in one glance)
    /// from 100×30 on, where each tile still has room for its cloud; the selected layer alone
    /// below. The user's `s` decides from then on.
    public func chooseInitialSimplexView(width: Int, height: Int) {
        state.simplexView.smallMultiples = !state.checkpoint.isStatic && width >= 100 && height >= 30
    }

    /// Changes the charset (the presenter finds it from the locale at start-up).
    public func setCharset(_ charset: Charset) { state.charset = charset }

    /// Asks the dataset evaluation to stop (it does after its current batch) without waiting;
    /// the profile pass goes on.
    public func close() {
        job?.token.cancel()
        job = nil
        started.removeAll { $0.isFinished }
    }

    /// Background jobs started and not finished yet (cancelled ones included).
    var unfinishedJobs: Int { started.filter { !$0.isFinished }.count }

    /// Cancels every background job and waits, at most `timeout` seconds in all, until each
    /// has left the engine; returns whether all did. Call before the process exits: exit
    /// handlers (OpenBLAS's among them) must not run while a job is inside a forward pass.
    @discardableResult
    public func shutdown(timeout: Double) -> Bool {
        close()
        cancelProfile()
        for t in started { t.cancel() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var all = true
        for t in started where !t.waitUntilFinished(timeout: deadline.timeIntervalSinceNow) { all = false }
        started.removeAll { $0.isFinished }
        return all
    }

    /// Performs effects, applying the event each one reports (and the effects that returns).
    private func perform(_ effects: [Effect]) {
        var queue = effects
        while !queue.isEmpty {
            let effect = queue.removeFirst()
            switch effect {
            case .forward:
                queue += update(&state, runForward())
            case .evaluate:
                if let event = startEvaluation() { queue += update(&state, event) }
            case .prefill:
                if let event = startProfile() { queue += update(&state, event) }
            case .cancelEvaluation:
                close()
            case .findMisclassified(let from):
                queue += update(&state, findMisclassified(from: from))
            case .quit:
                close()
                cancelProfile()
            }
        }
    }

    // MARK: Work

    /// The model of a configuration (a snapshot's is read on first use).
    func model(for key: ConfigKey) throws -> Model {
        try checkpoints[key.checkpoint].model(epoch: key.epoch, for: dataset)
    }

    /// Image `i` as the screen shows it: grey or RGB (`PixelImage(planar:…)`).
    func pixelImage(_ i: Int) -> PixelImage {
        PixelImage(planar: Array(dataset.image(i)), channels: dataset.channels, width: dataset.width, height: dataset.height)
    }

    /// A duration in milliseconds.
    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    /// The real forward pass of the current image (with batch companions in shuffle-across mode).
    func runForward() -> Event {
        let key = state.configKey
        let index = state.imageIndex
        let model: Model
        do { model = try self.model(for: key) } catch { return .failed("cannot load snapshot: \(error)") }
        // shuffle-across: the image borrows the π of its partner (seed 0, as the dataset view).
        let partners: ShuffleAcrossPartners?
        do { partners = key.mode == .shuffleAcross ? try ShuffleAcrossPartners(count: dataset.count, seed: 0) : nil }
        catch { return .failed("\(error)") }
        let clock = ContinuousClock()
        let start = clock.now
        // Seed 0 as the dataset view: both shuffles depend only on the image, not on its batch.
        let trace = model.forward(dataset, indices: [index], options: key.forwardOptions(seed: 0), partners: partners)
        let ms = Session.milliseconds(clock.now - start)
        return .forwardCompleted(ForwardResult(key: key, imageIndex: index, image: pixelImage(index), trace: trace,
                                               milliseconds: ms, partnerIndex: partners?.partner(of: index)))
    }

    /// The next misclassified image from `from` on (wrapping), searched in batches.
    func findMisclassified(from: Int) -> Event {
        let key = state.configKey
        let model: Model
        do { model = try self.model(for: key) } catch { return .failed("cannot load snapshot: \(error)") }
        let n = dataset.count
        guard let labels = dataset.labels else { return .failed("the images have no labels, so none is misclassified") }
        let partners: ShuffleAcrossPartners?
        do { partners = key.mode == .shuffleAcross ? try ShuffleAcrossPartners(count: n, seed: 0) : nil }
        catch { return .failed("\(error)") }
        var searched = 0
        var start = from
        while searched < n {
            let count = min(Session.batchSize, n - searched)
            let indices = (0..<count).map { (start + $0) % n }
            var options = key.forwardOptions(seed: 0)
            options.collectTrace = false
            let trace = model.forward(dataset, indices: indices, options: options, partners: partners)
            for (row, i) in indices.enumerated() where trace.prediction(sample: row) != labels[i] {
                return .searchFinished(found: i, searched: searched + row + 1)
            }
            searched += count
            start = (start + count) % n
        }
        return .searchFinished(found: nil, searched: searched)
    }

    /// Starts (or keeps) the background evaluation and τ sweep of the current configuration;
    /// returns the failure to report when its model cannot be loaded.
    func startEvaluation() -> Event? {
        let key = state.evaluationKey
        let sweepKey = state.sweepKey
        if let job, job.key == key, !job.token.isCancelled { return nil }
        close()
        let evaluationDone = state.evaluations[key]?.isFinished == true
        let sweepDone = state.checkpoint.isStatic || state.sweeps[sweepKey]?.isFinished == true
        if evaluationDone && sweepDone { return nil }
        let model: Model
        do { model = try self.model(for: key.config) } catch { return .failed("cannot load snapshot: \(error)") }
        let token = CancelToken()
        job = (key, token)
        started.append(token)
        let job = EvaluationJob(model: model, dataset: dataset, key: key, sweepKey: sweepKey,
                                runEvaluation: !evaluationDone, runSweep: !sweepDone, inbox: inbox, token: token)
        startBackgroundThread { job.run() }
        return nil
    }

    /// Starts the profile pass of the current configuration unless it is running, or its
    /// points are all in the cloud and fresh; a pass of another configuration is cancelled
    /// (it stops after its current batch of `ProfileJob.batchSize`). Returns the failure to
    /// report when the model cannot be loaded.
    func startProfile() -> Event? {
        let key = state.configKey
        let limit = state.dataset.profileLimit
        if let profile, profile.key == key, !profile.token.isCancelled, !profile.token.isFinished { return nil }
        cancelProfile()
        // A static network has no attention to profile.
        guard !state.checkpoint.isStatic, limit > 0 else { return nil }
        let cloud = state.cloud
        if cloud.key == key, cloud.isFresh, cloud.count >= limit { return nil }
        let model: Model
        do { model = try self.model(for: key) } catch { return .failed("cannot load snapshot: \(error)") }
        let token = CancelToken()
        profile = (key, token)
        started.append(token)
        let job = ProfileJob(model: model, dataset: dataset, key: key, limit: limit, inbox: inbox, token: token)
        startBackgroundThread { job.run() }
        return nil
    }

    /// Asks the profile pass to stop after its current batch, without waiting.
    private func cancelProfile() {
        profile?.token.cancel()
        profile = nil
        started.removeAll { $0.isFinished }
    }
}
