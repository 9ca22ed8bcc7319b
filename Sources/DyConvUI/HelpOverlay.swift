/// The key table: what `?` shows, and what the README lists. Every action fits in the
/// 55 columns the box has at 80×24, so nothing is cut there.
public let keyTable: [(keys: String, action: String)] = [
    ("← → / h l / n p", "previous / next image (wraps around the set)"),
    ("PgUp PgDn", "10 images back / forward"),
    ("↑ ↓ / k j", "select dynamic layer (wraps; or click its row)"),
    ("+ - / ] [", "τ × 1.25 / ÷ 1.25 for every dynamic layer"),
    ("} {", "τ × 1.25 / ÷ 1.25 for the selected layer only"),
    ("0", "back to the trained τ (every layer)"),
    ("m", "mode: attention, average, max, shuffle-image/-across"),
    ("s", "simplex: selected layer / every layer side by side"),
    ("r R / e E", "turn / tilt the K = 4 tetrahedron"),
    ("c", "next image of the same class"),
    ("x", "next misclassified image"),
    ("g G", "first / last image"),
    ("/", "go to image index (digits, Enter; Esc cancels)"),
    ("d", "dataset view: accuracy, entropy per layer, τ sweep"),
    ("< >", "previous / next training epoch (stops at the ends)"),
    ("Tab", "next checkpoint (Shift-Tab: previous)"),
    ("mouse", "click: layer row, Tab label, < >, ? · wheel: images"),
    ("? / F1", "this help (any other key but q closes it)"),
    ("q / F10 / Ctrl-C", "quit"),
]

/// The note under the key table.
let helpFootnote = "π: kernel attention (r: CondConv routing) · H/lnK: normalized entropy"

/// Where the help box goes on a `width × height` screen: centred, as wide as the table (at
/// most the screen less 2 columns each side), one row per key plus the border and the
/// footnote, with a blank row above and below the table when there is room.
func helpBox(width: Int, height: Int) -> Rect {
    let keyWidth = keyTable.map { $0.keys.unicodeScalars.count }.max() ?? 10
    let actionWidth = keyTable.map { $0.action.unicodeScalars.count }.max() ?? 40
    let boxWidth = min(keyWidth + 3 + actionWidth, width - 6) + 4
    let compact = keyTable.count + 3, roomy = keyTable.count + 5
    let boxHeight = min(roomy <= height - 2 ? roomy : compact, height - 2)
    return Rect(x: (width - boxWidth) / 2, y: (height - boxHeight) / 2, width: boxWidth, height: boxHeight)
}

/// The key table in a box over the middle of the screen (`helpBox`).
func renderHelpOverlay(_ ctx: RenderContext, into grid: inout CellGrid) {
    let theme = ctx.theme
    let keyWidth = keyTable.map { $0.keys.unicodeScalars.count }.max() ?? 10
    let box = helpBox(width: grid.width, height: grid.height)
    let inner = box.inset(dx: 2, dy: 1)
    let roomy = box.height >= keyTable.count + 5
    grid.fill(box, " ", theme.overlay)
    grid.box(box, style: theme.overlay, title: "dyconv-tui keys", titleStyle: theme.overlayKey)
    var y = box.y + (roomy ? 2 : 1)
    let footY = box.maxY - 2
    for entry in keyTable {
        guard y < footY else { break }
        grid.text(inner.x, y, Format.pad(entry.keys, keyWidth), theme.overlayKey)
        let actionX = inner.x + keyWidth + 3
        grid.text(actionX, y, Format.clip(entry.action, inner.maxX - actionX), theme.overlay)
        y += 1
    }
    if footY > box.y + 1 {
        grid.textCentered(inner, footY, Format.clip(helpFootnote, inner.width), theme.overlay.with(.dim))
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
