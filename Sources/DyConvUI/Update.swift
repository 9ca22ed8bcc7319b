import DyConvEngine

/// Factor of one `+` / `-` step of τ.
public let temperatureStep: Float = 1.25
/// τ is kept within these bounds: the engine's (`Limits.temperature`), the same range the
/// `--tau` flag and checkpoints are checked against, so a key can never reach a τ the
/// engine refuses (or one whose softmax turns into NaN).
public let temperatureRange: ClosedRange<Float> = Limits.temperature

/// Applies an event to the state and returns the work the session must do.
///
/// Pure: no I/O, no clock, no model. Keys (`UpdateKeys.swift`, the table in `keyTable`):
/// ← → h l n p image · ↑ ↓ k j layer · + - ] [ τ · { } τ of the selected layer · 0 trained τ ·
/// m mode · s small multiples · r R e E turn the tetrahedron · c same class · x misclassified ·
/// g G first/last · / index · d dataset · < > epoch · Tab checkpoint · ? F1 help ·
/// q F10 Ctrl-C quit. Mouse: `UpdateMouse.swift`.
public func update(_ state: inout ViewState, _ event: Event) -> [Effect] {
    switch event {
    case .key(let key):
        return handleKey(&state, key)
    case .mouse(let m):
        return handleMouse(&state, m)
    case .resize(let w, let h):
        state.width = max(w, 0); state.height = max(h, 0)
        return []
    case .forwardCompleted(let result):
        guard result.key == state.configKey, result.imageIndex == state.imageIndex else { return [] }
        state.current = result
        let trace = result.trace
        if trace.batchSize > 0, result.imageIndex < state.dataset.profileLimit {
            state.cloud.add(index: result.imageIndex, attention: trace.layers.map { $0.attention(sample: 0) },
                            entropy: trace.layers.map { $0.entropy.first ?? .nan }, key: result.key)
            state.cloud.updateProfiles()
        }
        if state.selectedLayer >= max(trace.layers.count, 1) { state.selectedLayer = max(trace.layers.count - 1, 0) }
        return []
    case .failed(let message):
        state.message = message
        return []
    case .evaluationProgress(let p):
        state.evaluations[p.key] = p
        return []
    case .sweepProgress(let p):
        state.sweeps[p.key] = p
        return []
    case .cloudPoints(let batch):
        guard batch.key == state.configKey, batch.layers.count == batch.kernels.count,
              batch.entropies.count == batch.layers.count else { return [] }
        for (i, index) in batch.indices.enumerated() where index < state.dataset.profileLimit {
            var slices: [ArraySlice<Float>] = []
            var entropy: [Float] = []
            slices.reserveCapacity(batch.layers.count)
            for (l, values) in batch.layers.enumerated() {
                let k = batch.kernels[l]
                guard (i + 1) * k <= values.count, i < batch.entropies[l].count else { state.cloud.updateProfiles(); return [] }
                slices.append(values[(i * k)..<((i + 1) * k)])
                entropy.append(batch.entropies[l][i])
            }
            state.cloud.add(index: index, attention: slices, entropy: entropy, key: batch.key)
        }
        state.cloud.updateProfiles()
        return []
    case .searchFinished(let found, let searched):
        if let found {
            let wrapped = found < state.imageIndex
            state.imageIndex = found
            state.message = "misclassified image #\(found)" + (wrapped ? " (wrapped around)" : "")
            return [.forward]
        }
        state.message = "no misclassified image among \(searched) images"
        return []
    case .message(let text):
        state.message = text
        return []
    }
}

