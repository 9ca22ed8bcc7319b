/// Where each panel goes for a terminal size: shared by the renderer and by `update`
/// (to map a mouse click to a layer row), so the two always agree.
///
/// ```
/// row 0      header: program, checkpoint, image
/// left       image (half blocks) · prediction · layer detail + training history
/// right      attention rows (one per dynamic layer) · simplex view   | or the dataset view
/// last row   status line
/// ```
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
    /// Layer detail and training history (empty when there is no room).
    public let detail: Rect
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

    /// Rows of the attention panel above the first layer row (title and column header).
    public static let attentionHeaderRows = 2
    /// Rows the layer detail and training history want below the prediction; the image is
    /// made smaller to leave them when the left column is tall enough.
    static let detailRowsWanted = 16

    /// The number of classes listed with their probabilities: three for ten classes or fewer
    /// (Fashion-MNIST, CIFAR-10: the three bars tell the story), five for more (CIFAR-100,
    /// ImageNet).
    public static func topK(classCount: Int) -> Int { classCount > 10 ? 5 : 3 }

    /// The layout of a `width × height` terminal for a network with `layerCount` dynamic
    /// layers (named `layerNames`, when given: then a long list is grouped by stage), images
    /// of `imageWidth × imageHeight` pixels, and `topK` classes under the prediction.
    ///
    /// The image is scaled to fit its panel, aspect kept (`PixelImage.fittedSize`): at most a
    /// quarter of the terminal's width (28–64 columns), and as many rows as leave the
    /// prediction and, when there is room, the layer detail their rows (at most 32).
    public init(width: Int, height: Int, layerCount: Int, imageWidth: Int = 28, imageHeight: Int = 28,
                layerNames: [String]? = nil, topK: Int = 3) {
        self.width = width; self.height = height
        self.topK = max(topK, 0)
        fits = width >= Layout.minimumWidth && height >= Layout.minimumHeight
        header = Rect(x: 0, y: 0, width: width, height: 1)
        status = Rect(x: 0, y: height - 1, width: width, height: 1)
        let main = Rect(x: 0, y: 1, width: width, height: height - 2)

        // Image: title row, a gap, the prediction (true, pred, top-K) below it.
        let predictionRows = 2 + self.topK
        let available = main.height - 2 - predictionRows
        let withDetail = available - Layout.detailRowsWanted - 1
        let maxImageRows = min(max(withDetail >= 10 ? withDetail : available, 1), 32)
        let maxImageCols = max(28, min(width / 4, 64))
        let fitted = PixelImage.fittedSize(width: imageWidth, height: imageHeight,
                                           boxWidth: maxImageCols, boxHeight: 2 * maxImageRows)
        imagePixelWidth = fitted.width; imagePixelHeight = fitted.height

        let leftWidth = max(30, fitted.width + 2)
        (left, _) = main.splitLeft(leftWidth)
        separatorX = leftWidth
        right = Rect(x: leftWidth + 2, y: main.y, width: width - leftWidth - 3, height: main.height)

        let imageRows = (fitted.height + 1) / 2
        var rest = left
        (image, rest) = rest.splitTop(1 + imageRows)
        (_, rest) = rest.splitTop(1)
        (prediction, rest) = rest.splitTop(predictionRows)
        (_, rest) = rest.splitTop(1)
        detail = rest.height >= 4 ? rest : Rect(x: rest.x, y: rest.y, width: 0, height: 0)

        layerList = LayerList(names: layerNames ?? [])
        let listRows = layerNames == nil ? layerCount : layerList.rows.count
        let simplexMinimum = 10
        let maxRows = max(main.height - Layout.attentionHeaderRows - 1 - simplexMinimum, 3)
        attentionVisibleRows = listRows == 0 ? 1 : min(listRows, maxRows)
        var r = right
        (attention, r) = r.splitTop(Layout.attentionHeaderRows + attentionVisibleRows)
        (_, r) = r.splitTop(1)
        simplex = r
    }

    /// The layout for a state (its size, network, classes and image).
    public init(_ state: ViewState) {
        let img = state.current?.image
        let classCount = state.checkpoint.classes.isEmpty ? state.dataset.classNames.count : state.checkpoint.classes.count
        self.init(width: state.width, height: state.height, layerCount: state.layerCount,
                  imageWidth: img?.width ?? 28, imageHeight: img?.height ?? 28,
                  layerNames: state.checkpoint.layers.map(\.name), topK: Layout.topK(classCount: classCount))
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
