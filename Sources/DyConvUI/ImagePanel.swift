/// Density ramp for images without grey levels (monochrome and 8-colour terminals).
let densityRamp: [Unicode.Scalar] = [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"]

/// The image panel: title with index and true label, then the image, two pixel rows per
/// text row — half blocks `▀` with the top pixel as foreground and the bottom pixel as
/// background in 256 colours, or a character density ramp otherwise.
func renderImagePanel(_ ctx: RenderContext, into grid: inout CellGrid) {
    let r = ctx.layout.image, s = ctx.state, theme = ctx.theme
    guard !r.isEmpty else { return }
    let title = "Image #\(s.imageIndex)"
    let right = "of \(s.dataset.count)"
    grid.heading(Rect(x: r.x, y: r.y, width: r.width, height: 1), title, style: theme.title, rule: theme.edge,
                 right: right, rightStyle: theme.dim)
    let area = Rect(x: r.x, y: r.y + 1, width: r.width, height: r.height - 1)
    guard let image = s.current?.imageIndex == s.imageIndex ? s.current?.image : nil,
          image.width > 0, image.height > 0 else {
        grid.textCentered(area, area.y + area.height / 2, "loading…", theme.dim)
        return
    }
    // Fit the image: at most area.width columns and 2 * area.height pixel rows (nearest neighbour).
    let cols = min(image.width, area.width)
    let rows = min((image.height + 1) / 2, area.height)
    let x0 = area.x + (area.width - cols) / 2
    let pixelRows = min(image.height, rows * 2)
    // Half blocks need both 256 colours and Unicode; otherwise the density ramp.
    let halfBlocks = theme.grayscaleImages && s.charset == .unicode
    image.pixels.withUnsafeBufferPointer { px in
        for row in 0..<rows {
            let yTop = (2 * row) * image.height / max(pixelRows, 1)
            let yBottom = min((2 * row + 1) * image.height / max(pixelRows, 1), image.height - 1)
            let hasBottom = 2 * row + 1 < pixelRows
            for col in 0..<cols {
                let xs = col * image.width / cols
                let top = px[yTop * image.width + xs]
                let bottom = hasBottom ? px[yBottom * image.width + xs] : 0
                if halfBlocks {
                    grid.put(x0 + col, area.y + row, "▀",
                             Style(foreground: .gray(top), background: .gray(bottom)))
                } else {
                    let v = hasBottom ? (Int(top) + Int(bottom)) / 2 : Int(top)
                    let glyph = densityRamp[min(v * densityRamp.count / 256, densityRamp.count - 1)]
                    grid.put(x0 + col, area.y + row, glyph, theme.plain)
                }
            }
        }
    }
}
