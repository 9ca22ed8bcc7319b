import DyConvEngine

/// Builds an `IDXFile` from its bytes as they arrive (from a file, a gzip stream or memory),
/// checking the header as soon as it is complete, so that nothing is stored beyond what the
/// header declares and nothing is ever requested beyond it plus one byte.
///
/// The limits, all checked before the data buffer is allocated:
/// - magic: two zero bytes, a known element type (only unsigned byte is read), rank 1...255,
///   the expected rank;
/// - the element count (product of the dimensions) is overflow-checked;
/// - an images file (rank 3) has rows and columns of at most `Limits.maxImageSide`;
/// - the data size is at most `Limits.memoryBudget` (`DYCONV_MEMORY_LIMIT_MB`);
/// - the data size agrees with the source: exactly the rest of a raw file or buffer, and no
///   more than a gzip source can expand to (`Gzip.maximumExpansion`);
/// - `checkDimensions`, if set, may refuse the dimensions (e.g. a label count that does not
///   match the images).
/// Trailing data after the declared elements is an error (`.trailingData`), raw or gzip: a
/// file that holds more than its header says is damaged or not what the user thinks it is.
struct IDXAssembler: ByteSink {
    /// What the header declares, once it is complete and accepted.
    struct Layout: Equatable {
        var dimensions: [Int]
        /// Bytes of magic and dimensions: 4 + 4 × rank.
        var headerSize: Int
        /// Bytes of elements: the product of the dimensions.
        var dataSize: Int
    }

    /// The file name used in errors.
    let name: String
    /// If set, a file with another rank is refused.
    let expectedRank: Int?
    /// Called with the accepted dimensions before any data is stored; may throw.
    var checkDimensions: (([Int]) throws -> Void)?

    /// The header bytes received so far (at most 4 + 4 × 255).
    private var header: [UInt8] = []
    /// The accepted header, once complete.
    private(set) var layout: Layout?
    /// The elements received so far (capacity: exactly the declared size).
    private(set) var data: [UInt8] = []
    /// Every byte handed to this assembler: never more than the header's size and data size plus one.
    private(set) var received = 0
    /// The source's size in bytes and whether it is gzip, from `begin`.
    private var sourceSize: Int?
    private var compressed = false

    init(name: String, expectedRank: Int?) {
        self.name = name
        self.expectedRank = expectedRank
    }

    var wanted: Int {
        if let layout { return layout.dataSize - data.count + 1 }
        if header.count < 4 { return 4 - header.count }
        return 4 + 4 * Int(header[3]) - header.count
    }

    mutating func begin(sourceSize: Int?, compressed: Bool) throws {
        self.sourceSize = sourceSize
        self.compressed = compressed
    }

    mutating func append(_ chunk: UnsafeBufferPointer<UInt8>) throws {
        received += chunk.count
        var rest = chunk[...]
        while !rest.isEmpty {
            if let layout {
                guard rest.count <= layout.dataSize - data.count else { throw trailing(layout) }
                data.append(contentsOf: rest)
                return
            }
            let take = Swift.min(wanted, rest.count)
            header.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if header.count == 4 { try checkMagic() }
            if header.count >= 4 && header.count == 4 + 4 * Int(header[3]) { try acceptHeader() }
        }
    }

    /// The assembled file; throws `.truncated` if the header or the data is incomplete.
    mutating func finish() throws -> IDXFile {
        guard let layout else {
            if header.count < 4 {
                throw DataError(.truncated, file: name,
                                "truncated: \(header.count) bytes is too short for an IDX header (at least 8 bytes)")
            }
            let rank = Int(header[3])
            throw DataError(.truncated, file: name,
                            "truncated: IDX header with \(rank) dimensions needs \(4 + 4 * rank) bytes, file has \(header.count)")
        }
        guard data.count == layout.dataSize else {
            throw DataError(.truncated, file: name,
                            "truncated: header says \(IDXFile.format(layout.dimensions)) = \(layout.dataSize) bytes of data, file has \(data.count)")
        }
        let result = IDXFile(validatedDimensions: layout.dimensions, data: data)
        data = []
        return result
    }

