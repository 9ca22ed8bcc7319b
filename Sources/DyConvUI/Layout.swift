/// Where each panel goes for a terminal size: shared by the renderer and by `update`
/// (to map a mouse click to a layer row, the checkpoint tab, the epoch arrows or the help
/// label), so the two always agree.
///
/// ```
/// row 0      header: program, checkpoint ([1/3 Tab]), image set
/// left       image (half blocks) · prediction · layer detail (z/π/applied) · training history
/// right      attention rows (2 header rows, one per dynamic layer, a footer row) · simplex
///            | or the dataset view
/// last row   status line (… ? help)
/// ```
///
/// How the space is shared, so that panels scale from 80×24 to 200×60:
/// - Width: the image may take up to 30 % of the terminal (28–64 columns; a 28-pixel image
///   grows only by whole factors, so it doubles to 56 columns from about 190 columns on). The
///   left column is at least 30 columns, 37 from 100 columns on (the training summary
///   "30 epochs · final τ 1.00 · test 94.8%" is 37); the right area takes the rest.
/// - Left column, top to bottom, in order of priority: the image at `minimumImageRows` at
///   least, the prediction, the layer detail table (4 + K rows), the training history
///   (heading and summary at least, `historyRowsWanted` when there is room); the image then
///   grows into what is left (up to 32 rows), the table and the history keep their rows.
/// - Right area: the attention rows (all layers when they fit beside a simplex of 2/5 of the
///   height, at least `simplexMinimumRows`; else a scrolling window), then a blank row, then
///   the simplex takes the rest.
public struct Layout: Equatable, Sendable {
    /// Smallest terminal the layout works in.
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    public let width: Int
    public let height: Int
    /// Whether the terminal is large enough; when false only the too-small message is drawn.
    public let fits: Bool
    public let header: Rect
    public let status: Rect
    /// The left column: image, prediction, detail.
    public let left: Rect
    public let image: Rect
    public let prediction: Rect
    /// Layer detail and training history together (empty when there is no room).
    public let detail: Rect
    /// The selected layer's z/π/applied table (empty when there is no room: 80×24).
    public let layerTable: Rect
    /// The training history (empty when there is no room).
    public let history: Rect
    /// Column of the vertical rule between left and right.
    public let separatorX: Int
    /// The right area: attention + simplex, or the dataset view.
    public let right: Rect
    public let attention: Rect
    public let simplex: Rect
    /// Rows of the attention panel's layer list that fit (a layer or a stage heading each).
    public let attentionVisibleRows: Int
    /// The rows of the layer list (flat, or grouped by stage for many layers).
    public let layerList: LayerList
    /// The size in pixels the image is drawn at (`PixelImage.fittedSize` of the image in the
    /// panel): two pixel rows per text row.
    public let imagePixelWidth: Int
    public let imagePixelHeight: Int
    /// Classes listed with their probabilities under the prediction.
    public let topK: Int

    /// Click targets, found from the strings the header, the status line and the training
    /// history draw (set by `init(_ state:)`; nil when the label is not on screen).
    /// The "[i/n Tab]" label of the header (more than one checkpoint open).
    public private(set) var checkpointTab: Rect?
    /// The "< >" epoch arrows at the right end of the training history's heading (a
    /// checkpoint with snapshots): the left half steps back, the right half forward.
    public private(set) var epochArrows: Rect?
    /// The "? help" label of the status line's key hint.
    public private(set) var helpLabel: Rect?

    /// Rows of the attention panel above the first layer row (title and column header).
    public static let attentionHeaderRows = 2
    /// Rows of the attention panel below the last layer row (the depth profile's axis/legend).
    public static let attentionFooterRows = 1
    /// The simplex keeps at least these rows (and 2/5 of the height) below the attention rows.
    static let simplexMinimumRows = 10
    /// The image keeps at least these text rows (20 pixels) before the layer detail and the
    /// history get theirs.
    static let minimumImageRows = 9
    /// The text the training history draws at the right end of its heading; `epochArrows`.
    public static let epochArrowsLabel = "< >"

    /// The number of classes listed with their probabilities: three for ten classes or fewer
    /// (Fashion-MNIST, CIFAR-10: the three bars tell the story), five for more (CIFAR-100,
    /// ImageNet).
    public static func topK(classCount: Int) -> Int { classCount > 10 ? 5 : 3 }

