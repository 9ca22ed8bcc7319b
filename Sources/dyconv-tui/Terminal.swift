import CNcursesw
import DyConvUI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ncurses mouse masks (NCURSES_MOUSE_VERSION 2: 5 bits per button). The header builds them
/// with function-like macros, which Swift cannot import.
private let button1Released: mmask_t = 0o1
private let button1Pressed: mmask_t = 0o2
private let button1Clicked: mmask_t = 0o4

/// The thin ncurses presenter: opens the screen, turns terminal input into `Event`s, and
/// draws `CellGrid`s, sending only the cells that changed since the previous frame.
///
/// Colours: (foreground, background) combinations get ncurses colour pairs on first use
/// (`init_extended_pair`), applied per cell through `setcchar` with the pair number, so more
/// than 256 pairs can be used.
final class Terminal {
    private let window: UnsafeMutablePointer<WINDOW>
    /// The colours the terminal shows (decided once at start-up).
    let colorMode: ColorMode
    private let colorCount: Int
    private let pairLimit: Int
    private var pairs: [UInt32: Int32] = [:]
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

    /// Opens the screen. `forceMonochrome` comes from `NO_COLOR`.
    init(forceMonochrome: Bool) throws {
        setlocale(LC_ALL, "")
        guard let w = initscr() else { throw TerminalError("cannot open the terminal (initscr failed); is TERM set?") }
        window = w
        hasAlternateScreen = Terminal.hasCapability("smcup")
        cbreak()
        noecho()
        nonl()
        keypad(w, true)
        curs_set(0)
        set_escdelay(25)
        wtimeout(w, 50)
        mouseinterval(0)
        mousemask(button1Pressed | button1Clicked, nil)
        let colors = Int(tigetnum("colors"))
        if !forceMonochrome && has_colors() {
            start_color()
            use_default_colors()
            colorCount = max(colors, 8)
            colorMode = colorCount >= 256 ? .xterm256 : .ansi8
            let terminfoPairs = Int(tigetnum("pairs"))
            pairLimit = max(min(terminfoPairs > 0 ? terminfoPairs : 64, 65_536), 2)
        } else {
            colorCount = 0
            colorMode = .monochrome
            pairLimit = 1
        }
    }

    /// Restores the terminal (idempotent). On a terminal without an alternate screen
    /// (linux console, vt100) the screen is cleared too, cursor home, as `clear` leaves it.
    func close() {
        guard isOpen else { return }
        isOpen = false
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
            case keyResize:
                let s = size
                return .resize(width: s.width, height: s.height)
            case keyMouse:
                var event = MEVENT()
                guard getmouse(&event) == OK else { return nil }
                if event.bstate & (button1Pressed | button1Clicked | button1Released) != 0 {
                    return .click(x: Int(event.x), y: Int(event.y))
                }
                return nil
            default:
                return nil
            }
        }
        switch ch {
        case 3: return .key(.interrupt)
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        default:
            guard let scalar = Unicode.Scalar(UInt32(ch)), ch >= 32 else { return nil }
            return .key(.char(scalar))
        }
    }

    /// The ncurses colour number of a palette colour (-1 = default), folded into the
    /// terminal's range.
    private func curses(_ c: Color) -> Int32 {
        if c.isDefault { return -1 }
        let i = Int(c.rawValue)
        if i < colorCount { return Int32(i) }
        return Int32(i % 8)
    }

    /// On terminals with few colour pairs, grey levels are merged to 8 steps so the image
    /// still fits in the pair table.
    private func quantized(_ c: Color) -> Color {
        guard pairLimit < 1024, !c.isDefault else { return c }
        let i = Int(c.rawValue)
        if i >= 232 { return .index(232 + ((i - 232) / 3) * 3) }
        return c
    }

    /// The colour pair of a foreground/background combination (0 when none is left).
    private func pair(_ style: Style) -> Int32 {
        guard colorMode != .monochrome else { return 0 }
        let fg = quantized(style.foreground), bg = quantized(style.background)
        if fg.isDefault && bg.isDefault { return 0 }
        let key = UInt32(fg.rawValue) << 16 | UInt32(bg.rawValue)
        if let p = pairs[key] { return p }
        guard Int(nextPair) < pairLimit else { return 0 }
        let p = nextPair
        guard init_extended_pair(p, curses(fg), curses(bg)) == OK else { return 0 }
        nextPair += 1
        pairs[key] = p
        return p
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
    /// after a size change), then refreshes the screen.
    func draw(_ grid: CellGrid) {
        let full = previous == nil || previous!.width != grid.width || previous!.height != grid.height
        if full { werase(window) }
        let width = grid.width, height = grid.height
        let sw = Int(getmaxx(window)), sh = Int(getmaxy(window))
        var wide: [wchar_t] = [0, 0]
        var cc = cchar_t()
        grid.cells.withUnsafeBufferPointer { cells in
            previous?.cells.withUnsafeBufferPointer { old in
                drawCells(cells, old: full ? nil : old, width: width, height: height, sw: sw, sh: sh, wide: &wide, cc: &cc)
            } ?? drawCells(cells, old: nil, width: width, height: height, sw: sw, sh: sh, wide: &wide, cc: &cc)
        }
        wnoutrefresh(window)
        doupdate()
        previous = grid
    }

    private func drawCells(_ cells: UnsafeBufferPointer<Cell>, old: UnsafeBufferPointer<Cell>?, width: Int, height: Int,
                           sw: Int, sh: Int, wide: inout [wchar_t], cc: inout cchar_t) {
        for y in 0..<min(height, sh) {
            for x in 0..<min(width, sw) {
                let i = y * width + x
                let cell = cells[i]
                if let old, old[i] == cell { continue }
                wide[0] = wchar_t(bitPattern: cell.scalar.value)
                var p = pair(cell.style)
                _ = setcchar(&cc, wide, attributes(cell.style.attributes), Int16(truncatingIfNeeded: min(p, 32767)), &p)
                wmove(window, Int32(y), Int32(x))
                wadd_wch(window, &cc)
            }
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
