// The depth profile of the attention panel: per dynamic layer, the distribution of the
// normalized entropy H/lnK over the profiled images (`AttentionCloud.profiles`), drawn as a
// one-row histogram on ONE axis shared by every layer, so the paper's claim — flat attention
// (H/lnK ≈ 1) in the low layers, sparser attention higher up — reads as the mass sliding left
// from the top rows to the bottom ones.
//
// - The axis runs from the lowest 1 % quantile over ALL layers (not only those on screen),
//   rounded down to 0.05 and to its tick step, to 1.00: an axis of 0 … 1 would squeeze 0.85 against 1.00 into a
//   few cells. Tick labels in the column header give its range.
// - Each row is a histogram of that layer's points with one bin per cell, its heights in
//   eighths (`▁` … `█`) relative to the row's fullest bin; any non-empty bin is at least `▁`,
//   so the tails stay visible. Empty cells under a labelled tick show a dotted grid line.
// - The current image's H/lnK is a `●` on its row (`◂` at the left end when it lies left of
//   the axis).
//
// The geometry (`ProfileAxis`) is separate from the drawing so tests can ask where a value
// lands.

/// The shared horizontal axis of the depth profile: H/lnK from `lower` to 1 over `width` cells.
struct ProfileAxis: Equatable {
    /// Left end of the axis in hundredths (a multiple of `step`, 0…90): labels stay exact.
    let lowerHundredths: Int
    /// Hundredths between ticks.
    let step: Int
    /// Cells the axis spans.
    let width: Int

    /// Left end of the axis.
    var lower: Double { Double(lowerHundredths) / 100 }

    /// The quantile of each layer the axis starts at (the lowest over the layers).
    static let lowQuantile = 0.01
    /// Tick steps in hundredths, finest first.
    static let steps = [5, 10, 20, 25, 50]
    /// Fewest cells between ticks: a 4-character label, a space, and the 3 cells the end
    /// labels are shifted by to stay inside the axis.
    static let cellsPerStep = 8

    /// The axis over `width` cells for these profiles: from the lowest `lowQuantile` over all
    /// layers, rounded down to 0.05 (never below 0, at most 0.90, so the axis spans at least
    /// 0.10; 0.50 before any point), then down to a multiple of the finest tick step that
    /// leaves `cellsPerStep` cells between ticks (by at most 0.05; else only the ends are
    /// labelled) — ticks then fall on round values from end
    /// to end.
    init(profiles: [LayerProfile], width: Int) {
        var low = Double.infinity
        for p in profiles {
            if let q = p.quantile(ProfileAxis.lowQuantile), q.isFinite { low = min(low, Double(q)) }
        }
        guard low.isFinite else { self.init(lowerHundredths: 50, width: width); return }
        // Three fixed left ends, not the data's own: a τ or mode change then rarely rescales
        // the axis, so the rows visibly slide as the recompute replaces their points (the
        // axis is what the eye compares against). 0.50 keeps 0.85 vs 1.00 a third of the axis.
        let lower = low >= 0.5 ? 50 : low >= 0.25 ? 25 : 0
        self.init(lowerHundredths: lower, width: width)
    }

    /// The axis from `lowerHundredths` (rounded down to the tick step, by at most 0.05) to 1.
    init(lowerHundredths: Int, width: Int) {
        let lower = min(max(lowerHundredths, 0), 90)
        let cells = max(width, 0)
        self.width = cells
        // A coarser step must not stretch the axis much: that would squeeze the values again.
        let fits = ProfileAxis.steps.first { s in
            lower - lower / s * s <= 5 && s * cells >= ProfileAxis.cellsPerStep * (100 - lower / s * s)
        }
        step = fits ?? 100 - lower
        self.lowerHundredths = fits == nil ? lower : lower / step * step
    }

    /// The cell (0 ..< width) of value `v`: values left of the axis land in the first cell,
    /// 1 (and above) in the last; nil for NaN or an empty axis.
    func column(of v: Double) -> Int? {
        guard width > 0, v.isFinite else { return nil }
        // A hair above, so a tick value exactly on a cell edge (0.70 on a 0.60–1.00 axis of 44
        // cells: 10.9999…) lands in its cell, not the one before.
        let f = (v - lower) / (1 - lower) * Double(width) + 1e-9
        guard let c = plotCoordinate(f.rounded(.down)) else { return f > 0 ? width - 1 : 0 }
        return min(max(c, 0), width - 1)
    }

    /// The H/lnK at the left edge of cell `i` (cell `width` is the right end, 1).
    func edge(_ i: Int) -> Double { lower + (1 - lower) * Double(i) / Double(max(width, 1)) }