    // MARK: - Header

    /// Checks the 4-byte magic `00 00 TT RR`.
    private func checkMagic() throws {
        let magic = UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3])
        let typeCode = header[2]
        let rank = Int(header[3])
        guard header[0] == 0, header[1] == 0, rank > 0 else {
            throw DataError(.badMagic, file: name, "bad magic \(IDXFile.hex(magic)): not an IDX file\(IDXFile.expectation(expectedRank))")
        }
        guard let type = IDXFile.ElementType(rawValue: typeCode) else {
            throw DataError(.badMagic, file: name,
                            "bad magic \(IDXFile.hex(magic)): unknown IDX element type 0x\(IDXFile.hex2(typeCode))\(IDXFile.expectation(expectedRank))")
        }
        guard type == .uint8 else {
            throw DataError(.unsupportedType, file: name,
                            "IDX element type \(type.name) (0x\(IDXFile.hex2(typeCode))) is not supported; only unsigned byte (0x08) is")
        }
        if let expectedRank, rank != expectedRank {
            throw DataError(.badDimensions, file: name,
                            "magic \(IDXFile.hex(magic)) declares \(rank) dimension\(rank == 1 ? "" : "s")\(IDXFile.kindHint(rank)), expected \(expectedRank)\(IDXFile.expectation(expectedRank))")
        }
    }

    /// Decodes the dimensions and applies every limit before the data buffer is allocated.
    private mutating func acceptHeader() throws {
        let rank = Int(header[3])
        let headerSize = 4 + 4 * rank
        var dimensions: [Int] = []
        dimensions.reserveCapacity(rank)
        for axis in 0..<rank {
            let at = 4 + 4 * axis
            dimensions.append(Int(UInt32(header[at]) << 24 | UInt32(header[at + 1]) << 16
                                  | UInt32(header[at + 2]) << 8 | UInt32(header[at + 3])))
        }
        let shape = IDXFile.format(dimensions)
        guard let dataSize = CheckedSize.product(dimensions) else {
            throw DataError(.badDimensions, file: name, "dimensions \(shape) are too large")
        }
        if rank == 3, dimensions[1] > Limits.maxImageSide || dimensions[2] > Limits.maxImageSide {
            throw DataError(.badDimensions, file: name,
                            "images of \(dimensions[1])×\(dimensions[2]) pixels are larger than \(Limits.maxImageSide) pixels a side")
        }
        guard dataSize <= Limits.memoryBudget else {
            throw DataError(.tooLarge, file: name,
                            "header declares \(shape) = \(Limits.formatBytes(dataSize)) of data; the limit is \(Limits.formatBytes(Limits.memoryBudget)) (DYCONV_MEMORY_LIMIT_MB)")
        }
        if let sourceSize {
            if compressed {
                let most = Gzip.maximumExpansion(ofCompressedSize: sourceSize)
                if let total = CheckedSize.sum(headerSize, dataSize), total > most {
                    throw DataError(.truncated, file: name,
                                    "truncated: header says \(shape) = \(dataSize) bytes of data, more than \(sourceSize) bytes of gzip can hold")
                }
            } else {
                let available = sourceSize - headerSize
                if available < dataSize {
                    throw DataError(.truncated, file: name,
                                    "truncated: header says \(shape) = \(dataSize) bytes of data, file has \(available)")
                }
                if available > dataSize {
                    throw DataError(.trailingData, file: name,
                                    "\(available - dataSize) unexpected bytes after the \(shape) = \(dataSize) bytes of data")
                }
            }
        }
        try checkDimensions?(dimensions)
        data.reserveCapacity(dataSize)
        layout = Layout(dimensions: dimensions, headerSize: headerSize, dataSize: dataSize)
    }

    private func trailing(_ layout: Layout) -> DataError {
        DataError(.trailingData, file: name,
                  "\(compressed ? "decompresses to" : "holds") more than the \(IDXFile.format(layout.dimensions)) = \(layout.dataSize) bytes of data its header declares (trailing data is an error; reading stopped there)")
    }
}
