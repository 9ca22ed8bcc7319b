/// The stage a dynamic layer belongs to, from its tensor-name prefix — the rule the layer list
/// groups by:
///
/// - the path up to the first component that ends in a digit: `layer1.0.conv1` → `layer1`
///   (torchvision ResNet), `layer2.layers.0.conv1` → `layer2` (TArdelean's ResNets),
///   `stage3.block.conv` → `stage3`;
/// - a component that is a number closes the stage too: `features.3.conv.0.0` → `features.3`
///   (torchvision MobileNetV2, one inverted-residual block per stage), `layers.4.conv1` →
///   `layers.4`;
/// - a name with no such component, or that ends there (`conv1`, `features.0`), has no stage
///   (""): such layers are listed at the top level.
public func stageName(of layerName: String) -> String {
    let parts = layerName.split(separator: ".", omittingEmptySubsequences: false)
    for (i, part) in parts.enumerated() where part.last?.isNumber == true {
        // The stage must leave something of the name below it.
        guard i + 1 < parts.count else { return "" }
        return parts[...i].joined(separator: ".")
    }
    return ""
}

/// A layer path without its container components, for display: a `layers` component followed
/// by an index is dropped (TArdelean's modules keep their children in `.layers`), so
/// `layer2.layers.0.shortcut.layers.0` reads `layer2.0.shortcut.0` and
/// `features.layers.3.conv.layers.6` reads `features.3.conv.6`. Only the display changes; the
/// grouping and every lookup use the full name.
public func compactLayerPath(_ path: String) -> String {
    let parts = path.split(separator: ".", omittingEmptySubsequences: false)
    var kept: [Substring] = []
    for (i, part) in parts.enumerated() {
        let beforeIndex = i + 1 < parts.count && !parts[i + 1].isEmpty && parts[i + 1].allSatisfy(\.isNumber)
        if i > 0 && part == "layers" && beforeIndex { continue }   // never the first: `layers.4` stays
        kept.append(part)
    }
    return kept.isEmpty ? path : kept.joined(separator: ".")
}

/// One row of the layer list: a stage heading or a dynamic layer.
public enum LayerListRow: Equatable, Sendable {
    /// The heading of a stage: its name and its layers.
    case stage(String, Range<Int>)
    /// Dynamic layer `l`.
    case layer(Int)
}

/// The rows of the attention panel's layer list and which of them are on screen.
///
/// Small networks (at most `groupingThreshold` dynamic layers, one stage, or fewer than two
/// layers per stage on average) list their layers flat, one row each. Larger ones (ResNet-18's 20 dynamic convolutions, MobileNetV2's
/// 50) get a heading row per stage (`stageName(of:)`) with the layers under it named relative
/// to the stage (`0.conv1` under `layer1`), so names stay short and readable. The list scrolls
/// to keep the selected layer in view, centred; when the window starts inside a stage, its
/// first row shows that stage's heading instead (a sticky heading), so every visible layer
/// row has its stage on screen.
public struct LayerList: Equatable, Sendable {
    /// Above this many layers (and with more than one stage), the list is grouped by stage.
    public static let groupingThreshold = 8

    /// All rows, top to bottom.
    public let rows: [LayerListRow]
    /// Whether the list has stage headings.
    public let isGrouped: Bool
    /// The row of each layer.
    private let rowOfLayer: [Int]
    /// The stage prefix (compacted, with its dot) to drop from each layer's displayed name.
    private let prefixes: [String]

