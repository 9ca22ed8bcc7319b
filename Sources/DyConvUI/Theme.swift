/// How many colours the terminal shows: the renderer picks its styles from this.
///
/// Decided once at start-up by the presenter (from terminfo, `COLORTERM` and `NO_COLOR`) and
/// kept in the state, so the pure core renders any depth, e.g. in tests.
public enum ColorMode: String, Sendable, CaseIterable {
    /// 24-bit (direct) colour: the interface as in 256 colours, images in their own RGB.
    case truecolor
    /// xterm 256-colour palette: grey-level images with half blocks, colour ramps.
    case xterm256
    /// The 8 ANSI colours: images as a character density ramp, coloured accents.
    case ansi8
    /// No colour at all (`NO_COLOR`, or a terminal without colours): attributes and glyphs only.
    case monochrome
}

/// The styles of every role on screen, for one colour mode.
///
/// Panels ask the theme for roles (title, selection, bar, …) rather than colours, so the
/// monochrome rendering stays readable: it maps roles to bold / dim / reverse / underline.
public struct Theme: Sendable {
    public let mode: ColorMode
    public let plain: Style
    public let dim: Style
    public let title: Style
    public let heading: Style
    public let accent: Style
    public let selected: Style
    public let good: Style
    public let bad: Style
    public let warn: Style
    public let bar: Style
    public let entropyBar: Style
    public let barTrack: Style
    public let cloud: Style
    public let point: Style
    public let appliedPoint: Style
    public let vertex: Style
    public let edge: Style
    public let axis: Style
    public let seriesAccuracy: Style
    public let seriesEntropy: Style
    public let statusBar: Style
    public let statusKey: Style
    public let overlay: Style
    public let overlayKey: Style
    public let progress: Style

    /// How images are drawn in this colour mode (half blocks need Unicode too; `ImagePanel`).
    public var imageColors: ImageColors {
        switch mode {
        case .truecolor: return .direct
        case .xterm256: return .palette256
        case .ansi8, .monochrome: return .density
        }
    }

    /// The theme of a colour mode.
    public init(_ mode: ColorMode) {
        self.mode = mode
        plain = .plain
        switch mode {
        case .truecolor, .xterm256:
            dim = Style(foreground: .index(244))
            title = Style(foreground: .index(231), attributes: .bold)
            heading = Style(foreground: .index(117), attributes: .bold)
            accent = Style(foreground: .index(81))
            selected = Style(foreground: .index(231), background: .index(24), attributes: .bold)
            good = Style(foreground: .index(114), attributes: .bold)
            bad = Style(foreground: .index(203), attributes: .bold)
            warn = Style(foreground: .index(221))
            bar = Style(foreground: .index(75))
            entropyBar = Style(foreground: .index(179))
            barTrack = Style(foreground: .index(238))
            cloud = Style(foreground: .index(242))
            point = Style(foreground: .index(226), attributes: .bold)
            appliedPoint = Style(foreground: .index(213), attributes: .bold)
            vertex = Style(foreground: .index(252), attributes: .bold)
            edge = Style(foreground: .index(60))
            axis = Style(foreground: .index(245))
            seriesAccuracy = Style(foreground: .index(114), attributes: .bold)
            seriesEntropy = Style(foreground: .index(179), attributes: .bold)
            statusBar = Style(foreground: .index(252), background: .index(236))
            statusKey = Style(foreground: .index(229), background: .index(236), attributes: .bold)
            overlay = Style(foreground: .index(252), background: .index(235))
            overlayKey = Style(foreground: .index(229), background: .index(235), attributes: .bold)
            progress = Style(foreground: .index(150))
        case .ansi8:
            dim = Style(foreground: .white, attributes: .dim)
            title = Style(foreground: .white, attributes: .bold)
            heading = Style(foreground: .cyan, attributes: .bold)
            accent = Style(foreground: .cyan)
            selected = Style(foreground: .white, background: .blue, attributes: .bold)
            good = Style(foreground: .green, attributes: .bold)
            bad = Style(foreground: .red, attributes: .bold)
            warn = Style(foreground: .yellow)
            bar = Style(foreground: .blue, attributes: .bold)
            entropyBar = Style(foreground: .yellow)
            barTrack = Style(foreground: .white, attributes: .dim)
            cloud = Style(foreground: .white, attributes: .dim)
            point = Style(foreground: .yellow, attributes: .bold)
            appliedPoint = Style(foreground: .magenta, attributes: .bold)
            vertex = Style(foreground: .white, attributes: .bold)
            edge = Style(foreground: .blue)
            axis = Style(foreground: .white)
            seriesAccuracy = Style(foreground: .green, attributes: .bold)
            seriesEntropy = Style(foreground: .yellow, attributes: .bold)
            statusBar = Style(foreground: .black, background: .white)
            statusKey = Style(foreground: .blue, background: .white, attributes: .bold)
            overlay = Style(foreground: .white, background: .blue)
            overlayKey = Style(foreground: .yellow, background: .blue, attributes: .bold)
            progress = Style(foreground: .green)
        case .monochrome:
            dim = Style(attributes: .dim)
            title = Style(attributes: .bold)
            heading = Style(attributes: [.bold, .underline])
            accent = .plain
            selected = Style(attributes: [.reverse, .bold])
            good = Style(attributes: .bold)
            bad = Style(attributes: [.bold, .underline])
            warn = Style(attributes: .bold)
            bar = .plain
            entropyBar = .plain
            barTrack = Style(attributes: .dim)
            cloud = Style(attributes: .dim)
            point = Style(attributes: .bold)
            appliedPoint = Style(attributes: .bold)
            vertex = Style(attributes: .bold)
            edge = Style(attributes: .dim)
            axis = .plain
            seriesAccuracy = Style(attributes: .bold)
            seriesEntropy = .plain
            statusBar = Style(attributes: .reverse)
            statusKey = Style(attributes: [.reverse, .bold])
            overlay = .plain
            overlayKey = Style(attributes: .bold)
            progress = .plain
        }
    }

    /// The style of a cell drawn on a selected row (keeps the glyph's colour in colour modes).
    public func onSelection(_ s: Style) -> Style {
        switch mode {
        case .monochrome: return s.with(.reverse)
        case .truecolor, .xterm256, .ansi8:
            var r = s
            r.background = selected.background
            if r.foreground.isDefault || r.foreground == barTrack.foreground { r.foreground = selected.foreground }
            return r
        }
    }
}

/// How the image panel colours pixels.
public enum ImageColors: Sendable {
    /// Half blocks in each pixel's own RGB.
    case direct
    /// Half blocks in the nearest of the 256-colour cube and grey ramp (grey images: the
    /// nearest grey).
    case palette256
    /// A density ramp of glyphs on the pixel's luminance (8 colours, monochrome, ASCII).
    case density
}
