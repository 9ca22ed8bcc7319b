/// The τ of the current configuration as shown on screen, e.g. "τ 1.25 (trained 1.00)".
func temperatureLabel(_ state: ViewState) -> String {
    guard let t = state.effectiveTemperature else { return "τ — (static)" }
    return temperatureLabel(state, shown: Format.temperature(t), trained: state.isTrainedTemperature)
}

/// The widest `temperatureLabel` the state can show as τ changes: a changed τ of the widest
/// text. The status line pads τ to it so that the segments after it stay put.
func widestTemperatureLabel(_ state: ViewState) -> String {
    guard state.effectiveTemperature != nil else { return "τ — (static)" }
    return temperatureLabel(state, shown: String(repeating: "0", count: Format.temperatureWidth), trained: false,
                            ownLayers: max(state.layerTemperatures.count, 1))
}

private func temperatureLabel(_ state: ViewState, shown: String, trained: Bool, ownLayers: Int? = nil) -> String {
    let reference = Format.temperature(state.trainedTemperature ?? state.effectiveTemperature ?? 1)
    // Layers with their own τ (`{` `}`) are counted, so the status line never claims the
    // trained τ while one layer runs at another.
    let n = ownLayers ?? state.layerTemperatures.count
    let own = n > 0 ? " +\(n) layer τ" : ""
    if let e = state.epoch {
        return (trained ? "τ \(shown) (epoch \(e.epoch)'s)" : "τ \(shown) (epoch \(e.epoch)'s \(reference))") + own
    }
    return (trained ? "τ \(shown) (trained)" : "τ \(shown) (trained \(reference))") + own
}

/// The header's texts for a state and width: what `renderHeader` draws, and where the
/// checkpoint tab label is (for `Layout.checkpointTab`), computed once for both.
struct HeaderText {
    static let program = " dyconv-tui "
    /// The checkpoint's line, already clipped to its room.
    let line: String
    /// The image set on the right, or nil when there is no room for it.
    let right: String?
    /// The columns of "[i/n Tab]" when it is shown whole.
    let tabColumns: Range<Int>?

    init(_ s: ViewState, width: Int) {
        let start = HeaderText.program.unicodeScalars.count
        let cp = s.checkpoint
        var line = " \(cp.name)"
        var tab: Range<Int>?
        if s.checkpoints.count > 1 {
            let label = "[\(s.checkpointIndex + 1)/\(s.checkpoints.count) Tab]"
            let at = line.unicodeScalars.count + 1
            tab = at..<(at + label.unicodeScalars.count)
            line += " " + label
        }
        var extras: [String] = []
        if !cp.name.hasPrefix(cp.family) { extras.append(cp.family) }
        extras.append(cp.routingLabel)
        if !cp.isStatic { extras.append("\(cp.layers.count) dynamic layers") }
        if let e = s.epoch { extras.append("snapshot epoch \(e.epoch)/\(e.epochs)") }
        else if !cp.epochs.isEmpty { extras.append("\(cp.epochs.count) snapshots < >") }
        var rightText = "\(s.dataset.name): \(s.dataset.count) images "
        // How the images were prepared, when there is room beside the checkpoint's line.
        let fullLine = line.unicodeScalars.count + extras.map { 3 + $0.unicodeScalars.count }.reduce(0, +)
        if let note = s.dataset.note, width - start - fullLine - rightText.unicodeScalars.count - 4 > note.unicodeScalars.count {
            rightText = "\(s.dataset.name): \(s.dataset.count) images · \(note) "
        }
        let room = max(width - start - rightText.unicodeScalars.count - 1, 0)
        // The checkpoint's facts are added whole while they fit: a fact is left out rather
        // than cut; only the name itself is cut when even it does not fit.
        for extra in extras where line.unicodeScalars.count + 3 + extra.unicodeScalars.count <= room {
            line += " · " + extra
        }
        let clipped = Format.clip(line, room)
        self.line = clipped
        right = room > 10 ? rightText : nil
        // A cut line ends in "…": the tab counts only when it lies before the cut.
        let whole = clipped.unicodeScalars.count == line.unicodeScalars.count ? room : room - 1
        tabColumns = tab.flatMap { $0.upperBound <= whole ? (start + $0.lowerBound)..<(start + $0.upperBound) : nil }
    }
}

/// The top row: program, checkpoint (with its position among the opened ones), routing,
/// snapshot, and the images being browsed.
func renderHeader(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.header, theme = ctx.theme
    let head = HeaderText(ctx.state, width: r.width)
    grid.fill(r, " ", theme.statusBar)
    let x = grid.text(r.x, r.y, HeaderText.program, theme.statusKey)
    grid.text(x, r.y, head.line, theme.statusBar, maxWidth: r.maxX - x)
    if let right = head.right { grid.textRight(r.maxX, r.y, right, theme.statusBar) }
}

