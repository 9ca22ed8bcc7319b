import Foundation
import DyConvEngine
import DyConvData

/// A problem opening the visualizer's inputs (checkpoint, data, options): one line for stderr.
public struct SessionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// A checkpoint the session has opened: its final model, and its training snapshots
/// (models loaded on first use).
final class OpenedCheckpoint {
    let summary: CheckpointSummary
    let path: String
    let model: Model
    /// Snapshot files, in `summary.epochs` order.
    let snapshotPaths: [String]
    /// Snapshot models loaded so far, by index into `snapshotPaths`.
    var snapshotModels: [Int: Model] = [:]

    init(summary: CheckpointSummary, path: String, model: Model, snapshotPaths: [String]) {
        self.summary = summary; self.path = path; self.model = model; self.snapshotPaths = snapshotPaths
    }
}

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

/// The visualizer's engine side: owns the opened models and the images, runs the real
/// forward pass for the current image, and the dataset evaluation on a background thread.
///
/// The UI thread calls `handle(_:)` with terminal events and `pollBackground()` once per
/// frame; both apply events to `state` through the pure `update` and perform the effects
/// it returns. Background jobs only post events; they never touch `state`.
public final class Session {
    /// The view state, drawn by `render`.
    public private(set) var state: ViewState
    let checkpoints: [OpenedCheckpoint]
    let dataset: ImageDataset
    let inbox = EventInbox()
    private var job: (key: EvaluationKey, token: CancelToken)?
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

    // MARK: Opening

    /// File names of the bundled checkpoints, in the order they are opened.
    public static let bundledCheckpointNames = ["dycnn-dynamic.safetensors", "dycnn-condconv.safetensors", "dycnn-static.safetensors"]