    /// The list of layers with these names, low layers first.
    public init(names: [String]) {
        let stages = names.map(stageName(of:))
        // Headings pay off only when stages hold two layers or more on average (a name
        // scheme with a numbered component per layer would give one heading per layer).
        let stageCount = Set(stages).count
        let grouped = names.count > LayerList.groupingThreshold && stageCount > 1 && 2 * stageCount <= names.count
        var rows: [LayerListRow] = []
        var rowOfLayer: [Int] = []
        var l = 0
        while l < names.count {
            let stage = stages[l]
            var end = l + 1
            while end < names.count && stages[end] == stage { end += 1 }
            if grouped && !stage.isEmpty { rows.append(.stage(compactLayerPath(stage), l..<end)) }
            for i in l..<end { rowOfLayer.append(rows.count); rows.append(.layer(i)) }
            l = end
        }
        self.rows = rows
        self.rowOfLayer = rowOfLayer
        isGrouped = grouped
        prefixes = grouped ? stages.map { $0.isEmpty ? "" : compactLayerPath($0) + "." } : names.map { _ in "" }
    }

    /// Number of layers.
    public var layerCount: Int { rowOfLayer.count }

    /// The row of layer `l` (clamped to the layers).
    public func row(ofLayer l: Int) -> Int {
        guard !rowOfLayer.isEmpty else { return 0 }
        return rowOfLayer[min(max(l, 0), rowOfLayer.count - 1)]
    }

    /// The name a layer row shows: relative to its stage when grouped, without container
    /// components (`compactLayerPath`).
    public func displayName(_ l: Int, _ name: String) -> String {
        let compact = compactLayerPath(name)
        guard l >= 0, l < prefixes.count, !prefixes[l].isEmpty, compact.hasPrefix(prefixes[l]) else { return compact }
        return String(compact.dropFirst(prefixes[l].count))
    }

    /// The first row of the window of `visible` rows that keeps layer `selected` in view
    /// (centred when the list scrolls).
    public func firstRow(visible: Int, selected: Int) -> Int {
        guard rows.count > visible, visible > 0 else { return 0 }
        let r = row(ofLayer: selected)
        var first = min(max(r - (visible - 1) / 2, 0), rows.count - visible)
        // A window starting on the last layer of a stage would show that stage's heading
        // (sticky) with nothing under it: start one row lower, or else one higher, when the
        // selection stays in view.
        if isGrouped, visible >= 3, case .layer = rows[first], first + 1 < rows.count, case .stage = rows[first + 1] {
            if first + 1 <= rows.count - visible && r >= first + 1 {
                first += 1
            } else if first > 0 && r < first - 1 + visible {
                first -= 1
            }
        }
        return first
    }

    /// What each of the `visible` screen rows shows when layer `selected` is selected: the
    /// window from `firstRow`, its first row replaced by the stage heading when the window
    /// starts inside a stage, and without a heading on its last row (it would head nothing).
    public func window(visible: Int, selected: Int) -> [LayerListRow] {
        let first = firstRow(visible: visible, selected: selected)
        let end = min(first + max(visible, 0), rows.count)
        var out = Array(rows[first..<end])
        if isGrouped, visible >= 3, let top = out.first, case .layer(let l) = top {
            // The heading of the stage this layer belongs to, if it has one.
            for r in stride(from: row(ofLayer: l), through: 0, by: -1) {
                if case .stage(let name, let range) = rows[r], range.contains(l) { out[0] = .stage(name, range); break }
                if case .layer(let other) = rows[r], !stageRange(of: l, contains: other) { break }
            }
        }
        // A heading on the last row would have nothing under it.
        if isGrouped, out.count >= 3, let last = out.last, case .stage = last { out.removeLast() }
        return out
    }

    /// Whether layers `l` and `other` share a stage heading (consecutive rows of one stage).
    private func stageRange(of l: Int, contains other: Int) -> Bool {
        guard l >= 0, other >= 0, l < prefixes.count, other < prefixes.count else { return false }
        return prefixes[l] == prefixes[other] && !prefixes[l].isEmpty
    }

    /// The layers shown in a window (for the scroll indicator): first and last layer index.
    public func shownLayers(visible: Int, selected: Int) -> ClosedRange<Int>? {
        let ls = window(visible: visible, selected: selected).compactMap { row -> Int? in
            if case .layer(let l) = row { return l } else { return nil }
        }
        guard let a = ls.min(), let b = ls.max() else { return nil }
        return a...b
    }
}