/// The status line's texts for a state and width: what `renderStatusLine` draws, and where
/// "? help" is (for `Layout.helpLabel`), computed once for both.
struct StatusLineText {
    static let longHint = " ? help · q quit ", shortHint = " ? help "
    /// The segments (checkpoint, τ padded, mode, forward) with their columns; `isValue` is
    /// drawn in the key style.
    let pieces: [(x: Int, text: String, isValue: Bool)]
    /// The right-hand text (message, index prompt or key hint), its column and whether it is
    /// a message (key style) rather than the hint.
    let right: (x: Int, text: String, isMessage: Bool)
    /// The columns of "? help" when the hint is shown.
    let helpColumns: Range<Int>?

    init(_ s: ViewState, width: Int) {
        let result = s.currentResult
        var segments: [(label: String, value: String)] = [
            ("", s.checkpoint.name + (s.epoch.map { " @epoch \($0.epoch)" } ?? "")),
            ("", temperatureLabel(s)),
            ("mode ", s.checkpoint.isStatic ? "—" : s.mode.rawValue),
            ("forward ", result.map { Format.milliseconds($0.milliseconds) } ?? "…"),
        ]
        // Whole segments give way (forward time first, then the mode: the header and the panels
        // show it too) rather than being cut mid-word beside the short key hint.
        func naturalWidth() -> Int {
            1 + segments.map { ($0.label + $0.value).unicodeScalars.count }.reduce(0, +) + 3 * (segments.count - 1)
        }
        while segments.count > 2, naturalWidth() + StatusLineText.shortHint.unicodeScalars.count > width { segments.removeLast() }
        // τ keeps one width as it changes (its text is 3 to 6 characters, and "(trained 1.00)"
        // appears once it differs), so the segments after it do not jump at every + or -: it is
        // padded to its widest form, as far as the line has room beside the key hint.
        let natural = naturalWidth()
        let hint = (width - natural >= 20 ? StatusLineText.longHint : StatusLineText.shortHint).unicodeScalars.count
        let tauText = segments[1].value.unicodeScalars.count
        let tauPad = min(max(widestTemperatureLabel(s).unicodeScalars.count - tauText, 0), max(width - natural - hint - 1, 0))
        var pieces: [(x: Int, text: String, isValue: Bool)] = []
        var x = 1
        for (i, segment) in segments.enumerated() where x < width {
            func add(_ t: String, _ isValue: Bool) { pieces.append((x, t, isValue)); x += t.unicodeScalars.count }
            if i > 0 { add(" │ ", false) }
            if !segment.label.isEmpty { add(segment.label, false) }
            add(i == 1 ? Format.pad(segment.value, tauText + tauPad) : segment.value, true)
        }
        x = min(x, width)
        var text: String, isMessage: Bool
        if let input = s.gotoInput {
            text = " go to image: \(input)▏ Enter ↵ · Esc "; isMessage = true
        } else if let m = s.message {
            text = " " + m + " "; isMessage = true
        } else {
            text = width - x >= 20 ? StatusLineText.longHint : StatusLineText.shortHint; isMessage = false
        }
        // A message too long for the room beside the segments takes the whole line (it answers
        // the key just pressed; the segments are back at the next key), cut with "…" only when
        // even the whole line is too short.
        if isMessage, text.unicodeScalars.count > width - x - 1 {
            pieces.removeAll()
            x = 0
            text = Format.clip(text, max(width, 0))
        }
        self.pieces = pieces
        let start = max(width - text.unicodeScalars.count, x == 0 ? 0 : x + 1)
        right = (start, text, isMessage)
        // "? help" starts one column into the hint; it counts when all of it is on the row.
        let helpStart = start + 1, helpEnd = start + 1 + "? help".unicodeScalars.count
        helpColumns = !isMessage && helpEnd <= width ? helpStart..<helpEnd : nil
    }
}

/// The bottom row: checkpoint, τ, mode, forward time; a message, the index being typed, or
/// the key hint on the right.
func renderStatusLine(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.status, theme = ctx.theme
    let line = StatusLineText(ctx.state, width: r.width)
    grid.fill(r, " ", theme.statusBar)
    for piece in line.pieces {
        grid.text(r.x + piece.x, r.y, piece.text, piece.isValue ? theme.statusKey : theme.statusBar, maxWidth: r.maxX - r.x - piece.x)
    }
    let start = r.x + line.right.x
    grid.text(start, r.y, line.right.text, line.right.isMessage ? theme.statusKey : theme.statusBar, maxWidth: r.maxX - start)
}
