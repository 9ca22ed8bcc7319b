/// An IDX file (the MNIST container format) holding unsigned bytes.
///
/// Layout: a 4-byte big-endian magic `0x0000TTRR` — two zero bytes, the element
/// type `TT` (0x08 = unsigned byte) and the rank `RR` — followed by `RR`
/// big-endian UInt32 dimension sizes and then the elements in row-major order.
/// Images are `0x00000803` (`[count, rows, cols]`), labels `0x00000801` (`[count]`).
/// Only unsigned-byte files are supported; every other element type is
/// rejected with a clear error. Files may be raw or gzip-compressed.
public struct IDXFile: Sendable, Equatable {
    /// The IDX element type codes.
    public enum ElementType: UInt8, Sendable, CaseIterable {
        /// Unsigned byte (the only type dyconv reads).
        case uint8 = 0x08
        /// Signed byte.
        case int8 = 0x09
        /// Big-endian 16-bit integer.
        case int16 = 0x0B
        /// Big-endian 32-bit integer.
        case int32 = 0x0C
        /// Big-endian IEEE 754 single precision.
        case float32 = 0x0D
        /// Big-endian IEEE 754 double precision.
        case float64 = 0x0E

        /// A short human-readable name ("unsigned byte", "int16", ...).
        public var name: String {
            switch self {
            case .uint8: return "unsigned byte"
            case .int8: return "signed byte"
            case .int16: return "int16"
            case .int32: return "int32"
            case .float32: return "float32"
            case .float64: return "float64"
            }
        }
    }

    /// The magic number of an unsigned-byte IDX file with three dimensions (images).
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// The magic number of an unsigned-byte IDX file with one dimension (labels).
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// The size of each dimension, outermost first.
    public var dimensions: [Int]
    /// The elements, row-major; `data.count` is the product of `dimensions`.
    public var data: [UInt8]

