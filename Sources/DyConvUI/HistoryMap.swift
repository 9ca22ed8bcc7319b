/// The geometry of the training history's picture, apart from drawing it: which epochs go to
/// which columns (`HistoryColumns`) and which layers to which rows (`HistoryRows`), so the
/// rules "every epoch visible" and "low layers on top" are testable without a screen.
///
/// Columns: one epoch per column (1–3 cells wide when there is room); when the epochs do not
/// fit, two epochs per cell with half blocks (`▌`, foreground = the even epoch, background =
/// the odd one) where colours can carry them, else a window of whole columns around the
/// selected epoch with `‹` `›` at the cut ends. Epochs are never sampled away.
struct HistoryColumns: Equatable {
    /// Number of epochs in the history.
    let epochCount: Int
    /// Index (into the history) of the first epoch shown.
    let first: Int
    /// Number of epochs shown (all unless `isWindow`).
    let shown: Int
    /// Epochs per cell: 1, or 2 for half-cell columns.
    let perCell: Int
    /// Cells per epoch when `perCell == 1` (wider columns in a wide panel).
    let cellWidth: Int
    /// Whether only a window of the epochs is shown (then one cell is kept at each end for
    /// the `‹` `›` marks, before `offset`).
    let isWindow: Bool

    /// The columns for `count` epochs in `width` cells, with `focus` (a history index) kept
    /// inside the window when one is needed; `halfCells` when half-block cells can carry two
    /// colours (a colour-scale mode and Unicode glyphs); at most `maxCellWidth` cells per epoch.
    init(count: Int, width: Int, halfCells: Bool, focus: Int, maxCellWidth: Int = 3) {
        epochCount = max(count, 0)
        let w = max(width, 0)
        if epochCount <= w {
            first = 0; shown = epochCount; perCell = 1; isWindow = false
            cellWidth = epochCount == 0 ? 1 : max(1, min(maxCellWidth, w / epochCount))
        } else if halfCells && epochCount <= 2 * w {
            first = 0; shown = epochCount; perCell = 2; cellWidth = 1; isWindow = false
        } else if w < 3 {
            // No room for a window and its two marks: nothing.
            first = 0; shown = 0; perCell = 1; cellWidth = 1; isWindow = false
        } else {
            perCell = halfCells ? 2 : 1; cellWidth = 1; isWindow = true
            let n = min(max(w - 2, 0) * perCell, epochCount)
            shown = n
            let f = min(max(focus, 0), max(epochCount - 1, 0))
            first = min(max(f - n / 2, 0), epochCount - n)
        }
    }

    /// Cells before the first epoch's column (the `‹` mark of a window).
    var offset: Int { isWindow ? 1 : 0 }
    /// Cells the epochs take (without the window marks).
    var epochCells: Int { perCell == 2 ? (shown + 1) / 2 : shown * cellWidth }
    /// Cells the whole strip takes, window marks included.
    var totalCells: Int { epochCells + (isWindow ? 2 : 0) }
    /// Whether epochs before / after the window are hidden.
    var hidesBefore: Bool { isWindow && first > 0 }
    var hidesAfter: Bool { isWindow && first + shown < epochCount }

    /// Where history epoch `i` is drawn: its first cell (from the strip's left edge) and, in
    /// half-cell columns, which half (0 left, 1 right; nil for whole cells). nil when `i` is
    /// outside the window.
    func place(of i: Int) -> (cell: Int, half: Int?)? {
        guard i >= first, i < first + shown else { return nil }
        let j = i - first
        return perCell == 2 ? (offset + j / 2, j % 2) : (offset + j * cellWidth, nil)
    }

    /// The history epochs shown in strip cell `c` (one or two; empty for the marks).
    func epochs(inCell c: Int) -> [Int] {
        let j = c - offset
        guard j >= 0, j < epochCells else { return [] }
        if perCell == 2 { return [2 * j, 2 * j + 1].filter { $0 < shown }.map { first + $0 } }
        return [first + j / cellWidth]
    }
}

/// The rows of the heat map: one per dynamic layer, low layers on top, when they fit; else
/// one per stage (the mean of its layers) when the stages fit; else an evenly spaced subset
/// that always keeps the lowest and the top layer (the two ends of the paper's claim).
struct HistoryRows: Equatable {
    enum Grouping: Equatable { case layers, stages, sampled }
    struct Row: Equatable {
        /// Short label: "L3", or the stage's name.
        var label: String
        /// Layer indices averaged in this row.
        var layers: [Int]
    }
    let rows: [Row]
    let grouping: Grouping

    init(layerNames: [String], maxRows: Int) {
        let n = layerNames.count, limit = max(maxRows, 0)
        func single(_ l: Int) -> Row { Row(label: "L\(l + 1)", layers: [l]) }
        if n <= limit {
            rows = (0..<n).map(single); grouping = .layers
            return
        }
        // Stages in order of first appearance, as the layer list groups them.
        var stages: [(name: String, layers: [Int])] = []
        for (l, name) in layerNames.enumerated() {
            let s = stageName(of: name)
            if let last = stages.last, last.name == s, !s.isEmpty { stages[stages.count - 1].layers.append(l) } else {
                stages.append((s, [l]))
            }
        }
        if stages.count < n, stages.count <= limit, stages.count >= 2, !stages.contains(where: { $0.name.isEmpty }) {
            rows = stages.map { Row(label: $0.name, layers: $0.layers) }; grouping = .stages
            return
        }
        guard limit >= 2 else {
            rows = limit == 1 ? [single(n - 1)] : []; grouping = .sampled
            return
        }
        // limit evenly spaced layers from 0 to n − 1.
        var picked: [Int] = []
        for i in 0..<limit {
            let l = Int((Double(i) * Double(n - 1) / Double(limit - 1)).rounded())
            if picked.last != l { picked.append(l) }
        }
        rows = picked.map(single); grouping = .sampled
    }

    /// Mean H/lnK of `row` in epoch summary `e` over the row's layers that have a finite
    /// value; nil when none has.
    static func entropy(_ row: Row, _ e: EpochSummary, names: [String]) -> Double? {
        guard let map = e.layerEntropy else { return nil }
        var sum = 0.0, count = 0
        for l in row.layers where l < names.count {
            if let v = map[names[l]], v.isFinite { sum += Double(v); count += 1 }
        }
        return count > 0 ? sum / Double(count) : nil
    }
}
