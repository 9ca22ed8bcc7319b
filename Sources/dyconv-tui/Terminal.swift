import CNcursesw
import DyConvUI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes that turn mouse reporting off (`SGRMouse.disable`), made before any signal can
/// arrive so that the signal handlers only `write` them (async-signal-safe).
let mouseDisableBytes: [UInt8] = Array(SGRMouse.disable.utf8)

/// Turns mouse reporting off: on every exit path (close, and the signal and crash handlers
/// in Main.swift), before `endwin`, so the shell is not left receiving mouse reports.
func restoreMouseReporting() {
    mouseDisableBytes.withUnsafeBufferPointer { _ = write(1, $0.baseAddress, $0.count) }
}

/// The thin ncurses presenter: opens the screen, turns terminal input into `Event`s, and
/// draws `CellGrid`s, sending only the cells that changed since the previous frame.
///
/// Mouse: SGR extended reports (DECSET 1006) of button presses only (DECSET 1000, no motion
/// tracking), asked for and decoded here rather than by ncurses, whose decoding depends on
/// the terminfo entry (`kmous`): the report `ESC [ < b ; x ; y M` reaches `readEvent` as an
/// ESC followed by plain characters (`keyok` keeps ncurses from claiming its prefix), and
/// `SGRMouse` decodes it. The modes are turned off again on every exit path.
///
/// Colours: (foreground, background) combinations get ncurses colour pairs on first use
/// (`init_extended_pair`), applied per cell through `setcchar` with the pair number in its
/// `opts` argument, so pair numbers above 255 (and 32767) can be used. When the table is
/// full (images in 256 or 24-bit colour use many pairs), it is reset (`reset_color_pairs`)
/// and the frame redrawn from scratch.
///
/// Colour depth (`ColorMode`), decided here and given to the pure core:
/// - `truecolor` when the terminfo entry is a direct-colour one (the `RGB` flag, or `colors`
///   ≥ 2^24, as `xterm-direct`): ncurses then takes colour numbers as 0xRRGGBB values, except
///   0–7, which stay the ANSI colours. A terminal that announces 24-bit colour through
///   `COLORTERM=truecolor|24bit` while `TERM` names a palette entry gets its direct-colour
///   sibling (`xterm-256color` → `xterm-direct`) when terminfo has one; else 256 colours.
/// - `xterm256` with ≥ 256 colours, `ansi8` with fewer, `monochrome` without colours or
///   with `NO_COLOR`.
final class Terminal {
    private let window: UnsafeMutablePointer<WINDOW>
    /// The colours the terminal shows (decided once at start-up).
    let colorMode: ColorMode
    private let colorCount: Int
    private let pairLimit: Int
    /// Whether colour numbers are 24-bit RGB values (a direct-colour terminfo entry).
    private let direct: Bool
    private var pairs: [UInt64: Int32] = [:]
    private var nextPair: Int32 = 1
    private var previous: CellGrid?
    private var isOpen = true
    private let attrBold = dyconv_a_bold(), attrDim = dyconv_a_dim()
    private let attrReverse = dyconv_a_reverse(), attrUnderline = dyconv_a_underline()
    private let keyResize = dyconv_key_resize(), keyMouse = dyconv_key_mouse()

    /// Whether the terminal has an alternate screen (terminfo `smcup`); without one, the
    /// last frame would stay on screen after `endwin`, so `close` clears it.
    private let hasAlternateScreen: Bool

    /// What `TERM` and the locale allow, read from terminfo without opening the screen
    /// (`initscr` on an unknown terminal would print its own message and exit).
    static func probe() -> TerminalSupport {
        setlocale(LC_ALL, "")
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        var status: Int32 = 0
        guard !term.isEmpty, setupterm(nil, 1, &status) == OK else {
            return TerminalSupport(term: term, known: false, cursorAddressing: false, codeset: codeset)
        }
        return TerminalSupport(term: term, known: true, cursorAddressing: hasCapability("cup"), codeset: codeset)
    }

    /// Whether TERM's terminfo entry has a string capability.
    private static func hasCapability(_ name: String) -> Bool { dyconv_has_string_capability(name) != 0 }

    /// The direct-colour terminfo entry to open instead of `TERM`'s, when the terminal says
    /// it shows 24-bit colour (`COLORTERM`) but `TERM` names a palette entry: `X-direct` for
    /// `X-256color` or `X`, and `xterm-direct` for any `xterm*`, the first terminfo has.
    /// nil when `TERM`'s own entry is direct, when nothing announces 24-bit colour, or when
    /// no such entry is installed (Debian: package ncurses-term).
    static func directColorSibling(term: String, colorterm: String) -> String? {
        let announced = ["truecolor", "24bit"].contains(colorterm.lowercased())
        guard announced, !term.isEmpty, !term.hasSuffix("-direct") else { return nil }
        var status: Int32 = 0
        guard setupterm(nil, 1, &status) == OK, !isDirectColor() else { return nil }
        let base = term.hasSuffix("-256color") ? String(term.dropLast("-256color".count)) : term
        var candidates = [base + "-direct"]
        if term.hasPrefix("xterm") { candidates.append("xterm-direct") }
        for name in candidates where setupterm(name, 1, &status) == OK && isDirectColor() {
            return name
        }
        // Leave the current terminfo entry as TERM's.
        _ = setupterm(nil, 1, &status)
        return nil
    }

