/// Density ramp for images without grey levels (monochrome and 8-colour terminals).
let densityRamp: [Unicode.Scalar] = [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"]

/// The image panel: title with index and true label, then the image scaled to the size the
/// layout gives it (`Layout.imagePixelWidth/Height`: area averaging when shrinking, nearest
/// when growing), two pixel rows per text row — half blocks `▀` with the top pixel as
/// foreground and the bottom pixel as background, in each pixel's RGB on a direct-colour
/// terminal, in the nearest 256-colour cube or grey-ramp entry on a 256-colour one — or a
/// character density ramp of the luminance otherwise (8 colours, monochrome, ASCII).
func renderImagePanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.image, s = ctx.state, theme = ctx.theme
    guard !r.isEmpty else { return }
    let title = "Image #\(s.imageIndex)"
    let right = "of \(s.dataset.count)"
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), title, style: theme.title, rule: theme.edge,
                 right: right, rightStyle: theme.dim)
    let area = Rect(x: r.x, y: r.y + 1, width: r.width, height: r.height - 1)
    guard let source = s.current?.imageIndex == s.imageIndex ? s.current?.image : nil,
          source.width > 0, source.height > 0, ctx.layout.imagePixelWidth > 0, ctx.layout.imagePixelHeight > 0 else {
        grid.textCentered(area, area.y + area.height / 2, "loading…", theme.dim)
        return
    }
    let image = source.resampled(width: ctx.layout.imagePixelWidth, height: ctx.layout.imagePixelHeight)
    drawImage(image, in: area, colors: s.charset == .unicode ? theme.imageColors : .density, plain: theme.plain, into: &grid)
}

/// Draws an image (already at its screen size in pixels) centred at the top of `area`, two
/// pixel rows per text row, clipped to the area.
func drawImage(_ image: PixelImage, in area: Rect, colors: ImageColors, plain: Style, into grid: inout CellGrid) {
    let cols = min(image.width, area.width)
    let rows = min((image.height + 1) / 2, area.height)
    let x0 = area.x + (area.width - cols) / 2
    func color(_ x: Int, _ y: Int) -> Color {
        switch colors {
        case .direct:
            let (r, g, b) = image.rgb(x, y)
            return .rgb(r, g, b)
        case .palette256:
            if !image.isColor { return .gray(image.pixel(x, y)) }
            let (r, g, b) = image.rgb(x, y)
            return Color.nearest256(r, g, b)
        case .density:
            return .default
        }
    }
    for row in 0..<rows {
        let yTop = 2 * row, yBottom = 2 * row + 1
        let hasBottom = yBottom < image.height
        for col in 0..<cols {
            if colors == .density {
                let top = Int(image.luminance(col, yTop))
                let v = hasBottom ? (top + Int(image.luminance(col, yBottom))) / 2 : top
                let glyph = densityRamp[min(v * densityRamp.count / 256, densityRamp.count - 1)]
                grid.put(x0 + col, area.y + row, glyph, plain)
            } else {
                // An odd last pixel row leaves the lower half in the terminal's background.
                grid.put(x0 + col, area.y + row, "▀",
                         Style(foreground: color(col, yTop), background: hasBottom ? color(col, yBottom) : .default))
            }
        }
    }
}