    /// Rows the layer detail table needs: heading, routing line, column header, one row per
    /// kernel, Σ (2 rows for a static network: heading and "static network").
    /// In shuffle-across mode one more: the row naming the partner image whose π was applied.
    static func layerTableRows(kernels: Int, partnerRow: Bool = false) -> Int {
        kernels > 0 ? 4 + kernels + (partnerRow ? 1 : 0) : 2
    }

    /// Rows the training history wants: heading, summary, τ and accuracy sparklines and the
    /// marker row with per-epoch snapshots, else heading and summary (and a spare row).
    static func historyRowsWanted(hasEpochs: Bool) -> Int { hasEpochs ? 6 : 3 }

    /// The layout of a `width × height` terminal for a network with `layerCount` dynamic
    /// layers (named `layerNames`, when given: then a long list is grouped by stage) of at most
    /// `kernels` kernels, images of `imageWidth × imageHeight` pixels, `topK` classes under
    /// the prediction and a checkpoint with (`hasEpochs`) or without training snapshots.
    public init(width: Int, height: Int, layerCount: Int, imageWidth: Int = 28, imageHeight: Int = 28,
                layerNames: [String]? = nil, topK: Int = 3, kernels: Int = 4, hasEpochs: Bool = false,
                partnerRow: Bool = false) {
        self.width = width; self.height = height
        self.topK = max(topK, 0)
        fits = width >= Layout.minimumWidth && height >= Layout.minimumHeight
        header = Rect(x: 0, y: 0, width: width, height: 1)
        status = Rect(x: 0, y: height - 1, width: width, height: 1)
        let main = Rect(x: 0, y: 1, width: width, height: height - 2)

        // Left column, vertically: image title + image, gap, prediction (true, pred, top-K),
        // gap, then the layer table and the history (a gap between them).
        let predictionRows = 2 + self.topK
        let rest = main.height - 1 - 1 - predictionRows - 1
        let tableRows = Layout.layerTableRows(kernels: layerCount == 0 ? 0 : max(kernels, 1), partnerRow: partnerRow)
        let historyWanted = Layout.historyRowsWanted(hasEpochs: hasEpochs), historyMinimum = 2
        let imageMinimum = Layout.minimumImageRows
        // The first plan that leaves the image its minimum: everything; the history cut to
        // heading + summary; no table; the image alone.
        let plans = [(tableRows, historyWanted), (tableRows, historyMinimum), (0, historyMinimum)]
        var plan = (table: 0, history: 0)
        for (t, h) in plans where rest - (t > 0 ? t + 1 : 0) - h >= imageMinimum {
            plan = (t, h)
            break
        }
        let maxImageRows = min(max(rest - (plan.table > 0 ? plan.table + 1 : 0) - plan.history, 1), 32)
        let maxImageCols = max(28, min(width * 3 / 10, 64))
        let fitted = PixelImage.fittedSize(width: imageWidth, height: imageHeight,
                                           boxWidth: maxImageCols, boxHeight: 2 * maxImageRows)
        imagePixelWidth = fitted.width; imagePixelHeight = fitted.height

        let leftWidth = max(width >= 100 ? 37 : 30, fitted.width + 2)
        (left, _) = main.splitLeft(leftWidth)
        separatorX = leftWidth
        right = Rect(x: leftWidth + 2, y: main.y, width: width - leftWidth - 3, height: main.height)

        let imageRows = (fitted.height + 1) / 2
        var r = left
        (image, r) = r.splitTop(1 + imageRows)
        (_, r) = r.splitTop(1)
        (prediction, r) = r.splitTop(predictionRows)
        (_, r) = r.splitTop(1)
        let empty = Rect(x: r.x, y: r.y, width: 0, height: 0)
        detail = r.height >= historyMinimum ? r : empty
        // The table keeps its rows; the history takes the rest (at least heading + summary,
        // else the table gets it all).
        if plan.table > 0, detail.height >= plan.table + 1 + historyMinimum {
            var d = detail
            // The table keeps exactly its rows; the history gets every row left (a taller
            // layers × epochs map at large sizes).
            (layerTable, d) = d.splitTop(plan.table)
            (_, d) = d.splitTop(1)
            history = d
        } else if plan.table > 0, detail.height >= plan.table {
            layerTable = detail; history = empty
        } else {
            layerTable = empty; history = detail
        }

        // Right area: attention rows, a gap, the simplex.
        layerList = LayerList(names: layerNames ?? [])
        let listRows = layerNames == nil ? layerCount : layerList.rows.count
        let chrome = Layout.attentionHeaderRows + Layout.attentionFooterRows
        // A long (scrolling) list leaves the simplex at least 2/5 of the height (10 rows).
        let simplexRows = max(Layout.simplexMinimumRows, main.height * 2 / 5)
        let maxRows = max(main.height - chrome - 1 - simplexRows, 3)
        attentionVisibleRows = listRows == 0 ? 1 : min(listRows, maxRows)
        var a = right
        (attention, a) = a.splitTop(chrome + attentionVisibleRows)
        (_, a) = a.splitTop(1)
        simplex = a
    }

