import DyConvEngine

/// Keys, dispatched by the current input mode (help shown, typing an index, normal).
func handleKey(_ state: inout ViewState, _ key: Key) -> [Effect] {
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
        stepLayer(&state, by: 1)
        return []
    case .up, .char("k"):
        stepLayer(&state, by: -1)
        return []
    case .char("+"), .char("="), .char("]"):
        return scaleTemperature(&state, by: temperatureStep)
    case .char("-"), .char("_"), .char("["):
        return scaleTemperature(&state, by: 1 / temperatureStep)
    case .char("{"):
        return scaleLayerTemperature(&state, by: 1 / temperatureStep)
    case .char("}"):
        return scaleLayerTemperature(&state, by: temperatureStep)
    case .char("0"):
        guard !state.checkpoint.isStatic else { return staticNotice(&state, "temperature") }
        guard state.temperature != nil || !state.layerTemperatures.isEmpty else { return [] }
        state.temperature = nil
        state.layerTemperatures = [:]
        return configChanged(&state)
    case .char("s"):
        guard !state.checkpoint.isStatic else { return staticNotice(&state, "attention simplex") }
        state.simplexView.smallMultiples.toggle()
        return []
    case .char("r"), .char("R"), .char("e"), .char("E"):
        guard !state.checkpoint.isStatic else { return staticNotice(&state, "attention simplex") }
        switch key {
        case .char("r"): state.simplexView.yaw = (state.simplexView.yaw + 1) % (360 / SimplexView.step)
        case .char("R"): state.simplexView.yaw = (state.simplexView.yaw + 360 / SimplexView.step - 1) % (360 / SimplexView.step)
        case .char("e"): state.simplexView.pitch = min(state.simplexView.pitch + 1, 90 / SimplexView.step)
        default: state.simplexView.pitch = max(state.simplexView.pitch - 1, -90 / SimplexView.step)
        }
        return []
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
    case .char(let c) where c.properties.isAlphabetic || c.properties.numericType != nil || c.isASCII && c.value > 32:
        // A printable key that means nothing here says so, rather than seeming to be lost.
        state.message = "\(Character(c)) does nothing here · ? lists the keys"
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

/// Moves `delta` images, wrapping around the dataset.
func step(_ state: inout ViewState, by delta: Int) -> [Effect] {
    let n = state.dataset.count
    guard n > 0 else { return [] }
    state.imageIndex = ((state.imageIndex + delta) % n + n) % n
    return [.forward]
}

/// Goes to image `index` (clamped to the dataset).
func jump(_ state: inout ViewState, to index: Int) -> [Effect] {
    guard state.dataset.count > 0 else { return [] }
    let i = min(max(index, 0), state.dataset.count - 1)
    guard i != state.imageIndex else { return [] }
    state.imageIndex = i
    return [.forward]
}

/// Moves the layer selection by `delta`, wrapping around the layers like the images do
/// (↑ on the first layer selects the last); epochs, a timeline, stop at their ends instead.
func stepLayer(_ state: inout ViewState, by delta: Int) {
    let n = state.layerCount
    guard n > 0 else { return }
    state.selectedLayer = ((state.selectedLayer + delta) % n + n) % n
}

/// Selects a dynamic layer (clamped).
func selectLayer(_ state: inout ViewState, _ l: Int) {
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

/// Multiplies the selected layer's τ by `factor`, starting from the τ it runs with; a τ
/// that lands on the global one drops the layer's own.
private func scaleLayerTemperature(_ state: inout ViewState, by factor: Float) -> [Effect] {
    let l = state.selectedLayer
    guard l >= 0, l < state.layerCount, let shown = state.temperature(ofLayer: l) else {
        return staticNotice(&state, "temperature")
    }
    let t = Limits.isValidTemperature(shown) ? shown : 1
    var next = min(max(t * factor, temperatureRange.lowerBound), temperatureRange.upperBound)
    let global = state.effectiveTemperature ?? 1
    if abs(next - global) <= global * 1e-3 { next = global }
    guard next != t else {
        state.message = "τ of \(compactLayerPath(state.checkpoint.layers[l].name)) is at its \(factor > 1 ? "maximum" : "minimum") \(Format.temperature(t))"
        return []
    }
    if next == global { state.layerTemperatures[l] = nil } else { state.layerTemperatures[l] = next }
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
func stepEpoch(_ state: inout ViewState, by delta: Int) -> [Effect] {
    let epochs = state.checkpoint.epochs
    guard !epochs.isEmpty else {
        state.message = "\(state.checkpoint.name) has no training snapshots"
        return []
    }
    // Positions 0..<count are snapshots, count is the final checkpoint.
    let position = state.epochIndex ?? epochs.count
    let next = min(max(position + delta, 0), epochs.count)
    // The snapshot of the final checkpoint's own epoch shows the same network: say so, or the
    // key press looks as if it did nothing.
    if let last = state.checkpoint.training?.epoch, next < epochs.count, epochs[next].epoch == last {
        state.message = "snapshot of epoch \(last): the same epoch as the final checkpoint"
    }
    guard next != position else {
        state.message = delta < 0 ? "already at the first snapshot" : "already at the final checkpoint"
        return []
    }
    state.epochIndex = next == epochs.count ? nil : next
    return configChanged(&state)
}

/// Switches to another opened checkpoint on the same image.
func switchCheckpoint(_ state: inout ViewState, by delta: Int) -> [Effect] {
    let n = state.checkpoints.count
    guard n > 1 else {
        state.message = "only one checkpoint is open"
        return []
    }
    state.checkpointIndex = ((state.checkpointIndex + delta) % n + n) % n
    state.epochIndex = nil
    state.layerTemperatures = [:]
    selectLayer(&state, state.selectedLayer)
    return configChanged(&state)
}

/// After a change of checkpoint, epoch, τ or mode: rerun the forward pass and the profile
/// pass, and the dataset evaluation if its view is open.
func configChanged(_ state: inout ViewState) -> [Effect] {
    state.showDataset ? [.forward, .prefill, .evaluate] : [.forward, .prefill]
}

/// A status message for keys that mean nothing to a static network.
private func staticNotice(_ state: inout ViewState, _ what: String) -> [Effect] {
    state.message = "\(state.checkpoint.name) is a static network: no \(what) to change"
    return []
}