    /// Creates an IDX value; throws `.invalidArgument` if the sizes disagree or do not fit the format.
    public init(dimensions: [Int], data: [UInt8]) throws {
        guard !dimensions.isEmpty, dimensions.count <= 255 else {
            throw DataError(.invalidArgument, file: "IDXFile", "rank must be 1...255, got \(dimensions.count)")
        }
        guard dimensions.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw DataError(.invalidArgument, file: "IDXFile",
                            "dimensions \(IDXFile.format(dimensions)) must each be in 0...\(UInt32.max)")
        }
        guard let expected = IDXFile.product(dimensions), expected == data.count else {
            throw DataError(.invalidArgument, file: "IDXFile",
                            "dimensions \(IDXFile.format(dimensions)) do not match \(data.count) data bytes")
        }
        self.dimensions = dimensions
        self.data = data
    }

    private init(validatedDimensions dimensions: [Int], data: [UInt8]) {
        self.dimensions = dimensions
        self.data = data
    }

    /// The magic number this value is written with (`0x0000_08RR`).
    public var magic: UInt32 { 0x0800 | UInt32(dimensions.count) }

    /// Reads and validates an IDX file (raw or gzip) at `path`.
    ///
    /// - Parameter expectedRank: if given, a file with another number of dimensions is rejected.
    /// - Throws: `DataError` naming `path` for a missing/unreadable file, corrupt gzip, bad magic,
    ///   unsupported element type, wrong rank, truncated data or trailing bytes.
    public static func read(path: String, expectedRank: Int? = nil) throws -> IDXFile {
        try parseRaw(FileSystem.readContents(of: path), name: path, expectedRank: expectedRank)
    }

    /// Parses and validates the bytes of an IDX file, raw or gzip-compressed (magic 1f 8b), with
    /// the same checks and limits as `read(path:expectedRank:)`; `name` is used in errors.
    ///
    /// This is the in-memory entry point (fuzzers, tests, data that did not come from a file).
    public static func parse(_ bytes: [UInt8], name: String, expectedRank: Int? = nil) throws -> IDXFile {
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B {
            return try parseRaw(Gzip.decompress(bytes, name: name), name: name, expectedRank: expectedRank)
        }
        return try parseRaw(bytes, name: name, expectedRank: expectedRank)
    }

    private static func parseRaw(_ bytes: consuming [UInt8], name: String, expectedRank: Int?) throws -> IDXFile {
        guard bytes.count >= 4 else {
            throw DataError(.truncated, file: name,
                            "truncated: \(bytes.count) bytes is too short for an IDX header (at least 8 bytes)")
        }
        let magic = readUInt32(bytes, at: 0)
        let typeCode = bytes[2]
        let rank = Int(bytes[3])
        guard bytes[0] == 0, bytes[1] == 0, rank > 0 else {
            throw DataError(.badMagic, file: name, "bad magic \(hex(magic)): not an IDX file\(expectation(expectedRank))")
        }
        guard let type = ElementType(rawValue: typeCode) else {
            throw DataError(.badMagic, file: name,
                            "bad magic \(hex(magic)): unknown IDX element type 0x\(hex2(typeCode))\(expectation(expectedRank))")
        }
        guard type == .uint8 else {
            throw DataError(.unsupportedType, file: name,
                            "IDX element type \(type.name) (0x\(hex2(typeCode))) is not supported; only unsigned byte (0x08) is")
        }
        if let expectedRank, rank != expectedRank {
            throw DataError(.badDimensions, file: name,
                            "magic \(hex(magic)) declares \(rank) dimension\(rank == 1 ? "" : "s")\(kindHint(rank)), expected \(expectedRank)\(expectation(expectedRank))")
        }
        let headerSize = 4 + 4 * rank
        guard bytes.count >= headerSize else {
            throw DataError(.truncated, file: name,
                            "truncated: IDX header with \(rank) dimensions needs \(headerSize) bytes, file has \(bytes.count)")
        }
        var dimensions: [Int] = []
        dimensions.reserveCapacity(rank)
        for axis in 0..<rank { dimensions.append(Int(readUInt32(bytes, at: 4 + 4 * axis))) }
        guard let expected = product(dimensions) else {
            throw DataError(.badDimensions, file: name, "dimensions \(format(dimensions)) are too large")
        }
        let available = bytes.count - headerSize
        if available < expected {
            throw DataError(.truncated, file: name,
                            "truncated: header says \(format(dimensions)) = \(expected) bytes of data, file has \(available)")
        }
        if available > expected {
            throw DataError(.trailingData, file: name,
                            "\(available - expected) unexpected bytes after the \(format(dimensions)) = \(expected) bytes of data")
        }
        // In place when the caller hands over a uniquely referenced buffer (as `read` does).
        bytes.removeFirst(headerSize)
        return IDXFile(validatedDimensions: dimensions, data: bytes)
    }

    /// The file's bytes: magic, big-endian dimensions, data.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + 4 * dimensions.count + data.count)
        IDXFile.appendUInt32(magic, to: &bytes)
        for d in dimensions { IDXFile.appendUInt32(UInt32(d), to: &bytes) }
        bytes.append(contentsOf: data)
        return bytes
    }

    /// Writes the file atomically; gzip-compressed (reproducibly, mtime 0) when `compressed` is `true`.
    public func write(path: String, compressed: Bool) throws {
        let bytes = compressed ? Gzip.compress(encoded(), level: 9) : encoded()
        try FileSystem.writeAtomically(bytes, to: path)
    }

    // MARK: - Helpers

    /// The product of `dimensions`, or `nil` on overflow.
    static func product(_ dimensions: [Int]) -> Int? {
        var total = 1
        for d in dimensions {
            let (next, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = next
        }
        return total
    }

    /// "10000×28×28".
    static func format(_ dimensions: [Int]) -> String {
        dimensions.map(String.init).joined(separator: "×")
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    private static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: Swift.max(0, 8 - digits.count)) + digits
    }

    private static func hex2(_ value: UInt8) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count < 2 ? "0" + digits : digits
    }

    private static func expectation(_ rank: Int?) -> String {
        switch rank {
        case 3?: return " (expected 0x00000803, unsigned-byte images)"
        case 1?: return " (expected 0x00000801, unsigned-byte labels)"
        case let r?: return " (expected 0x000008\(hex2(UInt8(truncatingIfNeeded: r))))"
        case nil: return ""
        }
    }

    private static func kindHint(_ rank: Int) -> String {
        switch rank {
        case 1: return " (a labels file?)"
        case 3: return " (an images file?)"
        default: return ""
        }
    }
}
