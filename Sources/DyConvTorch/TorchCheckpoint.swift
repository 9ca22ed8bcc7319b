import CZlibSystem
import DyConvEngine
import Foundation
import ZIPFoundation

/// The floating-point tensors of a PyTorch state_dict, as F32, and what was left out.
public struct TorchStateDict: Sendable, Equatable {
    /// The container a state_dict came from.
    public enum Format: String, Sendable, Equatable {
        /// A `torch.save` zip archive (PyTorch ≥ 1.6).
        case torchZip
        /// A safetensors file.
        case safetensors
    }

    /// The float tensors by name (`module.` prefixes removed), widened or rounded to F32.
    public var tensors: [String: Tensor]
    /// The names of the integer and bool tensors not loaded (`bn.num_batches_tracked`, …), sorted.
    public var skipped: [String]
    /// The container read.
    public var format: Format

    /// Creates a result from its tensors, the names skipped and the container.
    public init(tensors: [String: Tensor], skipped: [String], format: Format) {
        self.tensors = tensors
        self.skipped = skipped
        self.format = format
    }
}

/// Reads the state_dict of a PyTorch checkpoint without Python: a `torch.save` zip archive or a
/// safetensors file, told apart by their first bytes.
///
/// A `torch.save` archive is a zip (read with ZIPFoundation) holding `<name>/data.pkl`, a pickle
/// of the saved object in which every tensor is `_rebuild_tensor_v2(storage, offset, size,
/// stride, …)` and every storage a persistent id naming `<name>/data/<key>`, the raw
/// little-endian elements. `data.pkl` goes through `RestrictedUnpickler`, which knows only the
/// opcodes and globals a state_dict uses and refuses any other global by name without running
/// anything: a checkpoint is untrusted input, and `pickle.load` of one runs arbitrary code.
///
/// The state_dict may be the saved object itself or one value of a dict around it
/// (`{"epoch": 3, "state_dict": …}`, `{"model": …}`, `{"net": …}`). Every fault is one
/// `CheckpointError` line naming the file: sizes are overflow-checked and bounded by `Limits`
/// before anything is allocated; a view's offset and strides are checked against its storage.
public enum TorchCheckpoint {
    /// The dict keys under which training scripts commonly nest a state_dict, tried in order.
    public static let nestingKeys = ["state_dict", "model", "net", "model_state_dict", "state"]

    /// The prefix `nn.DataParallel` puts on every name; removed.
    public static let dataParallelPrefix = "module."

    /// The largest `byteorder` entry read ("little" or "big").
    static let maxByteorderBytes = 16

