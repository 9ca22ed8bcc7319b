/// The characters the terminal can show: decided once at start-up from the locale, kept in
/// the state, applied by `render` as its last step.
///
/// Panels always draw with the Unicode glyphs (blocks, braille, box rules, π, τ, Σ); in the
/// ASCII charset `render` replaces every cell's scalar with one ASCII scalar. One cell stays
/// one cell, so columns line up exactly as in the Unicode rendering, and no glyph added to a
/// panel later can slip through: anything without a mapping becomes "?".
public enum Charset: String, Sendable, CaseIterable {
    /// A UTF-8 locale: every glyph.
    case unicode
    /// Any other locale (`LANG=C`, Latin-1, …): ASCII only.
    case ascii

    /// The charset of a locale's codeset (`nl_langinfo(CODESET)` after `setlocale`):
    /// Unicode only for UTF-8, since ncurses cannot encode other scalars elsewhere.
    public init(codeset: String) {
        let c = codeset.lowercased().filter { $0 != "-" && $0 != "_" }
        self = c == "utf8" ? .unicode : .ascii
    }

    /// The ASCII stand-in of a scalar: itself when ASCII, else from `asciiMap`, else "?".
    public static func ascii(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.isASCII { return s }
        return asciiMap[s] ?? "?"
    }

    /// ASCII stand-ins of every glyph the panels draw (one scalar each, to keep columns).
    static let asciiMap: [Unicode.Scalar: Unicode.Scalar] = {
        var m: [Unicode.Scalar: Unicode.Scalar] = [
            // Bars: full and partial cells, the dotted track.
            "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "+", "▍": "+", "▎": "+", "▏": "|",
            "·": ".",
            // Sparklines and level glyphs, low to high.
            "▁": "_", "▂": ".", "▃": ":", "▄": "-", "▅": "=", "▆": "+", "▇": "*",
            "▀": "\"",
            // Heat-scale density glyphs (`HeatScale.glyphs`), low to high.
            "░": ".", "▒": ":", "▓": "%",
            // Rules and boxes.
            "─": "-", "│": "|", "┃": "#", "┌": "+", "┐": "+", "└": "+", "┘": "+", "┤": "+", "┴": "+",
            // Markers.
            "●": "o", "◂": "<", "◆": "x", "◉": "O", "▲": "^", "▶": ">", "✓": "v", "✗": "X", "⠂": ".",
            "←": "<", "→": ">", "↑": "^", "↓": "v", "↵": "<",
            // Training history: half-cell epoch columns and their marks, the final epoch, window ends.
            "▐": "+", "▘": "'", "▝": "'", "◇": "F", "‹": "(", "›": ")",
            // Symbols and punctuation.
            "π": "p", "τ": "t", "Σ": "S", "×": "x", "÷": "/", "—": "-", "–": "-", "…": "~",
        ]
        // Subscript digits ₀…₉ → 0…9.
        for d in 0..<10 {
            if let sub = Unicode.Scalar(0x2080 + UInt32(d)), let digit = Unicode.Scalar(0x30 + UInt32(d)) { m[sub] = digit }
        }
        // Subscript k (the simplex panel's "πₖ").
        m["ₖ"] = "k"
        return m
    }()

    /// The ASCII stand-in of a braille cell: its dot count as a density (the plots keep
    /// their shape at cell resolution).
    static func asciiBraille(_ s: Unicode.Scalar) -> Unicode.Scalar? {
        guard s.value >= 0x2800, s.value <= 0x28FF else { return nil }
        let dots = (s.value - 0x2800).nonzeroBitCount
        switch dots {
        case 0: return " "
        case 1...2: return "."
        case 3...4: return ":"
        default: return "*"
        }
    }
}

extension CellGrid {
    /// Replaces every scalar by its ASCII stand-in (`Charset.ascii`), keeping styles.
    public mutating func transliterateToASCII() {
        for y in 0..<height {
            for x in 0..<width {
                let s = self[x, y].scalar
                guard !s.isASCII else { continue }
                self[x, y].scalar = Charset.asciiBraille(s) ?? Charset.ascii(s)
            }
        }
    }
}

/// What the terminal can do, as the presenter finds it before opening the screen.
public struct TerminalSupport: Sendable, Equatable {
    /// `TERM`.
    public var term: String
    /// Whether terminfo knows `TERM` at all.
    public var known: Bool
    /// Whether it can move the cursor (terminfo `cup`): a full-screen UI needs it.
    public var cursorAddressing: Bool
    /// The locale's codeset.
    public var codeset: String

    public init(term: String, known: Bool, cursorAddressing: Bool, codeset: String) {
        self.term = term; self.known = known; self.cursorAddressing = cursorAddressing; self.codeset = codeset
    }

    /// The charset to draw with, or the one line explaining why the screen cannot open.
    public func decide() -> Result<Charset, SessionError> {
        let name = term.isEmpty ? "(unset)" : term
        guard known else {
            return .failure(SessionError("TERM=\(name) is not a terminal type this system knows; set TERM (e.g. TERM=xterm-256color)"))
        }
        guard cursorAddressing else {
            return .failure(SessionError("TERM=\(name) cannot move the cursor; dyconv-tui needs a full-screen terminal (e.g. TERM=xterm-256color)"))
        }
        return .success(Charset(codeset: codeset))
    }
}
