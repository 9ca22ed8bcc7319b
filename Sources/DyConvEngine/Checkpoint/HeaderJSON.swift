import Foundation

/// A JSON value as the safetensors header needs it.
///
/// Numbers keep their source text so integers (shapes, byte offsets) are read
/// exactly, never through a `Double`. Objects keep their key order (and
/// duplicate keys) so the reader can report the first problem in file order.
enum HeaderJSON {
    /// One `"key": value` pair of an object.
    struct Member {
        var key: String
        var value: HeaderJSON
    }

    case object([Member])
    case array([HeaderJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// A short English name of the value's type, for error messages.
    var typeName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    /// The value as an exact `Int`, if it is a JSON integer (no fraction, no exponent) that fits.
    var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        return Int(text)
    }

    /// The value's source text for messages (numbers and strings as written, others by type).
    var shortText: String {
        switch self {
        case .number(let t): return t
        case .string(let s): return s.count <= 40 ? "\"\(s)\"" : "\"\(s.prefix(40))…\""
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.shortText).joined(separator: ",") + "]"
        case .object: return "{…}"
        }
    }

    // MARK: Nesting

    /// Whether the JSON text nests arrays and objects more than `maxDepth` levels deep.
    ///
    /// A byte scan (brackets outside string literals), no parse: run before a recursive decoder
    /// (Foundation's `JSONDecoder` and the `Codable` initialisers it calls) so that hostile
    /// nesting is refused before it can exhaust the stack. Malformed text is left to the decoder.
    static func nestsDeeper<Bytes: Sequence>(_ bytes: Bytes, than maxDepth: Int) -> Bool where Bytes.Element == UInt8 {
        var depth = 0
        var inString = false, escaped = false
        for c in bytes {
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }

    // MARK: Parsing

    /// Why a header is not valid JSON, with the byte offset where parsing stopped.
    struct ParseError: Error {
        var message: String
        var offset: Int
    }

    /// Parses one JSON value spanning all of `bytes` (surrounding JSON whitespace allowed).
    ///
    /// `bytes` must already be valid UTF-8. Nesting deeper than `maxDepth` is
    /// rejected, so hostile input cannot exhaust the stack, and more than `maxValues` values,
    /// so the tree stays a bounded multiple of what a real header needs (about 11 values per
    /// tensor; a value costs tens of bytes, against 2 bytes of text for `0,`).
    static func parse(_ bytes: [UInt8], maxDepth: Int = 64, maxValues: Int = 1 << 21) throws(ParseError) -> HeaderJSON {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth, maxValues: maxValues)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw ParseError(message: "unexpected text after the JSON value", offset: parser.index)
        }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        let maxValues: Int
        var index = 0
        var values = 0

        init(bytes: [UInt8], maxDepth: Int, maxValues: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
            self.maxValues = maxValues
        }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private func fail(_ message: String) -> ParseError {
            ParseError(message: message, offset: index)
        }

        mutating func skipWhitespace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { index += 1 }
        }

        mutating func parseValue(depth: Int) throws(ParseError) -> HeaderJSON {
            guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
            values += 1
            guard values <= maxValues else { throw fail("more than \(maxValues) values") }
            guard let c = current else { throw fail("unexpected end of the header") }
            switch c {
            case UInt8(ascii: "{"): return try parseObject(depth: depth)
            case UInt8(ascii: "["): return try parseArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectLiteral("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
            default: throw fail("unexpected character '\(Self.printable(c))'")
            }
        }

        private static func printable(_ c: UInt8) -> String {
            (0x21...0x7E).contains(c) ? String(UnicodeScalar(c)) : String(format: "\\x%02X", c)
        }

        private mutating func expectLiteral(_ word: StaticString) throws(ParseError) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw fail("invalid literal") }
            let start = word.utf8Start
            for k in 0..<count where bytes[index + k] != start[k] { throw fail("invalid literal") }
            index += count
        }

        private mutating func parseObject(depth: Int) throws(ParseError) -> HeaderJSON {
            index += 1  // {
            var members: [Member] = []
            skipWhitespace()
            if current == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                let key = try parseString()
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
                index += 1
                skipWhitespace()
                let value = try parseValue(depth: depth + 1)
                members.append(Member(key: key, value: value))
                skipWhitespace()
                guard let c = current else { throw fail("unexpected end of the header inside an object") }
                if c == UInt8(ascii: ",") { index += 1; continue }
                if c == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw fail("expected ',' or '}' in an object")
            }
        }

        private mutating func parseArray(depth: Int) throws(ParseError) -> HeaderJSON {
            index += 1  // [
            var elements: [HeaderJSON] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                skipWhitespace()
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard let c = current else { throw fail("unexpected end of the header inside an array") }
                if c == UInt8(ascii: ",") { index += 1; continue }
                if c == UInt8(ascii: "]") { index += 1; return .array(elements) }
                throw fail("expected ',' or ']' in an array")
            }
        }

        private mutating func parseNumber() throws(ParseError) -> String {
            let start = index
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, Self.isDigit(first) else { throw fail("invalid number") }
            if first == UInt8(ascii: "0") {
                index += 1
            } else {
                while let c = current, Self.isDigit(c) { index += 1 }
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let c = current, Self.isDigit(c) else { throw fail("invalid number") }
                while let c = current, Self.isDigit(c) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let c = current, Self.isDigit(c) else { throw fail("invalid number") }
                while let c = current, Self.isDigit(c) { index += 1 }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

        private mutating func parseString() throws(ParseError) -> String {
            index += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw fail("unterminated string") }
                if c == UInt8(ascii: "\"") { index += 1; break }
                if c < 0x20 { throw fail("control character in a string") }
                if c != UInt8(ascii: "\\") { out.append(c); index += 1; continue }
                index += 1
                guard let e = current else { throw fail("unterminated escape") }
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                              bytes[index + 1] == UInt8(ascii: "u") else {
                            throw fail("unpaired surrogate in \\u escape")
                        }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw fail("invalid escape '\\\(Self.printable(e))'")
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        private mutating func parseHex4() throws(ParseError) -> UInt32 {
            guard bytes.count - index >= 4 else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("invalid hex digit in \\u escape")
                }
                v = v * 16 + d
                index += 1
            }
            return v
        }
    }

    // MARK: Writing

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
    static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