    /// Reads the float tensors of the state_dict in the file at `path` (`torch.save` zip or
    /// safetensors), widening F16/BF16 and rounding F64 to F32; integer and bool tensors are
    /// skipped and listed in `TorchStateDict.skipped`.
    ///
    /// - Throws: `CheckpointError` naming `path`, one line: a missing or unreadable file, a
    ///   damaged zip, a refused pickle global or opcode, a big-endian archive, a view past the end
    ///   of its storage, a shape whose size overflows, a storage read with two dtypes, a missing
    ///   storage entry, a file that is neither format.
    public static func read(path: String) throws(CheckpointError) -> TorchStateDict {
        let head: [UInt8]
        do { head = try Files.readPrefix(path: path, count: 9).bytes } catch { throw CheckpointError(error) }
        if head.isEmpty { throw CheckpointError(.truncated, path: path, "is empty") }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try readZip(path: path) }
        // safetensors: an 8-byte header length, then the JSON header's '{'.
        if head.count == 9 && head[8] == UInt8(ascii: "{") { return try readSafetensors(path: path) }
        if head[0] == 0x80 {
            throw CheckpointError(.unsupportedDType, path: path,
                                  "is a legacy (pre-1.6, non-zip) torch.save file; load it and save it again with PyTorch ≥ 1.6")
        }
        let shown = head.prefix(4).map { String(format: "%02X", $0) }.joined(separator: " ")
        throw CheckpointError(.invalidHeader, path: path,
                              "is neither a torch.save zip archive nor a safetensors file (starts with \(shown))")
    }

    // MARK: Names

    /// `name` without a leading `module.` (DataParallel).
    static func stripped(_ name: String) -> String {
        name.hasPrefix(dataParallelPrefix) ? String(name.dropFirst(dataParallelPrefix.count)) : name
    }

    /// Inserts `tensor` under its stripped name; two names that strip to one are an error.
    static func insert(_ tensor: Tensor, as name: String, into tensors: inout [String: Tensor], path: String) throws(CheckpointError) {
        let key = stripped(name)
        guard tensors[key] == nil else {
            throw CheckpointError(.invalidEntry, path: path, tensor: name, "is named '\(key)' without 'module.', as another tensor is")
        }
        tensors[key] = tensor
    }

    // MARK: safetensors

    private static func readSafetensors(path: String) throws(CheckpointError) -> TorchStateDict {
        // The engine's reader checks and skips the named tensors in any dtype; PyTorch's only
        // integer parameters-buffers in a state_dict are BatchNorm's step counters.
        var skipped = Set<String>()
        let file = try SafetensorsFile.read(path: path) { name in
            guard name.hasSuffix("num_batches_tracked") else { return false }
            skipped.insert(stripped(name))
            return true
        }
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in file.tensors { try insert(tensor, as: name, into: &tensors, path: path) }
        return TorchStateDict(tensors: tensors, skipped: skipped.sorted(), format: .safetensors)
    }

    // MARK: torch.save zip

    private static func readZip(path: String) throws(CheckpointError) -> TorchStateDict {
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw CheckpointError(.truncated, path: path, "is not a readable zip archive (truncated or damaged: \(error))")
        }
        var entries: [String: Entry] = [:]
        for entry in archive {
            guard entries.count <= Limits.maxTensors + 64 else {
                throw CheckpointError(.tooLarge, path: path, "holds more than \(Limits.maxTensors + 64) zip entries")
            }
            entries[entry.path] = entry
        }
        // torch.save puts everything under one folder, named after the file when it was saved.
        let pickles = entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let pickleName = pickles.first, let pickleEntry = entries[pickleName] else {
            throw CheckpointError(.invalidHeader, path: path, pickles.isEmpty
                ? "is a zip archive without <name>/data.pkl, not a torch.save file"
                : "is a zip archive with \(pickles.count) data.pkl entries; torch.save writes one")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))

        if let order = entries[prefix + "byteorder"] {
            let text = String(decoding: try extract(order, from: archive, limit: maxByteorderBytes, name: "byteorder", path: path), as: UTF8.self)
            guard text == "little" else {
                throw CheckpointError(.unsupportedDType, path: path, text == "big"
                    ? "is a big-endian torch.save archive; dyconv reads little-endian ones only (save it on a little-endian machine)"
                    : "has byteorder '\(text.prefix(16))'; expected 'little'")
            }
        }

        let pickle = try extract(pickleEntry, from: archive, limit: RestrictedUnpickler.maxPickleBytes, name: "data.pkl", path: path)
        let root: PickleValue
        do { root = try RestrictedUnpickler.load(pickle) } catch { throw CheckpointError(.invalidHeader, path: path, "data.pkl: \(error.reason)") }
        let items = try stateDict(in: root, path: path)

        // Check every tensor against its storage's declared size before reading any storage.
        var plan: [String: [(name: String, ref: TensorRef, count: Int)]] = [:]
        var storageTypes: [String: (storage: StorageRef, by: String)] = [:]
        var skipped: [String] = []
        var floats: Int? = 0
        var names = Set<String>()
        for (name, value) in items {
            guard case .tensor(let ref) = value else {
                throw CheckpointError(.invalidEntry, path: path, tensor: name, "is \(value.kindName), not a tensor")
            }
            guard names.insert(name).inserted else {
                throw CheckpointError(.invalidEntry, path: path, tensor: name, "appears twice in the state_dict")
            }
            // Views of one storage must agree on its type and size: the storage is decoded once,
            // by the first view's reading, and every view's indices are checked against that.
            if let seen = storageTypes[ref.storage.key] {
                guard seen.storage.type == ref.storage.type else {
                    throw CheckpointError(.unsupportedDType, path: path, tensor: name,
                        "reads storage '\(ref.storage.key)' as \(ref.storage.type.name), but '\(seen.by)' reads it as \(seen.storage.type.name)")
                }
                guard seen.storage.count == ref.storage.count else {
                    throw CheckpointError(.invalidOffsets, path: path, tensor: name,
                        "gives storage '\(ref.storage.key)' \(ref.storage.count) elements, but '\(seen.by)' gives it \(seen.storage.count)")
                }
            } else {
                storageTypes[ref.storage.key] = (ref.storage, name)
            }
            let count = try elementCount(ref, name: name, path: path)
            guard ref.storage.type.float != nil else { skipped.append(stripped(name)); continue }
            plan[ref.storage.key, default: []].append((name, ref, count))
            floats = CheckedSize.sum(floats, count)
        }

        // Memory: every tensor, plus the largest storage's bytes and its F32 decoding, alive at once.
        var largestStorage: Int? = 0
        for views in plan.values {
            guard let storage = views.first?.ref.storage else { continue }
            let bytes = CheckedSize.product(storage.count, CheckedSize.sum(storage.type.width, 4))
            largestStorage = bytes.flatMap { b in largestStorage.map { max($0, b) } }
        }
        do {
            try Limits.checkMemory(CheckedSize.sum(CheckedSize.product(floats, 4), largestStorage), for: "the tensors of \(path)")
        } catch { throw CheckpointError(.tooLarge, path: path, error.message) }

        var tensors: [String: Tensor] = [:]
        for key in plan.keys.sorted() {
            guard let views = plan[key], let storage = views.first?.ref.storage, let dtype = storage.type.float else { continue }
            guard let entry = entries[prefix + "data/" + key] else {
                throw CheckpointError(.invalidEntry, path: path, tensor: views[0].name,
                                      "its storage 'data/\(key)' is missing from the archive")
            }
            guard let needed = CheckedSize.product(storage.count, storage.type.width) else {
                throw CheckpointError(.invalidOffsets, path: path, tensor: views[0].name,
                    "its storage 'data/\(key)' declares \(storage.count) elements, whose size overflows")
            }
            // torch.save writes exactly the storage's bytes; anything else is not its file.
            guard entry.uncompressedSize == UInt64(needed) else {
                throw CheckpointError(.invalidOffsets, path: path, tensor: views[0].name,
                    "its storage 'data/\(key)' holds \(entry.uncompressedSize) bytes; its \(storage.count) \(storage.type.name) elements need \(needed)")
            }
            let raw = try extract(entry, from: archive, limit: needed, name: "data/\(key)", path: path)
            let values = raw.withUnsafeBytes { TensorDType.decode(UnsafeRawBufferPointer(rebasing: $0[..<needed]), as: dtype) }
            for view in views {
                try insert(Tensor(shape: view.ref.shape, data: gather(values, view.ref, count: view.count)),
                           as: view.name, into: &tensors, path: path)
            }
        }
        return TorchStateDict(tensors: tensors, skipped: skipped.sorted(), format: .torchZip)
    }

    /// The (name, value) pairs of the state_dict: the root dict when it holds tensors, else the
    /// dict under the first of `nestingKeys` (or the only dict of tensors) beside plain values.
    static func stateDict(in root: PickleValue, path: String) throws(CheckpointError) -> [(String, PickleValue)] {
        func named(_ value: PickleValue) throws(CheckpointError) -> [(String, PickleValue)]? {
            guard case .dict(let box) = value else { return nil }
            var out: [(String, PickleValue)] = []
            for (key, item) in box.items {
                guard case .string(let name) = key else { return nil }
                out.append((name, item))
            }
            return out
        }
        func holdsTensors(_ items: [(String, PickleValue)]) -> Bool {
            items.contains { if case .tensor = $0.1 { true } else { false } }
        }
        guard let top = try named(root) else {
            throw CheckpointError(.invalidHeader, path: path, "holds \(root.kindName), not a state_dict (a dict of tensors)")
        }
        if holdsTensors(top) || top.isEmpty { return top }
        let nested = top.compactMap { (key, value) -> (String, [(String, PickleValue)])? in
            guard let inner = try? named(value), holdsTensors(inner) else { return nil }
            return (key, inner)
        }
        for key in nestingKeys { if let hit = nested.first(where: { $0.0 == key }) { return hit.1 } }
        if nested.count == 1, let only = nested.first { return only.1 }
        let keys = top.map { "'\($0.0)'" }.joined(separator: ", ")
        throw CheckpointError(.invalidHeader, path: path, nested.isEmpty
            ? "holds a dict without tensors (keys \(keys)); expected a state_dict, or one under \(nestingKeys.joined(separator: "/"))"
            : "holds \(nested.count) dicts of tensors (\(nested.map(\.0).joined(separator: ", "))); none is named \(nestingKeys.joined(separator: "/"))")
    }

    /// The elements of a view, after checking that its shape's size fits the limits and that
    /// every element it addresses lies inside its storage's declared element count.
    static func elementCount(_ ref: TensorRef, name: String, path: String) throws(CheckpointError) -> Int {
        let shapeText = CheckpointError.format(ref.shape)
        guard ref.shape.count == ref.stride.count else {
            throw CheckpointError(.invalidEntry, path: path, tensor: name,
                                  "has shape \(shapeText) but \(ref.stride.count) strides")
        }
        guard let count = CheckedSize.product(ref.shape) else {
            throw CheckpointError(.invalidEntry, path: path, tensor: name, "has shape \(shapeText), whose size overflows")
        }
        guard count <= Limits.maxTensorElements else {
            throw CheckpointError(.tooLarge, path: path, tensor: name,
                                  "has \(count) elements; the limit is \(Limits.maxTensorElements)")
        }
        guard ref.offset >= 0, ref.stride.allSatisfy({ $0 >= 0 }) else {
            throw CheckpointError(.invalidOffsets, path: path, tensor: name,
                                  "has a negative storage offset or stride (offset \(ref.offset), stride \(CheckpointError.format(ref.stride)))")
        }
        guard count > 0 else { return 0 }
        // The last element addressed: offset + Σ (size − 1) · stride.
        var last: Int? = ref.offset
        for (size, stride) in zip(ref.shape, ref.stride) { last = CheckedSize.sum(last, CheckedSize.product(size - 1, stride)) }
        guard let last, last < ref.storage.count else {
            throw CheckpointError(.invalidOffsets, path: path, tensor: name,
                "addresses element \(last.map(String.init) ?? "past Int.max") (offset \(ref.offset), shape \(shapeText), stride \(CheckpointError.format(ref.stride))) of storage '\(ref.storage.key)', which has \(ref.storage.count)")
        }
        return count
    }

    /// The view's elements in row-major order: one slice when it is contiguous (strides of a
    /// row-major layout, ignoring dimensions of size 1), else gathered element by element.
    /// `elementCount` has checked every index against `storage`.
    static func gather(_ storage: [Float], _ ref: TensorRef, count: Int) -> [Float] {
        guard count > 0 else { return [] }
        var expected = 1
        var contiguous = true
        for (size, stride) in zip(ref.shape, ref.stride).reversed() {
            if size != 1 && stride != expected { contiguous = false; break }
            expected *= size
        }
        if contiguous { return Array(storage[ref.offset..<(ref.offset + count)]) }
        let rank = ref.shape.count
        var index = [Int](repeating: 0, count: rank)
        var out = [Float]()
        out.reserveCapacity(count)
        var at = ref.offset
        for _ in 0..<count {
            out.append(storage[at])
            // Odometer over the shape, innermost dimension fastest.
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                at += ref.stride[d]
                if index[d] < ref.shape[d] { break }
                at -= ref.stride[d] * ref.shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    private static func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16, uppercase: true) }

    /// The bytes of a zip entry, refusing one that declares or yields more than `limit`.
    static func extract(_ entry: Entry, from archive: Archive, limit: Int, name: String, path: String) throws(CheckpointError) -> [UInt8] {
        guard entry.uncompressedSize <= UInt64(limit) else {
            throw CheckpointError(.tooLarge, path: path, "entry '\(name)' is \(entry.uncompressedSize) bytes; at most \(limit) expected")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(entry.uncompressedSize))
        do {
            // ZIPFoundation's CRC-32 is byte-at-a-time Swift: 0.6 s of a 0.7 s read of a 46 MB
            // .pth in a debug build. zlib's vectorised crc32 checks the same sum below.
            _ = try archive.extract(entry, skipCRC32: true) { chunk in
                // A deflated entry may inflate past its declared size: stop at the limit.
                guard out.count + chunk.count <= limit else { throw CocoaError(.fileReadTooLarge) }
                out.append(contentsOf: chunk)
            }
        } catch {
            throw CheckpointError(.truncated, path: path, "entry '\(name)' cannot be read (\(error))")
        }
        // The callers slice by the declared size: an entry that yields less is damaged.
        guard out.count == Int(entry.uncompressedSize) else {
            throw CheckpointError(.truncated, path: path, "entry '\(name)' yields \(out.count) bytes; the archive says \(entry.uncompressedSize)")
        }
        let sum = out.withUnsafeBufferPointer { buffer in
            // zlib takes a UInt32 length: sum in chunks (entries may exceed 4 GiB).
            var crc = crc32(0, nil, 0)
            var start = 0
            while start < buffer.count {
                let n = min(buffer.count - start, 1 << 30)
                crc = crc32(crc, buffer.baseAddress.map { $0 + start }, uInt(n))
                start += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
        guard sum == entry.checksum else {
            throw CheckpointError(.truncated, path: path, "entry '\(name)' is damaged (CRC-32 \(hex(sum)), the archive says \(hex(entry.checksum)))")
        }
        return out
    }
}