    /// The layout for a state (its size, network, classes and image), with the click targets
    /// of the header, the status line and the training history.
    public init(_ state: ViewState) {
        let img = state.current?.image
        let classCount = state.checkpoint.classes.isEmpty ? state.dataset.classNames.count : state.checkpoint.classes.count
        self.init(width: state.width, height: state.height, layerCount: state.layerCount,
                  imageWidth: img?.width ?? 28, imageHeight: img?.height ?? 28,
                  layerNames: state.checkpoint.layers.map(\.name), topK: Layout.topK(classCount: classCount),
                  kernels: state.checkpoint.layers.map(\.kernels).max() ?? 0,
                  hasEpochs: !state.checkpoint.epochs.isEmpty,
                  partnerRow: !state.checkpoint.isStatic && state.mode == .shuffleAcross)
        guard fits else { return }
        let head = HeaderText(state, width: width)
        if let tab = head.tabColumns { checkpointTab = Rect(x: tab.lowerBound, y: header.y, width: tab.count, height: 1) }
        let arrows = Layout.epochArrowsLabel.unicodeScalars.count
        if !state.checkpoint.epochs.isEmpty, !history.isEmpty, history.width >= 20 + arrows {
            epochArrows = Rect(x: history.maxX - arrows, y: history.y, width: arrows, height: 1)
        }
        if let help = StatusLineText(state, width: width).helpColumns {
            helpLabel = Rect(x: help.lowerBound, y: status.y, width: help.count, height: 1)
        }
    }

    /// Whether the layer list is grouped (then rows are found through `layerList`).
    private func grouped(_ layerCount: Int) -> Bool { layerList.isGrouped && layerList.layerCount == layerCount }

    /// What the attention panel's list rows show when layer `selected` is selected.
    public func visibleListRows(layerCount: Int, selected: Int) -> [LayerListRow] {
        if grouped(layerCount) { return layerList.window(visible: attentionVisibleRows, selected: selected) }
        let first = firstVisibleLayer(layerCount: layerCount, selected: selected)
        return (first..<min(first + attentionVisibleRows, layerCount)).map { .layer($0) }
    }

    /// The first layer shown in the attention panel so that `selected` stays visible
    /// (the selection is kept centred when the list scrolls).
    public func firstVisibleLayer(layerCount: Int, selected: Int) -> Int {
        if grouped(layerCount) {
            return layerList.shownLayers(visible: attentionVisibleRows, selected: selected)?.lowerBound ?? 0
        }
        guard layerCount > attentionVisibleRows else { return 0 }
        return min(max(selected - (attentionVisibleRows - 1) / 2, 0), layerCount - attentionVisibleRows)
    }

    /// The screen row of layer `l`, or nil if it is scrolled out of view.
    public func row(ofLayer l: Int, layerCount: Int, selected: Int) -> Int? {
        let rows = visibleListRows(layerCount: layerCount, selected: selected)
        guard let i = rows.firstIndex(of: .layer(l)) else { return nil }
        return attention.y + Layout.attentionHeaderRows + i
    }

    /// The dynamic layer whose attention row contains the cell (x, y), if any.
    public func layer(atX x: Int, y: Int, layerCount: Int, selected: Int) -> Int? {
        guard attention.contains(x: x, y: y) else { return nil }
        let rows = visibleListRows(layerCount: layerCount, selected: selected)
        let i = y - attention.y - Layout.attentionHeaderRows
        guard i >= 0, i < rows.count, case .layer(let l) = rows[i], l < layerCount else { return nil }
        return l
    }
}