    /// The bundled checkpoints that exist in the assets folder.
    /// - Throws: `SessionError` when the assets folder has none of them.
    public static func bundledCheckpointPaths() throws -> [String] {
        let assets = try Assets.directory()
        let paths = bundledCheckpointNames.map { (assets as NSString).appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0) }
        guard !paths.isEmpty else {
            throw SessionError("no CHECKPOINT given and none bundled in \(assets) (looked for \(bundledCheckpointNames.joined(separator: ", "))); pass a checkpoint file")
        }
        return paths
    }

    /// The snapshot directory of a checkpoint: `X.safetensors` → `X-snapshots/`.
    public static func snapshotDirectory(for path: String) -> String {
        let base = path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) : path
        return base + "-snapshots"
    }

    /// Snapshot files `epoch-NNN.safetensors` in a checkpoint's snapshot directory, by epoch.
    public static func snapshotFiles(for path: String) -> [(epoch: Int, path: String)] {
        let dir = snapshotDirectory(for: path)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var out: [(epoch: Int, path: String)] = []
        for name in names where name.hasPrefix("epoch-") && name.hasSuffix(".safetensors") {
            let digits = name.dropFirst("epoch-".count).dropLast(".safetensors".count)
            if let n = Int(digits), n >= 0 { out.append((n, (dir as NSString).appendingPathComponent(name))) }
        }
        return out.sorted { $0.epoch < $1.epoch }
    }

    /// The display name of a checkpoint file: its name without directory and extension.
    static func displayName(_ path: String) -> String {
        let file = (path as NSString).lastPathComponent
        return file.hasSuffix(".safetensors") ? String(file.dropLast(".safetensors".count)) : file
    }

    static func epochSummary(_ t: TrainingRecord) -> EpochSummary { EpochSummary(t) }

    /// Opens checkpoints (the bundled ones when `checkpointPaths` is empty) and images (the
    /// bundled sample, or the Fashion-MNIST test set in `dataDirectory`).
    ///
    /// Every input is checked here, before any screen opens: unreadable or invalid
    /// checkpoints, a missing data directory, images the models cannot take, an index out
    /// of range, a non-positive τ or limit. Snapshots that fail to read are skipped with a
    /// line in `warnings`.
    /// - Throws: `SessionError`, `CheckpointError` or `DataError`, each a one-line message.
    /// `randomFamilies` adds models of those families (`Families.named`) with seeded random
    /// weights (`seed`), for looking at the machinery before any training; given alone, no
    /// bundled checkpoint is opened.
    public static func open(checkpointPaths: [String], dataDirectory: String?, imageIndex: Int? = nil,
                            temperature: Float? = nil, limit: Int? = nil, randomFamilies: [String] = [], seed: UInt64 = 1,
                            width: Int = 120, height: Int = 40,
                            colorMode: ColorMode = .xterm256, warnings: inout [String]) throws -> Session {
        if let t = temperature, !Limits.isValidTemperature(t) {
            throw SessionError("--tau \(t): \(Limits.temperatureRangeText)")
        }
        if let l = limit, l < 1 { throw SessionError("--limit must be at least 1, got \(l)") }
        var randomDescriptions: [ModelDescription] = []
        for family in randomFamilies {
            do { randomDescriptions.append(try Families.named(family)) } catch {
                throw SessionError("--random \(family): \(error)")
            }
        }
        let paths = checkpointPaths.isEmpty && randomFamilies.isEmpty ? try bundledCheckpointPaths() : checkpointPaths
        for p in paths where !FileManager.default.fileExists(atPath: p) {
            throw SessionError("\(p): no such checkpoint file")
        }

        let dataset: ImageDataset
        let datasetName: String
        if let dir = dataDirectory {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw SessionError("--data \(dir): no such directory")
            }
            dataset = try FashionMNIST.load(.test, directory: dir)
            datasetName = "test set"
        } else {
            dataset = try FashionMNIST.loadSample()
            datasetName = "sample"
        }
        guard dataset.count > 0 else { throw SessionError("the image set has no images") }

        var opened: [OpenedCheckpoint] = []
        for path in paths {
            let checkpoint = try Checkpoint.read(path: path)
            try dataset.checkCompatible(with: checkpoint.description, name: path)
            try checkMemory(checkpoint.description, name: path)
            let model = try checkpoint.makeModel()
            var epochs: [EpochSummary] = []
            var records: [TrainingRecord] = []
            var snapshotPaths: [String] = []
            for file in snapshotFiles(for: path) {
                do {
                    let snap = try Checkpoint.read(path: file.path)
                    guard snap.description.input == checkpoint.description.input,
                          snap.description.classes.count == checkpoint.description.classes.count,
                          snap.description.dynamicConvolutions.map(\.name) == checkpoint.description.dynamicConvolutions.map(\.name)
                    else {
                        warnings.append("skipping snapshot \(file.path): its architecture differs from \(path)")
                        continue
                    }
                    try checkMemory(snap.description, name: file.path)
                    let record = snap.training ?? TrainingRecord(epoch: file.epoch, epochs: checkpoint.training?.epochs ?? file.epoch,
                                                                 temperature: snap.description.dynamicConvolutions.first?.attention?.temperature ?? 1)
                    // The snapshot runs at its record's τ: one outside the engine's range
                    // (a τ of 1e-45 turns π into NaN) skips the snapshot like a broken file.
                    guard Limits.isValidTemperature(record.temperature) else {
                        warnings.append("skipping snapshot \(file.path): its τ \(record.temperature) is outside the range (\(Limits.temperatureRangeText))")
                        continue
                    }
                    epochs.append(epochSummary(record))
                    records.append(record)
                    snapshotPaths.append(file.path)
                } catch {
                    warnings.append("skipping snapshot: \(error)")
                }
            }
            let summary = CheckpointSummary(name: displayName(path), description: checkpoint.description,
                                            epochs: epochs, history: CheckpointSummary.history(snapshots: records, final: checkpoint.training),
                                            training: checkpoint.training.map(epochSummary))
            opened.append(OpenedCheckpoint(summary: summary, path: path, model: model, snapshotPaths: snapshotPaths))
        }

        for (family, description) in zip(randomFamilies, randomDescriptions) {
            try dataset.checkCompatible(with: description, name: "--random \(family)")
            try checkMemory(description, name: "--random \(family)")
            let model = Model.seededRandom(description, seed: seed)
            let summary = CheckpointSummary(name: "\(family) (random, seed \(seed))", description: description)
            opened.append(OpenedCheckpoint(summary: summary, path: family, model: model, snapshotPaths: []))
        }
        if let i = imageIndex, i < 0 || i >= dataset.count {
            throw SessionError("--index \(i) is out of range: the \(datasetName) has images 0–\(dataset.count - 1)")
        }
        let summary = DatasetSummary(name: datasetName, labels: dataset.labels, classNames: dataset.classNames,
                                     evaluationLimit: limit)
        let state = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: opened.map(\.summary),
                              dataset: summary, imageIndex: imageIndex ?? 0, temperature: temperature)
        return Session(state: state, checkpoints: opened, dataset: dataset)
    }

    /// Refuses a model whose forward pass on one of the session's batches (`batchSize`
    /// images, the dataset view's) would need more than `Limits.memoryBudget`: a stem padding
    /// of 10000 is a valid number but a 25 GB activation, found here instead of by an abort.
    /// - Throws: `MemoryLimitError`, "X: a batch of 100 images needs about 25.7 GB; the limit is …".
    /// In shuffle-across mode the partners' clean pass runs beside the batch, hence twice the images.
    static func checkMemory(_ description: ModelDescription, name: String) throws {
        let batch = 2 * batchSize
        try Limits.checkMemory(description.estimatedInferenceBytes(batch: batch), for: "\(name): a batch of \(batch) images")
    }

    /// A session over given models and images (for tests and embedding).
    public static func make(models: [(name: String, model: Model)], dataset: ImageDataset, datasetName: String = "images",
                            width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256,
                            limit: Int? = nil) throws -> Session {
        guard !models.isEmpty else { throw SessionError("no model given") }
        guard dataset.count > 0 else { throw SessionError("the image set has no images") }
        for m in models { try dataset.checkCompatible(with: m.model.description, name: datasetName) }
        let opened = models.map {
            OpenedCheckpoint(summary: CheckpointSummary(name: $0.name, description: $0.model.description),
                             path: $0.name, model: $0.model, snapshotPaths: [])
        }
        let summary = DatasetSummary(name: datasetName, labels: dataset.labels, classNames: dataset.classNames,
                                     evaluationLimit: limit)
        let state = ViewState(width: width, height: height, colorMode: colorMode, checkpoints: opened.map(\.summary),
                              dataset: summary)
        return Session(state: state, checkpoints: opened, dataset: dataset)
    }

    // MARK: Running

    /// Runs the first forward pass (call once before drawing).
    public func start() { perform([.forward]) }

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
    public var isBusy: Bool { job.map { !$0.token.isCancelled && !$0.token.isFinished } ?? false }

    /// Changes the colour mode (the presenter knows it only after the terminal opened).
    public func setColorMode(_ mode: ColorMode) { state.colorMode = mode }

    /// Changes the charset (the presenter finds it from the locale at start-up).
    public func setCharset(_ charset: Charset) { state.charset = charset }

    /// Asks the background job to stop (it does after its current batch) without waiting.
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
        for t in started { t.cancel() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var all = true
        for t in started where !t.waitUntilFinished(timeout: deadline.timeIntervalSinceNow) { all = false }
        started.removeAll { $0.isFinished }
        return all
    }

    private func perform(_ effects: [Effect]) {
        var queue = effects
        while !queue.isEmpty {
            let effect = queue.removeFirst()
            switch effect {
            case .forward:
                queue += update(&state, runForward())
            case .evaluate:
                startEvaluation()
            case .cancelEvaluation:
                close()
            case .findMisclassified(let from):
                queue += update(&state, findMisclassified(from: from))
            case .quit:
                close()
            }
        }
    }

    /// The model of a configuration (a snapshot's is loaded on first use).
    func model(for key: ConfigKey) throws -> Model {
        let cp = checkpoints[key.checkpoint]
        guard let e = key.epoch else { return cp.model }
        if let m = cp.snapshotModels[e] { return m }
        guard e >= 0, e < cp.snapshotPaths.count else { throw SessionError("no snapshot \(e) in \(cp.path)") }
        // Read again (the file may have changed since it was listed): checked like at start.
        let checkpoint = try Checkpoint.read(path: cp.snapshotPaths[e])
        try dataset.checkCompatible(with: checkpoint.description, name: cp.snapshotPaths[e])
        try Session.checkMemory(checkpoint.description, name: cp.snapshotPaths[e])
        let m = try checkpoint.makeModel()
        cp.snapshotModels[e] = m
        return m
    }

    /// Image `i` as grey levels (mean over channels).
    func grayImage(_ i: Int) -> GrayImage {
        let c = dataset.channels, plane = dataset.height * dataset.width
        let src = dataset.image(i)
        var px = [UInt8](repeating: 0, count: plane)
        src.withUnsafeBufferPointer { s in
            for p in 0..<plane {
                var sum = 0
                for ch in 0..<c { sum += Int(s[ch * plane + p]) }
                px[p] = UInt8(sum / c)
            }
        }
        return GrayImage(width: dataset.width, height: dataset.height, pixels: px)
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
        let elapsed = clock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return .forwardCompleted(ForwardResult(key: key, imageIndex: index, image: grayImage(index), trace: trace,
                                               milliseconds: ms, partnerIndex: partners?.partner(of: index)))
    }

    /// The next misclassified image from `from` on (wrapping), searched in batches.
    func findMisclassified(from: Int) -> Event {
        let key = state.configKey
        let model: Model
        do { model = try self.model(for: key) } catch { return .failed("cannot load snapshot: \(error)") }
        let n = dataset.count
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
            for (row, i) in indices.enumerated() where trace.prediction(sample: row) != dataset.labels[i] {
                return .searchFinished(found: i, searched: searched + row + 1)
            }
            searched += count
            start = (start + count) % n
        }
        return .searchFinished(found: nil, searched: searched)
    }

    /// Starts (or keeps) the background evaluation and τ sweep of the current configuration.
    func startEvaluation() {
        let key = state.evaluationKey
        let sweepKey = state.sweepKey
        if let job, job.key == key, !job.token.isCancelled { return }
        close()
        let evaluationDone = state.evaluations[key]?.isFinished == true
        let sweepDone = state.checkpoint.isStatic || state.sweeps[sweepKey]?.isFinished == true
        if evaluationDone && sweepDone { return }
        let model: Model
        do { model = try self.model(for: key.config) } catch {
            state.message = "cannot load snapshot: \(error)"
            return
        }
        let token = CancelToken()
        job = (key, token)
        started.append(token)
        let job = EvaluationJob(model: model, dataset: dataset, key: key, sweepKey: sweepKey,
                                runEvaluation: !evaluationDone, runSweep: !sweepDone, inbox: inbox, token: token)
        let thread = Thread { job.run() }
        thread.qualityOfService = .utility
        thread.stackSize = 4 << 20
        thread.start()
    }
}

