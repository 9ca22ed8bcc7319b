/// The tensors and string metadata of a safetensors file (F32, F16, BF16 or F64 tensors,
/// all held as `Float` in memory; see `TensorDType`).
///
/// Layout (see `docs/CHECKPOINT.md`): an 8-byte little-endian unsigned header
/// length N; N bytes of UTF-8 JSON mapping each tensor name to
/// `{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}` (offsets
/// relative to the first byte after the header) plus an optional
/// `"__metadata__"` object of strings; then the raw little-endian data.
///
/// Reading checks every number in the header against the file before using
/// it, so a malformed or hostile file produces a `CheckpointError`, never a
/// trap or an out-of-bounds read. Writing follows the reference implementation:
/// tensors sorted by name and packed contiguously, header padded with spaces
/// to a multiple of 8 bytes.
public struct SafetensorsFile: Sendable, Equatable {
    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// The `__metadata__` entries (string to string).
    public var metadata: [String: String]
    /// The on-disk dtype of every tensor not stored as F32 (absent means F32): as found
    /// when read, as to be stored when written.
    public var dtypes: [String: TensorDType]

    /// Creates a file's contents from tensors, metadata and the dtypes of tensors not stored as F32.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:], dtypes: [String: TensorDType] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
        self.dtypes = dtypes
    }

    /// The largest header accepted, in bytes (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    /// The reserved header key of the metadata object.
    public static let metadataKey = "__metadata__"

    /// Bits per element of every dtype the safetensors format defines (those of `TensorDType` are loaded).
    static let dtypeBits: [String: Int] = [
        "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
        "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "F64": 64, "I64": 64, "U64": 64, "C64": 64,
    ]

    // MARK: Reading

    /// Reads and validates a safetensors file in one pass.
    ///
    /// - Throws: `CheckpointError` naming `path` (and the tensor, where relevant).
    /// - Parameter ignoring: names of tensors to skip: they are checked like every
    ///   other entry (offsets, byte length for their dtype, which may be any
    ///   safetensors dtype) but not loaded. Used for PyTorch's int64
    ///   `*.num_batches_tracked` counters.
    public static func read(path: String, ignoring: (String) -> Bool = { _ in false }) throws(CheckpointError) -> SafetensorsFile {
        // The bytes and the tensors decoded from them are alive together: twice the file.
        let bytes: [UInt8]
        do { bytes = try Files.readAll(path: path, alive: 2) } catch { throw CheckpointError(error) }
        return try decode(bytes, path: path, ignoring: ignoring)
    }

    /// Decodes and validates the bytes of a safetensors file; `path` only names it in errors.
    ///
    /// - Parameter ignoring: names of tensors to check but not load (see `read(path:ignoring:)`).
    /// - Throws: `CheckpointError` naming `path` (and the tensor, where relevant).
    public static func decode(_ bytes: [UInt8], path: String,
                              ignoring: (String) -> Bool = { _ in false }) throws(CheckpointError) -> SafetensorsFile {
        try decode(bytes, fileSize: bytes.count, path: path, ignoring: ignoring)
    }

    /// The little-endian header length N in the first 8 bytes, or nil when there are fewer.
    static func headerLength(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count >= 8 else { return nil }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        return n
    }

    /// Decodes `bytes`, the first bytes of a file of `fileSize` bytes: all of them, or (for a
    /// header-only read) at least the 8-byte length and the header, with every tensor in
    /// `ignoring` (a loaded tensor's bytes must be there: slicing past them traps). Every
    /// header check runs against `fileSize`; tensor data is read only for the tensors loaded.
    static func decode(_ bytes: [UInt8], fileSize: Int, path: String,
                       ignoring: (String) -> Bool) throws(CheckpointError) -> SafetensorsFile {
        func fail(_ kind: CheckpointError.Kind, tensor: String? = nil, _ reason: String) -> CheckpointError {
            CheckpointError(kind, path: path, tensor: tensor, reason)
        }

        // Header length.
        guard let headerLength64 = headerLength(bytes) else {
            throw fail(.truncated, "file is \(fileSize) bytes, shorter than the 8-byte header length of a safetensors file")
        }
        guard headerLength64 > 0 else { throw fail(.invalidHeader, "header length is 0") }
        guard headerLength64 <= UInt64(maxHeaderLength) else {
            throw fail(.invalidHeader, "header length \(headerLength64) exceeds the \(maxHeaderLength / 1_000_000) MB limit (not a safetensors file?)")
        }
        let headerLength = Int(headerLength64)
        guard headerLength <= fileSize - 8 else {
            throw fail(.truncated, "header length \(headerLength) runs past the end of the file (\(fileSize) bytes)")
        }
        // A header-only caller reads the 8 + N bytes the length announces (the file may have
        // shrunk since its size was taken: then it is too short here).
        guard headerLength <= bytes.count - 8 else {
            throw fail(.truncated, "header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let dataStart = 8 + headerLength
        let dataSize = fileSize - dataStart

        // Header JSON.
        let headerBytes = Array(bytes[8..<dataStart])
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw fail(.invalidHeader, "header is not valid UTF-8 (not a safetensors file?)")
        }
        let header: HeaderJSON
        do {
            header = try HeaderJSON.parse(headerBytes)
        } catch {
            throw fail(.invalidHeader, "header is not valid JSON: \(error.message) at header byte \(error.offset)")
        }
        guard case .object(let members) = header else {
            throw fail(.invalidHeader, "header must be a JSON object, found \(header.typeName)")
        }

        // Entries.
        let tensorCount = members.count - (members.contains { $0.key == metadataKey } ? 1 : 0)
        guard tensorCount <= Limits.maxTensors else {
            throw fail(.invalidHeader, "header lists \(tensorCount) tensors, more than the limit of \(Limits.maxTensors)")
        }
        struct Entry { var name: String; var shape: [Int]; var count: Int; var begin: Int; var end: Int; var dtype: TensorDType?; var load: Bool }
        var entries: [Entry] = []
        entries.reserveCapacity(members.count)
        var metadata: [String: String] = [:]
        var seen = Set<String>()
        for member in members {
            let name = member.key, value = member.value
            guard seen.insert(name).inserted else {
                throw fail(.invalidHeader, "header lists '\(name)' twice")
            }
            if name == metadataKey {
                guard case .object(let pairs) = value else {
                    throw fail(.invalidMetadata, "\(metadataKey) must be an object of strings, found \(value.typeName)")
                }
                for pair in pairs {
                    let key = pair.key, v = pair.value
                    guard case .string(let s) = v else {
                        throw fail(.invalidMetadata, "\(metadataKey) value of '\(key)' must be a string, found \(v.typeName)")
                    }
                    guard metadata.updateValue(s, forKey: key) == nil else {
                        throw fail(.invalidMetadata, "\(metadataKey) lists '\(key)' twice")
                    }
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw fail(.invalidEntry, tensor: name, "header entry must be an object, found \(value.typeName)")
            }
            func field(_ key: String) throws(CheckpointError) -> HeaderJSON {
                guard let v = fields.first(where: { $0.key == key })?.value else {
                    throw fail(.invalidEntry, tensor: name, "header entry has no '\(key)'")
                }
                return v
            }
            // dtype
            guard case .string(let dtype) = try field("dtype") else {
                throw fail(.invalidEntry, tensor: name, "'dtype' must be a string")
            }
            let load = !ignoring(name)
            guard let bits = dtypeBits[dtype] else {
                throw fail(.unsupportedDType, tensor: name, "unknown dtype '\(dtype)'; dyconv reads \(supportedDTypesText)")
            }
            let type = TensorDType(rawValue: dtype)
            guard type != nil || !load else {
                throw fail(.unsupportedDType, tensor: name, "dtype \(dtype) is not supported; dyconv reads \(supportedDTypesText) (convert with tensor.float() before saving)")
            }
            // shape
            guard case .array(let dims) = try field("shape") else {
                throw fail(.invalidEntry, tensor: name, "'shape' must be an array of integers")
            }
            var shape: [Int] = []
            shape.reserveCapacity(dims.count)
            for d in dims {
                guard let v = d.intValue else {
                    throw fail(.invalidEntry, tensor: name, "shape \(HeaderJSON.array(dims).shortText) has a non-integer entry \(d.shortText)")
                }
                guard v >= 0 else {
                    throw fail(.invalidEntry, tensor: name, "shape \(HeaderJSON.array(dims).shortText) has a negative dimension")
                }
                shape.append(v)
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(.invalidEntry, tensor: name, "shape \(CheckpointError.format(shape)) is too large") }
                count = p
            }
            let (bitCount, overflow) = count.multipliedReportingOverflow(by: bits)
            guard !overflow else { throw fail(.invalidEntry, tensor: name, "shape \(CheckpointError.format(shape)) is too large") }
            guard bitCount % 8 == 0 else {
                throw fail(.invalidEntry, tensor: name, "shape \(CheckpointError.format(shape)) of \(dtype) does not fill whole bytes")
            }
            let byteCount = bitCount / 8
            // data_offsets
            guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
                  let begin = offsets[0].intValue, let end = offsets[1].intValue, begin >= 0, end >= 0 else {
                throw fail(.invalidEntry, tensor: name, "'data_offsets' must be two non-negative integers [begin, end]")
            }
            guard begin <= end else {
                throw fail(.invalidOffsets, tensor: name, "data_offsets [\(begin),\(end)]: begin is after end")
            }
            guard end <= dataSize else {
                throw fail(.invalidOffsets, tensor: name, "data_offsets [\(begin),\(end)] run past the end of the data section (\(dataSize) bytes)")
            }
            guard end - begin == byteCount else {
                throw fail(.invalidOffsets, tensor: name, "data_offsets [\(begin),\(end)] span \(end - begin) bytes but \(dtype) shape \(CheckpointError.format(shape)) needs \(byteCount)")
            }
            entries.append(Entry(name: name, shape: shape, count: count, begin: begin, end: end, dtype: type, load: load))
        }

        // The byte ranges must tile the data section exactly, as the reference requires.
        let order = entries.indices.sorted {
            (entries[$0].begin, entries[$0].end, entries[$0].name) < (entries[$1].begin, entries[$1].end, entries[$1].name)
        }
        var cursor = 0
        var previous: String?
        for i in order {
            let e = entries[i]
            if e.begin == e.end { continue }  // an empty tensor occupies no bytes
            if e.begin < cursor, let previous {
                throw fail(.invalidOffsets, tensor: e.name, "data_offsets [\(e.begin),\(e.end)] overlap tensor '\(previous)' (which ends at \(cursor))")
            }
            if e.begin > cursor {
                throw fail(.invalidOffsets, "data section bytes \(cursor)..<\(e.begin) are not covered by any tensor")
            }
            cursor = e.end
            previous = e.name
        }
        if cursor != dataSize {
            throw fail(.invalidOffsets, "data section has \(dataSize) bytes but the tensors cover only \(cursor)")
        }

        // A tensor stored narrower than F32 decodes to more bytes than it occupies (F16: twice):
        // the file's bytes and the decoded tensors must fit the memory budget together.
        var decodedBytes: Int? = bytes.count
        for e in entries where e.load { decodedBytes = CheckedSize.sum(decodedBytes, CheckedSize.product(e.count, 4)) }
        do {
            try Limits.checkMemory(decodedBytes, for: "decoding the tensors of this \(Limits.formatBytes(bytes.count)) file")
        } catch {
            throw fail(.tooLarge, String(describing: error))
        }

        // Data: one bulk copy (F32) or conversion per tensor.
        var tensors: [String: Tensor] = [:]
        var dtypes: [String: TensorDType] = [:]
        tensors.reserveCapacity(entries.count)
        bytes.withUnsafeBytes { raw in
            for e in entries where e.load {
                let type = e.dtype ?? .f32  // a loaded entry always has one (checked above)
                let source = UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.begin)..<(dataStart + e.end)])
                tensors[e.name] = Tensor(shape: e.shape, data: TensorDType.decode(source, as: type))
                if type != .f32 { dtypes[e.name] = type }
            }
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata, dtypes: dtypes)
    }

    /// The dtypes read, for messages: "F32, F16, BF16 or F64".
    static let supportedDTypesText = "F32, F16, BF16 or F64"

    // MARK: Writing

    /// The header JSON (space-padded to a multiple of 8 bytes) and the tensor order of the data section.
    ///
    /// - Throws: `CheckpointError(.invalidEntry)` when a tensor's data does not fill its shape
    ///   or a dtype names no tensor.
    func layout(path: String) throws(CheckpointError) -> (header: [UInt8], order: [String]) {
        if let stray = dtypes.keys.sorted().first(where: { tensors[$0] == nil }) {
            throw CheckpointError(.invalidEntry, path: path, tensor: stray, "has a dtype but no tensor")
        }
        let names = tensors.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += HeaderJSON.quoted(Self.metadataKey) + ":{"
            let keys = metadata.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            json += keys.map { HeaderJSON.quoted($0) + ":" + HeaderJSON.quoted(metadata[$0]!) }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            guard name != Self.metadataKey else {
                throw CheckpointError(.invalidEntry, path: path, tensor: name, "'\(name)' is reserved for metadata and cannot name a tensor")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError(.invalidEntry, path: path, tensor: name, "shape \(CheckpointError.format(t.shape)) has a negative dimension")
            }
            var count = 1
            for d in t.shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw CheckpointError(.invalidEntry, path: path, tensor: name, "shape \(CheckpointError.format(t.shape)) is too large")
                }
                count = p
            }
            guard count == t.data.count else {
                throw CheckpointError(.invalidEntry, path: path, tensor: name, "shape \(CheckpointError.format(t.shape)) needs \(count) values but the tensor holds \(t.data.count)")
            }
            let dtype = dtypes[name] ?? .f32
            guard let end = CheckedSize.sum(offset, CheckedSize.product(count, dtype.byteWidth)) else {
                throw CheckpointError(.invalidEntry, path: path, tensor: name, "shape \(CheckpointError.format(t.shape)) is too large")
            }
            if !first { json += "," }
            first = false
            json += HeaderJSON.quoted(name)
            json += ":{\"dtype\":\"\(dtype.rawValue)\",\"shape\":\(CheckpointError.format(t.shape)),\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var header = Array(json.utf8)
        let padding = (8 - header.count % 8) % 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        guard header.count <= Self.maxHeaderLength else {
            throw CheckpointError(.invalidHeader, path: path, "header would be \(header.count) bytes, over the \(Self.maxHeaderLength / 1_000_000) MB limit")
        }
        return (header, names)
    }

    /// Writes the file atomically by the rules of `Files.writeAtomically(path:_:)` (`<path>.tmp-<pid>`,
    /// fsync, rename, directory fsync).
    ///
    /// Tensors are sorted by name and packed contiguously; the header is padded
    /// with spaces to a multiple of 8 bytes, so every tensor starts 8-byte aligned
    /// in the file. An existing file at `path` is replaced only once the new one is complete.
    /// - Throws: `CheckpointError` naming `path`.
    public func write(path: String) throws(CheckpointError) {
        let (header, order) = try layout(path: path)
        do {
            try Files.writeAtomically(path: path) { append in
                var length = UInt64(header.count).littleEndian
                try withUnsafeBytes(of: &length) { try append($0) }
                try header.withUnsafeBytes { try append($0) }
                for name in order {
                    let data = tensors[name]!.data
                    if let dtype = dtypes[name], dtype != .f32 {
                        try TensorDType.encode(data, as: dtype).withUnsafeBytes { try append($0) }
                        continue
                    }
                    #if _endian(big)
                    let le = data.map { Float(bitPattern: $0.bitPattern.littleEndian) }
                    try le.withUnsafeBytes { try append($0) }
                    #else
                    try data.withUnsafeBytes { try append($0) }
                    #endif
                }
            }
        } catch let error as FileError {
            throw CheckpointError(error)
        } catch {
            throw CheckpointError(.writeFailed, path: path, "\(error)")
        }
    }
}
