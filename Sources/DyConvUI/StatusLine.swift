/// The τ of the current configuration as shown on screen, e.g. "τ 1.25 (trained 1.00)".
func temperatureLabel(_ state: ViewState) -> String {
    guard let t = state.effectiveTemperature else { return "τ — (static)" }
    return temperatureLabel(state, shown: Format.temperature(t), trained: state.isTrainedTemperature)
}

/// The widest `temperatureLabel` the state can show as τ changes: a changed τ of the widest
/// text. The status line pads τ to it so that the segments after it stay put.
func widestTemperatureLabel(_ state: ViewState) -> String {
    guard state.effectiveTemperature != nil else { return "τ — (static)" }
    return temperatureLabel(state, shown: String(repeating: "0", count: Format.temperatureWidth), trained: false)
}

private func temperatureLabel(_ state: ViewState, shown: String, trained: Bool) -> String {
    let reference = Format.temperature(state.trainedTemperature ?? state.effectiveTemperature ?? 1)
    if let e = state.epoch {
        return trained ? "τ \(shown) (epoch \(e.epoch)'s)" : "τ \(shown) (epoch \(e.epoch)'s \(reference))"
    }
    return trained ? "τ \(shown) (trained)" : "τ \(shown) (trained \(reference))"
}

/// The top row: program, checkpoint (with its position among the opened ones), routing,
/// snapshot, and the images being browsed.
func renderHeader(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.header, s = ctx.state, theme = ctx.theme
    grid.fill(r, " ", theme.statusBar)
    var x = grid.text(r.x, r.y, " dyconv-tui ", theme.statusKey)
    let cp = s.checkpoint
    var line = " \(cp.name)"
    if s.checkpoints.count > 1 { line += " [\(s.checkpointIndex + 1)/\(s.checkpoints.count) Tab]" }
    if !cp.name.hasPrefix(cp.family) { line += " · \(cp.family)" }
    line += " · \(cp.routingLabel)"
    if !cp.isStatic { line += " · \(cp.layers.count) dynamic layers" }
    if let e = s.epoch { line += " · snapshot epoch \(e.epoch)/\(e.epochs)" }
    else if !cp.epochs.isEmpty { line += " · \(cp.epochs.count) snapshots < >" }
    var rightText = "\(s.dataset.name): \(s.dataset.count) images "
    // How the images were prepared, when there is room beside the checkpoint's line.
    if let note = s.dataset.note, r.width - (x - r.x) - line.unicodeScalars.count - rightText.unicodeScalars.count - 4 > note.unicodeScalars.count {
        rightText = "\(s.dataset.name): \(s.dataset.count) images · \(note) "
    }
    let room = r.width - (x - r.x) - rightText.unicodeScalars.count - 1
    x = grid.text(x, r.y, Format.clip(line, max(room, 0)), theme.statusBar)
    if room > 10 { grid.textRight(r.maxX, r.y, rightText, theme.statusBar) }
}

/// The bottom row: checkpoint, τ, mode, forward time; a message, the index being typed, or
/// the key hint on the right.
func renderStatusLine(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.status, s = ctx.state, theme = ctx.theme
    grid.fill(r, " ", theme.statusBar)
    let segments: [(label: String, value: String)] = [
        ("", s.checkpoint.name + (s.epoch.map { " @epoch \($0.epoch)" } ?? "")),
        ("", temperatureLabel(s)),
        ("mode ", s.checkpoint.isStatic ? "—" : s.mode.rawValue),
        ("forward ", ctx.result.map { Format.milliseconds($0.milliseconds) } ?? "…"),
    ]
    // τ keeps one width as it changes (its text is 3 to 6 characters, and "(trained 1.00)"
    // appears once it differs), so the segments after it do not jump at every + or -: it is
    // padded to its widest form, as far as the line has room beside the key hint.
    let natural = 1 + segments.map { ($0.label + $0.value).unicodeScalars.count }.reduce(0, +) + 3 * (segments.count - 1)
    let longHint = " ? help · q quit ", shortHint = " ? help "
    let hint = (r.width - natural >= 20 ? longHint : shortHint).unicodeScalars.count
    let tauText = segments[1].value.unicodeScalars.count
    let tauPad = min(max(widestTemperatureLabel(s).unicodeScalars.count - tauText, 0), max(r.width - natural - hint - 1, 0))
    var x = r.x + 1
    for (i, segment) in segments.enumerated() where x < r.maxX {
        if i > 0 { x = grid.text(x, r.y, " │ ", theme.statusBar) }
        if !segment.label.isEmpty { x = grid.text(x, r.y, segment.label, theme.statusBar) }
        x = grid.text(x, r.y, i == 1 ? Format.pad(segment.value, tauText + tauPad) : segment.value, theme.statusKey)
    }

    let right: String
    let rightStyle: Style
    if let input = s.gotoInput {
        right = " go to image: \(input)▏ Enter ↵ · Esc "
        rightStyle = theme.statusKey
    } else if let m = s.message {
        right = " " + m + " "
        rightStyle = theme.statusKey
    } else {
        right = r.maxX - x >= 20 ? longHint : shortHint
        rightStyle = theme.statusBar
    }
    let n = right.unicodeScalars.count
    let start = max(r.maxX - n, x + 1)
    grid.text(start, r.y, right, rightStyle, maxWidth: r.maxX - start)
}