/// The dataset evaluation and τ sweep of one configuration, run on a background thread.
struct EvaluationJob: Sendable {
    let model: Model
    let dataset: ImageDataset
    let key: EvaluationKey
    let sweepKey: SweepKey
    let runEvaluation: Bool
    let runSweep: Bool
    let inbox: EventInbox
    let token: CancelToken

    /// One pass over the first `limit` images at `options`; `progress` gets (done, correct,
    /// entropy sums) after each batch. Returns nil when cancelled.
    func pass(options: ForwardOptions, cloudKey: ConfigKey?,
              progress: (Int, Int, [Double]) -> Void) -> (correct: Int, entropySums: [Double])? {
        let total = key.limit
        let layerCount = model.dynamicLayerNames.count
        var sums = [Double](repeating: 0, count: layerCount)
        var correct = 0
        var done = 0
        let partners = options.mode == .shuffleAcross ? try? ShuffleAcrossPartners(count: dataset.count, seed: options.seed) : nil
        if options.mode == .shuffleAcross && partners == nil { return nil }   // fewer than 2 images: nothing to pair
        while done < total {
            if token.isCancelled { return nil }
            let count = min(Session.batchSize, total - done)
            let trace = model.forward(dataset, indices: Array(done..<(done + count)), options: options, partners: partners)
            for row in 0..<count where trace.prediction(sample: row) == dataset.labels[done + row] { correct += 1 }
            for (l, lt) in trace.layers.enumerated() where l < layerCount {
                var s = 0.0
                for row in 0..<count { s += Double(lt.entropy[row]) }
                sums[l] += s
            }
            if let cloudKey {
                inbox.post(.cloudPoints(CloudBatch(key: cloudKey, indices: Array(done..<(done + count)),
                                                   layers: trace.layers.map(\.attention), kernels: trace.layers.map(\.kernels))))
            }
            done += count
            progress(done, correct, sums)
        }
        return (correct, sums)
    }

