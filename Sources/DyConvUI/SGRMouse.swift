/// Decoding of SGR extended mouse reports (xterm DECSET 1006), the one mouse encoding the
/// presenter asks for (with DECSET 1000: button presses and releases, no motion).
///
/// A report is `ESC [ < b ; x ; y M` for a press and `… m` for a release; x and y are
/// 1-based cells, b the button code: low bits 0/1/2 = left/middle/right, +64 the wheel
/// (64 up, 65 down), +32 motion, +4/+8/+16 Shift/Meta/Ctrl. Only presses of buttons 1–3 and
/// wheel steps become `MouseEvent`s; releases, motion and anything malformed or overlong
/// give nil, never a trap. Pure, so it is tested on byte sequences.
public enum SGRMouse {
    /// The longest report accepted (ESC [ < + three 4-digit numbers, two ';' and the final).
    public static let maximumLength = 24

    /// What the bytes read so far after an ESC are.
    public enum Scan: Equatable {
        /// A prefix of a report: read another byte.
        case incomplete
        /// A whole report (press, release or unknown): `parse` decodes it.
        case complete
        /// Not a mouse report (or too long to be one).
        case notMouse
        /// `ESC [ M`: the start of a legacy X10 report (a terminal without SGR encoding),
        /// whose three raw bytes follow; it is dropped, never read as keys (its bytes would
        /// read as `[`, τ ÷ 1.25, and more).
        case legacy
    }

    /// Classifies `bytes` (starting with ESC) as a report prefix, a whole report, or neither.
    public static func scan(_ bytes: [UInt8]) -> Scan {
        let prefix: [UInt8] = [0x1B, 0x5B, 0x3C]   // ESC [ <
        if bytes == [0x1B, 0x5B, 0x4D] { return .legacy }   // ESC [ M
        for (i, b) in bytes.prefix(3).enumerated() where b != prefix[i] { return .notMouse }
        if bytes.count <= 3 { return .incomplete }
        guard bytes.count <= maximumLength else { return .notMouse }
        for b in bytes[3...].dropLast() where !(b == 0x3B || (0x30...0x39).contains(b)) { return .notMouse }
        let last = bytes[bytes.count - 1]
        if last == 0x4D || last == 0x6D { return .complete }   // M, m
        return last == 0x3B || (0x30...0x39).contains(last) ? .incomplete : .notMouse
    }

    /// The press or wheel step a whole report describes, with 0-based cell coordinates; nil
    /// for a release, motion, another button, or a malformed or overlong sequence.
    public static func parse(_ bytes: [UInt8]) -> MouseEvent? {
        guard scan(bytes) == .complete, bytes.last == 0x4D else { return nil }   // presses end in M
        let fields = bytes[3..<(bytes.count - 1)].split(separator: 0x3B, omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        var numbers: [Int] = []
        for f in fields {
            // At most 4 digits each (terminals are narrower than 10 000 cells): no overflow.
            guard !f.isEmpty, f.count <= 4 else { return nil }
            numbers.append(f.reduce(0) { $0 * 10 + Int($1 - 0x30) })
        }
        let code = numbers[0], x = numbers[1], y = numbers[2]
        guard x >= 1, y >= 1, code & 32 == 0 else { return nil }   // motion is not asked for
        let button: MouseEvent.Button
        switch code & ~(4 | 8 | 16) {   // Shift, Meta and Ctrl change nothing here
        case 0: button = .left
        case 1: button = .middle
        case 2: button = .right
        case 64: button = .wheelUp
        case 65: button = .wheelDown
        default: return nil
        }
        return MouseEvent(x: x - 1, y: y - 1, button: button)
    }

    /// The escape sequences that turn the reporting on (press/release tracking, SGR
    /// encoding) and off again, in the reverse order.
    public static let enable = "\u{1B}[?1000h\u{1B}[?1006h"
    public static let disable = "\u{1B}[?1006l\u{1B}[?1000l"
}
