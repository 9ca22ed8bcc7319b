import DyConvEngine

/// Factor of one `+` / `-` step of τ.
public let temperatureStep: Float = 1.25
/// τ is kept within these bounds: the engine's (`Limits.temperature`), the same range the
/// `--tau` flag and checkpoints are checked against, so a key can never reach a τ the
/// engine refuses (or one whose softmax turns into NaN).
public let temperatureRange: ClosedRange<Float> = Limits.temperature

/// Applies an event to the state and returns the work the session must do.
///
/// Pure: no I/O, no clock, no model. Key handling:
/// ← → h l n p image · ↑ ↓ k j layer · + - ] [ τ · 0 trained τ · m mode · c same class ·
/// x misclassified · g G first/last · / index · d dataset · < > epoch · Tab checkpoint ·
/// ? F1 help · q F10 Ctrl-C quit; a click on an attention row selects that layer.
public func update(_ state: inout ViewState, _ event: Event) -> [Effect] {
    switch event {
    case .key(let key):
        return handleKey(&state, key)
    case .click(let x, let y):
        return handleClick(&state, x: x, y: y)
    case .resize(let w, let h):
        state.width = max(w, 0); state.height = max(h, 0)
        return []
    case .forwardCompleted(let result):
        guard result.key == state.configKey, result.imageIndex == state.imageIndex else { return [] }
        state.current = result
        let trace = result.trace
        if trace.batchSize > 0 {
            state.cloud.add(index: result.imageIndex, attention: trace.layers.map { $0.attention(sample: 0) }, key: result.key)
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
        guard batch.key == state.configKey, batch.layers.count == batch.kernels.count else { return [] }
        for (i, index) in batch.indices.enumerated() {
            var slices: [ArraySlice<Float>] = []
            slices.reserveCapacity(batch.layers.count)
            for (l, values) in batch.layers.enumerated() {
                let k = batch.kernels[l]
                guard (i + 1) * k <= values.count else { return [] }
                slices.append(values[(i * k)..<((i + 1) * k)])
            }
            state.cloud.add(index: index, attention: slices, key: batch.key)
        }
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

/// Keys, dispatched by the current input mode (help shown, typing an index, normal).
private func handleKey(_ state: inout ViewState, _ key: Key) -> [Effect] {
    if key == .interrupt || key == .function(10) || key == .char("q") && state.gotoInput == nil {
        state.quit = true
        return [.quit]
    }
    state.message = nil
    if state.showHelp {
        // Any key but the quit keys closes the key table (F1 and ? too: they toggle it).
        state.showHelp = false
        return []
    }
    if key == .function(1) {
        state.gotoInput = nil
        state.showHelp = true
        return []
    }
    if state.gotoInput != nil { return handleGotoKey(&state, key) }

    switch key {
    case .right, .char("l"), .char("n"), .char(" "):
        return step(&state, by: 1)
    case .left, .char("h"), .char("p"):
        return step(&state, by: -1)
    case .pageDown:
        return step(&state, by: 10)
    case .pageUp:
        return step(&state, by: -10)
    case .down, .char("j"):
        selectLayer(&state, state.selectedLayer + 1)
        return []
    case .up, .char("k"):
        selectLayer(&state, state.selectedLayer - 1)
        return []
    case .char("+"), .char("="), .char("]"):
        return scaleTemperature(&state, by: temperatureStep)
    case .char("-"), .char("_"), .char("["):
        return scaleTemperature(&state, by: 1 / temperatureStep)
    case .char("0"):
        guard !state.checkpoint.isStatic else { return staticNotice(&state, "temperature") }
        guard state.temperature != nil else { return [] }
        state.temperature = nil
        return configChanged(&state)
    case .char("m"):
        guard !state.checkpoint.isStatic else { return staticNotice(&state, "aggregation mode") }
        state.mode = state.mode.next
        return configChanged(&state)
    case .char("c"):
        return nextOfSameClass(&state)
    case .char("x"):
        guard state.dataset.count > 0 else { return [] }
        guard state.dataset.isLabelled else {
            state.message = "the images are unlabelled: none is known to be misclassified"
            return []
        }
        return [.findMisclassified(from: (state.imageIndex + 1) % state.dataset.count)]
    case .char("g"), .home:
        return jump(&state, to: 0)
    case .char("G"), .end:
        return jump(&state, to: state.dataset.count - 1)
    case .char("/"):
        state.gotoInput = ""
        return []
    case .char("d"):
        state.showDataset.toggle()
        return state.showDataset ? [.evaluate] : [.cancelEvaluation]
    case .char("<"), .char(","):
        return stepEpoch(&state, by: -1)
    case .char(">"), .char("."):
        return stepEpoch(&state, by: 1)
    case .tab:
        return switchCheckpoint(&state, by: 1)
    case .backTab:
        return switchCheckpoint(&state, by: -1)
    case .char("?"):
        state.showHelp = true
        return []
    case .escape:
        if state.showDataset {
            state.showDataset = false
            return [.cancelEvaluation]
        }
        return []
    default:
        return []
    }
}

/// Keys while typing an image index after `/`: digits, Backspace, Enter, Esc.
private func handleGotoKey(_ state: inout ViewState, _ key: Key) -> [Effect] {
    var input = state.gotoInput ?? ""
    switch key {
    case .char(let c) where c.properties.numericType != nil && ("0"..."9").contains(c):
        if input.count < 9 { input.unicodeScalars.append(c) }
        state.gotoInput = input
        return []
    case .backspace:
        if !input.isEmpty { input.removeLast() }
        state.gotoInput = input
        return []
    case .enter:
        state.gotoInput = nil
        guard let n = Int(input) else {
            state.message = "no index typed"
            return []
        }
        guard n >= 0, n < state.dataset.count else {
            state.message = "image index \(n) out of range 0–\(state.dataset.count - 1)"
            return []
        }
        return jump(&state, to: n)
    case .escape:
        state.gotoInput = nil
        return []
    default:
        // While the prompt is open every key belongs to it: anything else is ignored (the
        // prompt stays, showing Enter and Esc), never passed to the main key map (`/1m`
        // must not change the mode). Ctrl-C still quits (handled before the prompt).
        return []
    }
}

/// A click: on an attention row selects that layer; anywhere closes the help.
private func handleClick(_ state: inout ViewState, x: Int, y: Int) -> [Effect] {
    if state.showHelp { state.showHelp = false; return [] }
    let layout = Layout(state)
    guard layout.fits, !state.showDataset,
          let l = layout.layer(atX: x, y: y, layerCount: state.layerCount, selected: state.selectedLayer)
    else { return [] }
    selectLayer(&state, l)
    return []
}

/// Moves `delta` images, wrapping around the dataset.
private func step(_ state: inout ViewState, by delta: Int) -> [Effect] {
    let n = state.dataset.count
    guard n > 0 else { return [] }
    state.imageIndex = ((state.imageIndex + delta) % n + n) % n
    return [.forward]
}

/// Goes to image `index` (clamped to the dataset).
private func jump(_ state: inout ViewState, to index: Int) -> [Effect] {
    guard state.dataset.count > 0 else { return [] }
    let i = min(max(index, 0), state.dataset.count - 1)
    guard i != state.imageIndex else { return [] }
    state.imageIndex = i
    return [.forward]
}

/// Selects a dynamic layer (clamped).
private func selectLayer(_ state: inout ViewState, _ l: Int) {
    state.selectedLayer = min(max(l, 0), max(state.layerCount - 1, 0))
}

/// Multiplies τ by `factor` starting from the shown τ.
private func scaleTemperature(_ state: inout ViewState, by factor: Float) -> [Effect] {
    guard let shown = state.effectiveTemperature else { return staticNotice(&state, "temperature") }
    // A τ outside the range (NaN from a damaged snapshot record) steps from 1 instead:
    // NaN would pass through min/max and reach the forward pass.
    let t = Limits.isValidTemperature(shown) ? shown : 1
    var next = min(max(t * factor, temperatureRange.lowerBound), temperatureRange.upperBound)
    // Land exactly on the trained τ when a step passes within rounding of it.
    if let trained = state.trainedTemperature, abs(next - trained) <= trained * 1e-3 { next = trained }
    guard next != t else {
        state.message = "τ is at its \(factor > 1 ? "maximum" : "minimum") \(Format.temperature(t))"
        return []
    }
    state.temperature = next == state.trainedTemperature ? nil : next
    return configChanged(&state)
}

/// The next image (after the current one, wrapping) with the current image's label.
private func nextOfSameClass(_ state: inout ViewState) -> [Effect] {
    guard let labels = state.dataset.labels else {
        state.message = "the images are unlabelled: no class to follow"
        return []
    }
    guard let label = state.label, labels.count > 1 else { return [] }
    for d in 1..<labels.count {
        let i = (state.imageIndex + d) % labels.count
        if labels[i] == label {
            state.imageIndex = i
            return [.forward]
        }
    }
    state.message = "no other image of class \(state.dataset.className(label))"
    return []
}

/// Steps through the training snapshots: … → last epoch → final checkpoint.
private func stepEpoch(_ state: inout ViewState, by delta: Int) -> [Effect] {
    let epochs = state.checkpoint.epochs
    guard !epochs.isEmpty else {
        state.message = "\(state.checkpoint.name) has no training snapshots"
        return []
    }
    // Positions 0..<count are snapshots, count is the final checkpoint.
    let position = state.epochIndex ?? epochs.count
    let next = min(max(position + delta, 0), epochs.count)
    guard next != position else {
        state.message = delta < 0 ? "already at the first snapshot" : "already at the final checkpoint"
        return []
    }
    state.epochIndex = next == epochs.count ? nil : next
    return configChanged(&state)
}

/// Switches to another opened checkpoint on the same image.
private func switchCheckpoint(_ state: inout ViewState, by delta: Int) -> [Effect] {
    let n = state.checkpoints.count
    guard n > 1 else {
        state.message = "only one checkpoint is open"
        return []
    }
    state.checkpointIndex = ((state.checkpointIndex + delta) % n + n) % n
    state.epochIndex = nil
    selectLayer(&state, state.selectedLayer)
    return configChanged(&state)
}

/// After a change of checkpoint, epoch, τ or mode: rerun the forward pass, and the
/// dataset evaluation if its view is open.
private func configChanged(_ state: inout ViewState) -> [Effect] {
    state.showDataset ? [.forward, .evaluate] : [.forward]
}

/// A status message for keys that mean nothing to a static network.
private func staticNotice(_ state: inout ViewState, _ what: String) -> [Effect] {
    state.message = "\(state.checkpoint.name) is a static network: no \(what) to change"
    return []
}