    /// Points of `profile` per cell: cell `i` counts H/lnK in [edge(i), edge(i+1)); the first
    /// cell also counts what lies left of the axis, the last what reaches 1 or beyond.
    func histogram(_ profile: LayerProfile) -> [Int] {
        guard width > 0 else { return [] }
        var out = [Int](repeating: 0, count: width)
        for i in 0..<width {
            let lo: Float = i == 0 ? -.infinity : Float(edge(i))
            let hi: Float = i == width - 1 ? .infinity : Float(edge(i + 1))
            out[i] = profile.count(from: lo, to: hi)
        }
        return out
    }

    /// The tick values in hundredths, with their cells: every `step` from the left end to 1
    /// (the ends alone when even the coarsest step does not keep the labels apart).
    func ticks() -> [(hundredths: Int, column: Int)] {
        guard width > 0 else { return [] }
        let fits = step * width >= ProfileAxis.cellsPerStep * (100 - lowerHundredths)
        let values = fits ? Array(stride(from: lowerHundredths, through: 100, by: step)) : [lowerHundredths, 100]
        return values.map { ($0, column(of: Double($0) / 100) ?? 0) }
    }

    /// A tick label: "0.85", "1.00".
    static func label(_ hundredths: Int) -> String {
        Format.fixed(Double(hundredths) / 100, 2)
    }

    /// The first cell of each tick label that fits (labels are 4 characters, kept inside
    /// the axis and a cell apart); the ends are placed first, so they always show.
    func labelPositions() -> [(hundredths: Int, start: Int)] {
        guard width >= 4 else { return [] }
        let ticks = ticks()
        var placed: [(hundredths: Int, start: Int)] = []
        func start(_ column: Int) -> Int { min(max(column - 1, 0), width - 4) }
        func free(_ s: Int) -> Bool { placed.allSatisfy { s + 4 + 1 <= $0.start || $0.start + 4 + 1 <= s } }
        // Ends first, then the inner ticks left to right.
        let order = ticks.filter { $0.hundredths == lowerHundredths || $0.hundredths == 100 }
            + ticks.filter { $0.hundredths != lowerHundredths && $0.hundredths != 100 }
        for t in order {
            let s = start(t.column)
            if placed.isEmpty || free(s) { placed.append((t.hundredths, s)) }
        }
        return placed.sorted { $0.start < $1.start }
    }
}

/// Draws the tick labels of `axis` at (x, y).
func drawProfileAxisLabels(_ grid: inout CellGrid, x: Int, y: Int, axis: ProfileAxis, style: Style) {
    for p in axis.labelPositions() {
        grid.text(x + p.start, y, ProfileAxis.label(p.hundredths), style, maxWidth: axis.width - p.start)
    }
}

/// The styles of one profile row.
struct ProfileRowStyles {
    var bar: Style
    var grid: Style
    var marker: Style
}

extension ProfileAxis {
    /// Whether each cell lies under a labelled tick (where empty cells show a grid dot).
    func gridColumns() -> [Bool] {
        var out = [Bool](repeating: false, count: width)
        for p in labelPositions() {
            if let c = column(of: Double(p.hundredths) / 100) { out[c] = true }
        }
        return out
    }
}

/// Draws one layer's profile row at (x, y): the histogram of `profile` (nil: nothing yet)
/// on `axis`, grid dots where `gridColumns` (`axis.gridColumns()`, computed once per frame)
/// and the bin is empty, and the current image's H/lnK `current` as a marker.
func drawProfileRow(_ grid: inout CellGrid, x: Int, y: Int, axis: ProfileAxis, gridColumns: [Bool], profile: LayerProfile?,
                    current: Float?, styles: ProfileRowStyles) {
    guard axis.width > 0 else { return }
    let counts = profile.map { axis.histogram($0) } ?? []
    let peak = counts.max() ?? 0
    for i in 0..<axis.width {
        let c = i < counts.count ? counts[i] : 0
        if c > 0, peak > 0 {
            // At least one eighth for any point: the tails must not vanish.
            let eighths = min(max((8 * c + peak - 1) / peak, 1), 8)
            grid.put(x + i, y, CellGrid.verticalEighths[eighths - 1], styles.bar)
        } else if i < gridColumns.count && gridColumns[i] {
            grid.put(x + i, y, "·", styles.grid)
        }
    }
    // The current image: its bin's bar drawn in the marker's style (reversed without colour),
    // so the marker never hides the bar it sits on (the flat layers' one tall bin at 1.00);
    // ● only on an empty bin, ◂ left of the axis.
    if let current, let c = axis.column(of: Double(current)) {
        let left = Double(current) < axis.lower
        if !left, c < counts.count, counts[c] > 0, peak > 0 {
            let eighths = min(max((8 * counts[c] + peak - 1) / peak, 1), 8)
            var style = styles.marker
            if style.foreground.isDefault { style = style.with(.reverse) }
            grid.put(x + c, y, CellGrid.verticalEighths[eighths - 1], style)
        } else {
            grid.put(x + c, y, left ? "◂" : "●", styles.marker)
        }
    }
}
