import DyConvEngine

/// A mouse event: a left click on an attention row selects that layer; any click closes the
/// help.
func handleMouse(_ state: inout ViewState, _ m: MouseEvent) -> [Effect] {
    let x = m.x, y = m.y
    guard m.button == .left else { return [] }
    if state.showHelp { state.showHelp = false; return [] }
    let layout = Layout(state)
    guard layout.fits, !state.showDataset,
          let l = layout.layer(atX: x, y: y, layerCount: state.layerCount, selected: state.selectedLayer)
    else { return [] }
    selectLayer(&state, l)
    return []
}

