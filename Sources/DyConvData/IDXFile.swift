import DyConvEngine

/// An IDX file (the MNIST container format) holding unsigned bytes.
///
/// Layout: a 4-byte big-endian magic `0x0000TTRR` — two zero bytes, the element
/// type `TT` (0x08 = unsigned byte) and the rank `RR` — followed by `RR`
/// big-endian UInt32 dimension sizes and then the elements in row-major order.
/// Images are `0x00000803` (`[count, rows, cols]`), labels `0x00000801` (`[count]`).
/// Only unsigned-byte files are supported; every other element type is
/// rejected with a clear error. Files may be raw or gzip-compressed. Reading is bounded by the
/// header: every limit is checked before the data is allocated, and data beyond the declared
/// size (raw, or after decompression) is an error, found without reading or inflating it.
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

    /// The size of each dimension, outermost first (read-only: its product is `data.count`, which
    /// `init` checked).
    public private(set) var dimensions: [Int]
    /// The elements, row-major; `data.count` is the product of `dimensions`.
    public private(set) var data: [UInt8]

    /// Creates an IDX value; throws `.invalidArgument` if the sizes disagree or do not fit the format.
    public init(dimensions: [Int], data: [UInt8]) throws {
        guard !dimensions.isEmpty, dimensions.count <= 255 else {
            throw DataError(.invalidArgument, file: "IDXFile", "rank must be 1...255, got \(dimensions.count)")
        }
        guard dimensions.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw DataError(.invalidArgument, file: "IDXFile",
                            "dimensions \(IDXFile.format(dimensions)) must each be in 0...\(UInt32.max)")
        }
        guard let expected = CheckedSize.product(dimensions), expected == data.count else {
            throw DataError(.invalidArgument, file: "IDXFile",
                            "dimensions \(IDXFile.format(dimensions)) do not match \(data.count) data bytes")
        }
        self.dimensions = dimensions
        self.data = data
    }

    /// Creates a value from sizes an `IDXAssembler` (or `init`) already checked.
    init(validatedDimensions dimensions: [Int], data: [UInt8]) {
        self.dimensions = dimensions
        self.data = data
    }

    /// The magic number this value is written with (`0x0000_08RR`).
    public var magic: UInt32 { 0x0800 | UInt32(dimensions.count) }

    /// Reads and validates an IDX file (raw or gzip) at `path`.
    ///
    /// The file is streamed through a fixed buffer into an `IDXAssembler`: the header is checked
    /// against every limit before the data is allocated, and no more than the declared data plus
    /// one byte is read or inflated (see `IDXAssembler` for the limits).
    ///
    /// - Parameter expectedRank: if given, a file with another number of dimensions is rejected.
    /// - Throws: `DataError` naming `path` for a missing/unreadable file, corrupt gzip, bad magic,
    ///   unsupported element type, wrong rank, dimensions beyond the limits, truncated data or
    ///   trailing bytes (raw or after decompression).
    public static func read(path: String, expectedRank: Int? = nil) throws -> IDXFile {
        var assembler = IDXAssembler(name: path, expectedRank: expectedRank)
        return try read(path: path, into: &assembler)
    }

    /// `read(path:expectedRank:)` with the assembler passed in (to set `checkDimensions`, or to
    /// look at what it received after an error).
    static func read(path: String, into assembler: inout IDXAssembler) throws -> IDXFile {
        try ByteSource.feed(file: path, into: &assembler)
        return try assembler.finish()
    }

    /// Parses and validates the bytes of an IDX file, raw or gzip-compressed (magic 1f 8b, or a
    /// `name` ending in `.gz`), with the same checks and limits as `read(path:expectedRank:)`;
    /// `name` is used in errors.
    ///
    /// This is the in-memory entry point (fuzzers, tests, data that did not come from a file).
    public static func parse(_ bytes: [UInt8], name: String, expectedRank: Int? = nil) throws -> IDXFile {
        var assembler = IDXAssembler(name: name, expectedRank: expectedRank)
        return try parse(bytes, into: &assembler)
    }

    /// `parse(_:name:expectedRank:)` with the assembler passed in.
    static func parse(_ bytes: [UInt8], into assembler: inout IDXAssembler) throws -> IDXFile {
        try ByteSource.feed(bytes, name: assembler.name, into: &assembler)
        return try assembler.finish()
    }

    // MARK: - Helpers

    /// "10000×28×28".
    static func format(_ dimensions: [Int]) -> String {
        dimensions.map(String.init).joined(separator: "×")
    }


    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: Swift.max(0, 8 - digits.count)) + digits
    }

    static func hex2(_ value: UInt8) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count < 2 ? "0" + digits : digits
    }

    static func expectation(_ rank: Int?) -> String {
        switch rank {
        case 3?: return " (expected 0x00000803, unsigned-byte images)"
        case 1?: return " (expected 0x00000801, unsigned-byte labels)"
        case let r?: return " (expected 0x000008\(hex2(UInt8(truncatingIfNeeded: r))))"
        case nil: return ""
        }
    }

    static func kindHint(_ rank: Int) -> String {
        switch rank {
        case 1: return " (a labels file?)"
        case 3: return " (an images file?)"
        default: return ""
        }
    }
}