    func run() {
        defer { token.finish() }
        let clock = ContinuousClock()
        let start = clock.now
        func elapsedMs() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        }
        let total = key.limit
        if runEvaluation {
            let options = key.config.forwardOptions(seed: 0)
            let result = pass(options: options, cloudKey: key.config) { done, correct, sums in
                inbox.post(.evaluationProgress(EvaluationProgress(key: key, done: done, total: total, correct: correct,
                                                                  entropySums: sums, milliseconds: elapsedMs())))
            }
            if result == nil { return }
        }
        guard runSweep else { return }
        let temps = SweepProgress.defaultTemperatures
        var points: [SweepPoint] = []
        inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: [])))
        for t in temps {
            let options = ForwardOptions(temperature: t, mode: sweepKey.mode, seed: 0, collectTrace: true)
            let snapshot = points
            guard let r = pass(options: options, cloudKey: nil, progress: { done, _, _ in
                inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: snapshot, partialDone: done)))
            }) else { return }
            let layers = max(r.entropySums.count, 1)
            points.append(SweepPoint(temperature: t, accuracy: Double(r.correct) / Double(max(total, 1)),
                                     meanEntropy: r.entropySums.reduce(0, +) / Double(max(total, 1) * layers)))
            inbox.post(.sweepProgress(SweepProgress(key: sweepKey, temperatures: temps, points: points)))
        }
    }
}
