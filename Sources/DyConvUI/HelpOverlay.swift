/// The key table: what `?` shows, and what the README lists.
public let keyTable: [(keys: String, action: String)] = [
    ("← → / h l / n p", "previous / next image"),
    ("PgUp PgDn", "10 images back / forward"),
    ("↑ ↓ / k j", "select dynamic layer (or click its row)"),
    ("+ - / ] [", "τ × 1.25 / ÷ 1.25 for every dynamic layer"),
    ("} {", "τ × 1.25 / ÷ 1.25 for the selected layer only"),
    ("0", "back to the trained τ (every layer)"),
    ("m", "aggregation mode: attention, average, max, shuffle-image, -across"),
    ("s", "simplex: selected layer / every layer side by side"),
    ("r R / e E", "turn / tilt the K = 4 tetrahedron"),
    ("c", "next image of the same class"),
    ("x", "next misclassified image"),
    ("g G", "first / last image"),
    ("/", "go to image index (digits, Enter; Esc cancels)"),
    ("d", "dataset view: accuracy, entropy per layer, τ sweep"),
    ("< >", "previous / next training epoch (snapshots)"),
    ("Tab", "next checkpoint (Shift-Tab: previous)"),
    ("? / F1", "this help (any other key but q closes it)"),
    ("q / F10 / Ctrl-C", "quit"),
]

/// The key table in a box over the middle of the screen.
func renderHelpOverlay(_ ctx: RenderContext, into grid: inout CellGrid) {
    let theme = ctx.theme
    let keyWidth = keyTable.map { $0.keys.unicodeScalars.count }.max() ?? 10
    let actionWidth = keyTable.map { $0.action.unicodeScalars.count }.max() ?? 40
    let innerWidth = min(keyWidth + 3 + actionWidth, grid.width - 6)
    let boxWidth = innerWidth + 4
    let boxHeight = min(keyTable.count + 5, grid.height - 2)
    let box = Rect(x: (grid.width - boxWidth) / 2, y: (grid.height - boxHeight) / 2, width: boxWidth, height: boxHeight)
    grid.fill(box, " ", theme.overlay)
    grid.box(box, style: theme.overlay, title: "dyconv-tui keys", titleStyle: theme.overlayKey)
    var y = box.y + 2
    for entry in keyTable {
        guard y < box.maxY - 2 else { break }
        grid.text(box.x + 2, y, Format.pad(entry.keys, keyWidth), theme.overlayKey)
        grid.text(box.x + 2 + keyWidth + 3, y, Format.clip(entry.action, innerWidth - keyWidth - 3), theme.overlay)
        y += 1
    }
    if box.maxY - 2 > box.y + 1 {
        grid.textCentered(box, box.maxY - 2, "π: attention of the K kernels (r: CondConv routing) · H/lnK: normalized entropy",
                          theme.overlay.with(.dim))
    }
}

/// The message shown instead of the layout when the terminal is too small.
func renderTooSmall(_ ctx: RenderContext, into grid: inout CellGrid) {
    let theme = ctx.theme
    let lines: [(String, Style)] = [
        ("Terminal too small", theme.title),
        ("\(grid.width) × \(grid.height) — dyconv-tui needs at least \(Layout.minimumWidth) × \(Layout.minimumHeight)", theme.plain),
        ("enlarge the window, or press q to quit", theme.dim),
    ]
    let top = max((grid.height - lines.count) / 2, 0)
    for (i, line) in lines.enumerated() where top + i < grid.height {
        let s = Format.clip(line.0, grid.width)
        grid.textCentered(grid.bounds, top + i, s, line.1)
    }
}
