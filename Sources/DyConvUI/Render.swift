/// Everything a panel needs to draw: the state, its theme and the layout.
struct RenderContext {
    let state: ViewState
    let theme: Theme
    let layout: Layout
    /// The forward result of the current image, if it is up to date.
    let result: ForwardResult?

    init(_ state: ViewState) {
        self.state = state
        theme = Theme(state.colorMode)
        layout = Layout(state)
        result = state.currentResult
    }
}

/// Draws the whole screen for a state into `grid` (resized to the state's terminal size).
///
/// Pure: the same state always gives the same grid. The grid's storage is reused between
/// frames, so a redraw allocates only the few strings of labels and numbers.
///
/// Each panel is drawn inside a clip of its layout rectangle (`CellGrid.withClip`): text a
/// renderer writes across its border is dropped, never drawn over a neighbour, and counted
/// in `grid.clippedWrites` for the layout tests.
public func render(_ state: ViewState, into grid: inout CellGrid) {
    grid.reset(width: state.width, height: state.height)
    let ctx = RenderContext(state)
    let layout = ctx.layout
    // Drawn in Unicode, then (last) reduced to the charset the terminal shows.
    defer { if state.charset == .ascii { grid.transliterateToASCII() } }
    guard layout.fits else {
        renderTooSmall(ctx, into: &grid)
        return
    }
    grid.withClip(layout.header, "header") { renderHeader(ctx, into: &$0) }
    grid.withClip(layout.image, "image") { renderImagePanel(ctx, into: &$0) }
    grid.withClip(layout.prediction, "prediction") { renderPredictionPanel(ctx, into: &$0) }
    grid.withClip(layout.detail, "detail") { renderDetailPanel(ctx, into: &$0) }
    let separator = Rect(x: layout.separatorX, y: layout.left.y, width: 1, height: layout.left.height)
    grid.withClip(separator, "separator") { g in
        for y in separator.y..<separator.maxY { g.put(separator.x, y, "│", ctx.theme.edge) }
    }
    if state.showDataset {
        grid.withClip(layout.right, "dataset") { renderDatasetView(ctx, into: &$0) }
    } else {
        grid.withClip(layout.attention, "attention") { renderAttentionPanel(ctx, into: &$0) }
        grid.withClip(layout.simplex, "simplex") { renderSimplexPanel(ctx, into: &$0) }
    }
    grid.withClip(layout.status, "status") { renderStatusLine(ctx, into: &$0) }
    if state.showHelp {
        grid.withClip(helpBox(width: grid.width, height: grid.height), "help") { renderHelpOverlay(ctx, into: &$0) }
    }
}

/// Draws the whole screen for a state into a new grid.
public func render(_ state: ViewState) -> CellGrid {
    var grid = CellGrid(width: state.width, height: state.height)
    render(state, into: &grid)
    return grid
}