    /// Whether the current terminfo entry is a direct-colour one (`RGB` flag or 2^24 colours).
    private static func isDirectColor() -> Bool { tigetflag("RGB") > 0 || Int(tigetnum("colors")) >= 1 << 24 }

    /// Opens the screen. `forceMonochrome` comes from `NO_COLOR`; `colorterm` is `COLORTERM`.
    init(forceMonochrome: Bool, colorterm: String = "") throws {
        setlocale(LC_ALL, "")
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        let sibling = forceMonochrome ? nil : Terminal.directColorSibling(term: term, colorterm: colorterm)
        if let sibling {
            guard let w = dyconv_newterm(sibling) else {
                throw TerminalError("cannot open the terminal as \(sibling) (newterm failed)")
            }
            window = w
        } else {
            guard let w = initscr() else { throw TerminalError("cannot open the terminal (initscr failed); is TERM set?") }
            window = w
        }
        hasAlternateScreen = Terminal.hasCapability("smcup")
        cbreak()
        noecho()
        nonl()
        keypad(window, true)
        curs_set(0)
        set_escdelay(25)
        wtimeout(window, 50)
        // No ncurses mouse: the reports are decoded by `readEvent` (see the type's comment).
        mousemask(0, nil)
        keyok(keyMouse, false)
        _ = mouseDisableBytes.count
        let enable = Array(SGRMouse.enable.utf8)
        enable.withUnsafeBufferPointer { _ = write(1, $0.baseAddress, $0.count) }
        let colors = Int(tigetnum("colors"))
        if !forceMonochrome && has_colors() {
            start_color()
            use_default_colors()
            colorCount = max(colors, 8)
            direct = Terminal.isDirectColor()
            colorMode = direct ? .truecolor : (colorCount >= 256 ? .xterm256 : .ansi8)
            let terminfoPairs = Int(tigetnum("pairs"))
            pairLimit = max(min(terminfoPairs > 0 ? terminfoPairs : 64, 65_536), 2)
        } else {
            colorCount = 0
            direct = false
            colorMode = .monochrome
            pairLimit = 1
        }
    }

    /// Restores the terminal (idempotent). On a terminal without an alternate screen
    /// (linux console, vt100) the screen is cleared too, cursor home, as `clear` leaves it.
    func close() {
        guard isOpen else { return }
        isOpen = false
        restoreMouseReporting()
        endwin()
        if !hasAlternateScreen, Terminal.hasCapability("clear"), let clear = tigetstr("clear") {
            putp(clear)
            fflush(nil)
        }
    }

    /// The terminal size in cells.
    var size: (width: Int, height: Int) { (Int(getmaxx(window)), Int(getmaxy(window))) }

    /// Waits up to `milliseconds` for input; returns the event, or nil on timeout.
    func readEvent(timeout milliseconds: Int32) -> Event? {
        wtimeout(window, milliseconds)
        var ch: wint_t = 0
        let r = wget_wch(window, &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            let code = Int32(ch)
            switch code {
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_BTAB: return .key(.backTab)
            case KEY_BACKSPACE: return .key(.backspace)
            case KEY_ENTER: return .key(.enter)
            case KEY_F0 + 1 ... KEY_F0 + 12: return .key(.function(Int(code - KEY_F0)))
            case keyResize:
                let s = size
                return .resize(width: s.width, height: s.height)
            default:
                return nil
            }
        }
        switch ch {
        case 3: return .key(.interrupt)
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return readEscape()
        case 8, 127: return .key(.backspace)
        default:
            guard let scalar = Unicode.Scalar(UInt32(ch)), ch >= 32 else { return nil }
            return .key(.char(scalar))
        }
    }

    /// After an ESC: an SGR mouse report (`ESC [ < b ; x ; y M`, already in ncurses' input
    /// queue when the terminal sent one) becomes a mouse event (a release nothing); anything
    /// else is the Escape key, and the bytes read after it are given back to ncurses to be
    /// read as the keys they are.
    private func readEscape() -> Event? {
        var bytes: [UInt8] = [27]
        var pendingCode: Int32?
        while SGRMouse.scan(bytes) == .incomplete {
            wtimeout(window, 10)
            var ch: wint_t = 0
            let r = wget_wch(window, &ch)
            if r == ERR { break }
            if r == KEY_CODE_YES || ch > 127 {
                pendingCode = r == KEY_CODE_YES ? Int32(ch) : nil
                if r != KEY_CODE_YES { unget_wch(wchar_t(ch)) }
                break
            }
            bytes.append(UInt8(ch))
        }
        switch SGRMouse.scan(bytes) {
        case .complete:
            return SGRMouse.parse(bytes).map { .mouse($0) }
        case .legacy:
            // A terminal that ignored 1006: drop the report's three bytes (any values).
            for _ in 0..<3 {
                var ch: wint_t = 0
                if wget_wch(window, &ch) == ERR { break }
            }
            return nil
        default:
            break
        }
        // Not a report: give back what followed the ESC (the queue returns the last pushed first).
        if let code = pendingCode { ungetch(code) }
        for b in bytes.dropFirst().reversed() { unget_wch(wchar_t(b)) }
        return .key(.escape)
    }

