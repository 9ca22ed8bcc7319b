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
    /// Attention rows that fit (each dynamic layer is one row).
    public let attentionVisibleRows: Int

    /// Rows of the attention panel above the first layer row (title and column header).
    public static let attentionHeaderRows = 2

    /// The layout of a `width × height` terminal for a network with `layerCount` dynamic
    /// layers and images of `imageWidth × imageHeight` pixels.
    public init(width: Int, height: Int, layerCount: Int, imageWidth: Int = 28, imageHeight: Int = 28) {
        self.width = width; self.height = height
        fits = width >= Layout.minimumWidth && height >= Layout.minimumHeight
        header = Rect(x: 0, y: 0, width: width, height: 1)
        status = Rect(x: 0, y: height - 1, width: width, height: 1)
        let main = Rect(x: 0, y: 1, width: width, height: height - 2)

        let leftWidth = max(30, min(imageWidth, 40) + 2)
        (left, _) = main.splitLeft(leftWidth)
        separatorX = leftWidth
        right = Rect(x: leftWidth + 2, y: main.y, width: width - leftWidth - 3, height: main.height)

        let imageRows = min((imageHeight + 1) / 2, 20)
        var rest = left
        (image, rest) = rest.splitTop(1 + imageRows)
        (_, rest) = rest.splitTop(1)
        (prediction, rest) = rest.splitTop(5)
        (_, rest) = rest.splitTop(1)
        detail = rest.height >= 4 ? rest : Rect(x: rest.x, y: rest.y, width: 0, height: 0)

        let simplexMinimum = 10
        let maxRows = max(main.height - Layout.attentionHeaderRows - 1 - simplexMinimum, 3)
        attentionVisibleRows = layerCount == 0 ? 1 : min(layerCount, maxRows)
        var r = right
        (attention, r) = r.splitTop(Layout.attentionHeaderRows + attentionVisibleRows)
        (_, r) = r.splitTop(1)
        simplex = r
    }

    /// The layout for a state (its size, network and image).
    public init(_ state: ViewState) {
        let img = state.current?.image
        self.init(width: state.width, height: state.height, layerCount: state.layerCount,
                  imageWidth: img?.width ?? 28, imageHeight: img?.height ?? 28)
    }

    /// The first layer shown in the attention panel so that `selected` stays visible
    /// (the selection is kept centred when the list scrolls).
    public func firstVisibleLayer(layerCount: Int, selected: Int) -> Int {
        guard layerCount > attentionVisibleRows else { return 0 }
        return min(max(selected - (attentionVisibleRows - 1) / 2, 0), layerCount - attentionVisibleRows)
    }

    /// The screen row of layer `l`, or nil if it is scrolled out of view.
    public func row(ofLayer l: Int, layerCount: Int, selected: Int) -> Int? {
        let first = firstVisibleLayer(layerCount: layerCount, selected: selected)
        guard l >= first, l < min(first + attentionVisibleRows, layerCount) else { return nil }
        return attention.y + Layout.attentionHeaderRows + (l - first)
    }

    /// The dynamic layer whose attention row contains the cell (x, y), if any.
    public func layer(atX x: Int, y: Int, layerCount: Int, selected: Int) -> Int? {
        guard attention.contains(x: x, y: y) else { return nil }
        let first = firstVisibleLayer(layerCount: layerCount, selected: selected)
        let i = y - attention.y - Layout.attentionHeaderRows
        guard i >= 0, i < attentionVisibleRows, first + i < layerCount else { return nil }
        return first + i
    }
}
