import DyConvFigures

/// One colour scale for every value in 0…1 drawn as a colour on screen: π in the heat rows,
/// H/lnK in the depth profile, the simplex points and the training history's layers × epochs
/// map. A sequential scale (viridis: dark violet → blue → green → yellow) that stays ordered in
/// grey-scale and for the common colour-vision deficiencies.
///
/// - truecolor: the scale's RGB, interpolated;
/// - 256 colours: the nearest palette entry of each of its stops;
/// - 8 colours, monochrome (and ASCII, after transliteration): a density ramp of glyphs
///   (`heatGlyph`), so the order is still visible without colour.
public enum HeatScale {
    /// The 256-colour entries nearest the stops of `Viridis` (DyConvFigures: the same scale as
    /// the report's figures).
    static let palette: [Color] = Viridis.stops.map { Color.nearest256($0.red, $0.green, $0.blue) }

    /// Density glyphs, low to high, for modes without colour scales.
    public static let glyphs: [Unicode.Scalar] = [" ", "░", "▒", "▓", "█"]

    /// `f` clamped to 0…1 (NaN → 0).
    static func clamp(_ f: Double) -> Double { f.isFinite ? min(max(f, 0), 1) : 0 }

    /// The colour of `f` in a mode with colour scales (truecolor, 256); nil in the others.
    public static func color(_ f: Double, mode: ColorMode) -> Color? {
        let v = clamp(f)
        switch mode {
        case .truecolor:
            let c = Viridis.rgb(v)
            return .rgb(c.red, c.green, c.blue)
        case .xterm256:
            return palette[Int((v * Double(palette.count - 1)).rounded())]
        case .ansi8, .monochrome:
            return nil
        }
    }

    /// The glyph of `f` on the density ramp.
    public static func glyph(_ f: Double) -> Unicode.Scalar {
        glyphs[Int((clamp(f) * Double(glyphs.count - 1)).rounded())]
    }
}

extension Theme {
    /// A heat cell of value `f`: a space on the scale's colour as background in colour-scale
    /// modes, else the density glyph in the plain style. Returns the glyph and its style.
    public func heatCell(_ f: Double) -> (glyph: Unicode.Scalar, style: Style) {
        if let c = HeatScale.color(f, mode: mode) { return (" ", Style(background: c)) }
        return (HeatScale.glyph(f), mode == .ansi8 ? Style(foreground: .cyan) : .plain)
    }

    /// Text drawn over a heat cell of value `f`: black on the light end, white on the dark.
    public func heatText(_ f: Double) -> Style {
        guard let c = HeatScale.color(f, mode: mode) else { return plain }
        return Style(foreground: HeatScale.clamp(f) > 0.55 ? .index(16) : .index(231), background: c)
    }

    /// A glyph (a point, a line) coloured by `f` on the scale: the scale's colour as
    /// foreground in colour-scale modes, else `fallback`.
    public func heatForeground(_ f: Double, fallback: Style) -> Style {
        guard let c = HeatScale.color(f, mode: mode) else { return fallback }
        return Style(foreground: c)
    }
}