    /// The ncurses colour number of a colour (-1 = default). Direct colour: the ANSI colours
    /// 0–7 stay palette numbers (the terminal's own), the rest become 0xRRGGBB (one below 8
    /// would read as an ANSI colour, so those near-blacks become 0x000008). Palette: RGB
    /// colours become their nearest cube or grey entry; indices beyond the terminal's colours
    /// fold into the 8 ANSI ones.
    private func curses(_ c: Color) -> Int32 {
        if c.isDefault { return -1 }
        if direct {
            if !c.isRGB && c.rawValue < 8 { return Int32(c.rawValue) }
            let v = c.rgbValue ?? 0
            return Int32(max(v, 8))
        }
        let i = c.paletteIndex
        if i < colorCount { return Int32(i) }
        return Int32(i % 8)
    }

    /// On terminals with few colour pairs, grey levels are merged to 8 steps so the image
    /// still fits in the pair table.
    private func quantized(_ c: Color) -> Color {
        guard pairLimit < 1024, !c.isDefault, !c.isRGB else { return c }
        let i = Int(c.rawValue)
        if i >= 232 { return .index(232 + ((i - 232) / 3) * 3) }
        return c
    }

    /// The colour pair of a foreground/background combination: 0 for the default colours,
    /// nil when the pair table is full.
    private func pair(_ style: Style) -> Int32? {
        guard colorMode != .monochrome else { return 0 }
        let fg = quantized(style.foreground), bg = quantized(style.background)
        if fg.isDefault && bg.isDefault { return 0 }
        let key = UInt64(fg.rawValue) << 32 | UInt64(bg.rawValue)
        if let p = pairs[key] { return p }
        guard Int(nextPair) < pairLimit else { return nil }
        let p = nextPair
        guard init_extended_pair(p, curses(fg), curses(bg)) == OK else { return 0 }
        nextPair += 1
        pairs[key] = p
        return p
    }

    /// Empties the pair table (every pair number is free again); the screen must be redrawn.
    private func resetPairs() {
        reset_color_pairs()
        pairs.removeAll(keepingCapacity: true)
        nextPair = 1
    }

    private func attributes(_ a: CellAttributes) -> attr_t {
        var r = dyconv_a_normal()
        if a.contains(.bold) { r |= attrBold }
        if a.contains(.dim) { r |= attrDim }
        if a.contains(.reverse) { r |= attrReverse }
        if a.contains(.underline) { r |= attrUnderline }
        return r
    }

    /// Draws a grid, sending only the cells that differ from the previous frame (everything
    /// after a size change), then refreshes the screen. When the pair table fills up, it is
    /// reset and the whole frame drawn again (a frame needing more pairs than the terminal
    /// has draws its surplus cells in the default colours).
    func draw(_ grid: CellGrid) {
        var full = previous == nil || previous!.width != grid.width || previous!.height != grid.height
        for attempt in 0..<2 {
            if full { werase(window) }
            let completed = drawCells(grid, old: full ? nil : previous, allowFull: attempt == 1)
            if completed { break }
            resetPairs()
            full = true
        }
        wnoutrefresh(window)
        doupdate()
        previous = grid
    }

    /// Sends the cells of `grid` that differ from `old` (all without one). Returns false,
    /// having stopped, when the pair table is full, unless `allowFull` (then such cells get
    /// the default colours).
    private func drawCells(_ grid: CellGrid, old: CellGrid?, allowFull: Bool) -> Bool {
        let width = grid.width, height = grid.height
        let sw = Int(getmaxx(window)), sh = Int(getmaxy(window))
        var wide: [wchar_t] = [0, 0]
        var cc = cchar_t()
        let oldCells = old?.cells
        return grid.cells.withUnsafeBufferPointer { cells -> Bool in
            for y in 0..<min(height, sh) {
                for x in 0..<min(width, sw) {
                    let i = y * width + x
                    let cell = cells[i]
                    if let oldCells, oldCells[i] == cell { continue }
                    guard var p = pair(cell.style) ?? (allowFull ? 0 : nil) else { return false }
                    wide[0] = wchar_t(bitPattern: cell.scalar.value)
                    _ = setcchar(&cc, wide, attributes(cell.style.attributes), Int16(truncatingIfNeeded: min(p, 32767)), &p)
                    wmove(window, Int32(y), Int32(x))
                    wadd_wch(window, &cc)
                }
            }
            return true
        }
    }

    /// Forgets the previous frame so the next draw repaints everything.
    func invalidate() { previous = nil }
}

/// A failure of the terminal itself.
struct TerminalError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
