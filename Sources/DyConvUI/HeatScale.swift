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
    /// viridis at 0, 1/8, …, 1.
    static let stops: [(UInt8, UInt8, UInt8)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ]

    /// The 256-colour entries nearest the stops.
    static let palette: [Color] = stops.map { Color.nearest256($0.0, $0.1, $0.2) }

    /// Density glyphs, low to high, for modes without colour scales.
    public static let glyphs: [Unicode.Scalar] = [" ", "░", "▒", "▓", "█"]

    /// `f` clamped to 0…1 (NaN → 0).
    static func clamp(_ f: Double) -> Double { f.isFinite ? min(max(f, 0), 1) : 0 }

    /// The colour of `f` in a mode with colour scales (truecolor, 256); nil in the others.
    public static func color(_ f: Double, mode: ColorMode) -> Color? {
        let v = clamp(f)
        switch mode {
        case .truecolor:
            let x = v * Double(stops.count - 1)
            let i = min(Int(x), stops.count - 2)
            let t = x - Double(i)
            func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - t) + Double(b) * t).rounded()) }
            let a = stops[i], b = stops[i + 1]
            return .rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
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
