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
public func render(_ state: ViewState, into grid: inout CellGrid) {
    grid.reset(width: state.width, height: state.height)
    let ctx = RenderContext(state)
    // Drawn in Unicode, then (last) reduced to the charset the terminal shows.
    defer { if state.charset == .ascii { grid.transliterateToASCII() } }
    guard ctx.layout.fits else {
        renderTooSmall(ctx, into: &grid)
        return
    }
    renderHeader(ctx, into: &grid)
    renderImagePanel(ctx, into: &grid)
    renderPredictionPanel(ctx, into: &grid)
    renderDetailPanel(ctx, into: &grid)
    for y in ctx.layout.left.y..<ctx.layout.left.maxY {
        grid.put(ctx.layout.separatorX, y, "│", ctx.theme.edge)
    }
    if state.showDataset {
        renderDatasetView(ctx, into: &grid)
    } else {
        renderAttentionPanel(ctx, into: &grid)
        renderSimplexPanel(ctx, into: &grid)
    }
    renderStatusLine(ctx, into: &grid)
    if state.showHelp { renderHelpOverlay(ctx, into: &grid) }
}

/// Draws the whole screen for a state into a new grid.
public func render(_ state: ViewState) -> CellGrid {
    var grid = CellGrid(width: state.width, height: state.height)
    render(state, into: &grid)
    return grid
}
