/// The τ of the current configuration as shown on screen, e.g. "τ 1.25 (trained 1.00)".
func temperatureLabel(_ state: ViewState) -> String {
    guard let t = state.effectiveTemperature else { return "τ — (static)" }
    if let e = state.epoch {
        return state.isTrainedTemperature
            ? "τ \(Format.temperature(t)) (epoch \(e.epoch)'s)"
            : "τ \(Format.temperature(t)) (epoch \(e.epoch)'s \(Format.temperature(state.trainedTemperature ?? t)))"
    }
    if state.isTrainedTemperature { return "τ \(Format.temperature(t)) (trained)" }
    return "τ \(Format.temperature(t)) (trained \(Format.temperature(state.trainedTemperature ?? t)))"
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
    var x = r.x + 1
    func segment(_ label: String, _ value: String) {
        guard x < r.maxX else { return }
        if x > r.x + 1 { x = grid.text(x, r.y, " │ ", theme.statusBar) }
        if !label.isEmpty { x = grid.text(x, r.y, label, theme.statusBar) }
        x = grid.text(x, r.y, value, theme.statusKey)
    }
    segment("", s.checkpoint.name + (s.epoch.map { " @epoch \($0.epoch)" } ?? ""))
    segment("", temperatureLabel(s))
    segment("mode ", s.checkpoint.isStatic ? "—" : s.mode.rawValue)
    if let res = ctx.result {
        segment("forward ", Format.milliseconds(res.milliseconds))
    } else {
        segment("forward ", "…")
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
        right = r.maxX - x >= 20 ? " ? help · q quit " : " ? help "
        rightStyle = theme.statusBar
    }
    let n = right.unicodeScalars.count
    let start = max(r.maxX - n, x + 1)
    grid.text(start, r.y, right, rightStyle, maxWidth: r.maxX - start)
}
