import DyConvEngine

/// Mouse events (SGR reports decoded by the presenter, `SGRMouse`), hit-tested against the
/// `Layout` the renderer draws with, so a click lands where the label is drawn:
/// - any press closes the help (and does nothing else);
/// - left click: the header's "[i/n Tab]" switches checkpoint, the training heading's "< >"
///   steps epochs (left half back, right half forward), the status line's "? help" opens the
///   help, an attention row selects its layer;
/// - wheel: over the left column (image, prediction, detail) steps images −1/+1 (wrapping,
///   as ← →); over the layer rows it moves the selection up/down (stopping at the ends, as a
///   scroll does).
func handleMouse(_ state: inout ViewState, _ m: MouseEvent) -> [Effect] {
    let x = m.x, y = m.y
    if state.showHelp { state.showHelp = false; return [] }
    let layout = Layout(state)
    guard layout.fits else { return [] }
    switch m.button {
    case .left:
        state.message = nil
        if layout.checkpointTab?.contains(x: x, y: y) == true { return switchCheckpoint(&state, by: 1) }
        if let arrows = layout.epochArrows, arrows.contains(x: x, y: y) {
            return stepEpoch(&state, by: x < arrows.x + arrows.width / 2 ? -1 : 1)
        }
        if layout.helpLabel?.contains(x: x, y: y) == true {
            state.gotoInput = nil
            state.showHelp = true
            return []
        }
        guard !state.showDataset,
              let l = layout.layer(atX: x, y: y, layerCount: state.layerCount, selected: state.selectedLayer)
        else { return [] }
        selectLayer(&state, l)
        return []
    case .wheelUp, .wheelDown:
        let delta = m.button == .wheelUp ? -1 : 1
        if layout.left.contains(x: x, y: y) { return step(&state, by: delta) }
        if !state.showDataset, layout.attention.contains(x: x, y: y) {
            selectLayer(&state, state.selectedLayer + delta)
        }
        return []
    case .middle, .right:
        return []
    }
}
