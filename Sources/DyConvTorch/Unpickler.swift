import DyConvEngine

/// A storage type `torch.save` names in a persistent id (`torch.FloatStorage`, …): how its
/// elements are laid out, and whether dyconv loads tensors viewing it.
struct TorchStorageType: Equatable, Sendable {
    /// The name after `torch.`, e.g. "FloatStorage".
    var name: String
    /// Bytes per element.
    var width: Int
    /// The float type the elements are decoded from; nil for integer and bool storages,
    /// whose tensors (`num_batches_tracked`, masks) are skipped.
    var float: TensorDType?

    /// Every storage type a state_dict may name (torch/storage.py's typed storages); complex and
    /// quantized ones are refused like any other unknown global.
    static let known: [String: TorchStorageType] = {
        let table: [(String, Int, TensorDType?)] = [
            ("FloatStorage", 4, .f32), ("HalfStorage", 2, .f16), ("BFloat16Storage", 2, .bf16),
            ("DoubleStorage", 8, .f64), ("LongStorage", 8, nil), ("IntStorage", 4, nil),
            ("ShortStorage", 2, nil), ("CharStorage", 1, nil), ("ByteStorage", 1, nil), ("BoolStorage", 1, nil),
        ]
        return Dictionary(uniqueKeysWithValues: table.map { ($0.0, TorchStorageType(name: $0.0, width: $0.1, float: $0.2)) })
    }()
}

/// A storage reference from a persistent id: `("storage", torch.FloatStorage, "0", "cpu", numel)`.
struct StorageRef: Equatable, Sendable {
    var type: TorchStorageType
    /// The archive entry `<prefix>/data/<key>`.
    var key: String
    /// Elements in the storage, as the pickle declares them (checked against the entry's size).
    var count: Int
}

/// A tensor as `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)` describes it.
struct TensorRef: Equatable, Sendable {
    var storage: StorageRef
    var offset: Int
    var shape: [Int]
    var stride: [Int]
}

/// The only globals a state_dict pickle needs; everything else is refused by name.
enum PickleGlobal: Equatable, Sendable {
    case orderedDict
    case rebuildTensor
    case rebuildParameter
    case storageType(TorchStorageType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch", _):
            guard let type = TorchStorageType.known[name] else { return nil }
            self = .storageType(type)
        default: return nil
        }
    }
}

/// A mutable container, shared by every reference to it (the memo and the stack), as in Python:
/// SETITEMS after BINPUT must fill the memoized dict too.
final class PickleBox<Element> {
    var items: [Element] = []
    /// Containers nested in it, plus one (see `RestrictedUnpickler.maxDepth`).
    var depth = 1
    /// Set once the container is put inside another: from then on it may not change, so the
    /// depth of the container around it stays true.
    var sealed = false
}

/// A value the restricted unpickler builds: plain data, references to allowed globals, and tensors.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple([PickleValue], depth: Int)
    case list(PickleBox<PickleValue>)
    case dict(PickleBox<(PickleValue, PickleValue)>)
    case global(PickleGlobal)
    case storage(StorageRef)
    case tensor(TensorRef)

    /// Containers nested in the value, itself included (0 for a scalar, 1 for a tensor's references).
    var depth: Int {
        switch self {
        case .tuple(_, let depth): depth
        case .list(let box): box.depth
        case .dict(let box): box.depth
        case .tensor: 1
        default: 0
        }
    }

    /// What the value is, for error messages ("a string", "a tensor", …).
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int: "an integer"
        case .float: "a float"
        case .string: "a string"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .global: "a class or function"
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

/// The fault of a pickle, without the file prefix (the caller wraps it in a `CheckpointError`).
struct PickleError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A restricted unpickler for the `data.pkl` of a `torch.save` archive.
///
/// It interprets only the opcodes a state_dict pickle uses (protocol 2 as torch writes it, plus
/// the protocol-4 framing and string opcodes) and resolves only `PickleGlobal`'s globals. It
/// never imports, calls or constructs anything outside those: REDUCE of `_rebuild_tensor_v2`
/// becomes a `TensorRef`, REDUCE of `OrderedDict()` an empty dict. Any other global (`os.system`,
/// `builtins.eval`, a model class) is refused by its dotted name before anything else happens.
/// Sizes are bounded: the pickle's length, the memo, the stack, the MARK nesting, the tensors.
struct RestrictedUnpickler {
    /// The largest `data.pkl` read (a state_dict of 60 000 tensors pickles to a few MB).
    static let maxPickleBytes = 64 << 20
    /// The most values on the stack and in the memo, each.
    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20
    /// The deepest MARK nesting (torch nests three).
    static let maxMarks = 256
    /// The deepest nesting of tuples, lists and dicts (a state_dict nests about five): freeing a
    /// value nested a million deep would overflow the thread's stack.
    static let maxDepth = 64

    private let bytes: [UInt8]
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var tensors = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The pickled object, or the first fault.
    static func load(_ bytes: [UInt8]) throws(PickleError) -> PickleValue {
        guard bytes.count <= maxPickleBytes else {
            throw PickleError("is \(bytes.count) bytes; the limit is \(maxPickleBytes)")
        }
        var unpickler = RestrictedUnpickler(bytes)
        return try unpickler.run()
    }

    private mutating func run() throws(PickleError) -> PickleValue {
        while true {
            let at = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                     // PROTO n
            case 0x95: _ = try take(8)                                    // FRAME (protocol 4): length only
            case 0x2E:                                                    // STOP
                guard marks.isEmpty, stack.count == 1, let top = stack.last else {
                    throw PickleError("STOP at byte \(at) with \(stack.count) values on the stack")
                }
                return top
            case 0x28:                                                    // MARK
                guard marks.count < Self.maxMarks else { throw PickleError("MARKs nest deeper than \(Self.maxMarks)") }
                marks.append(stack.count)
            case 0x4E: try push(.none)                                    // NONE
            case 0x88: try push(.bool(true))                              // NEWTRUE
            case 0x89: try push(.bool(false))                             // NEWFALSE
            case 0x4B: try push(.int(Int(try byte())))                    // BININT1
            case 0x4D: try push(.int(Int(try littleEndian(2))))           // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
            case 0x8A: try push(.int(try long1()))                        // LONG1
            case 0x47: try push(.float(Double(bitPattern: try bigEndian(8))))  // BINFLOAT
            case 0x58: try push(.string(try string(length: Int(try littleEndian(4)))))      // BINUNICODE
            case 0x8D: try push(.string(try string(length: try count(try littleEndian(8))))) // BINUNICODE8
            case 0x8C: try push(.string(try string(length: Int(try byte()))))               // SHORT_BINUNICODE
            case 0x29: try push(.tuple([], depth: 1))                     // EMPTY_TUPLE
            case 0x5D: try push(.list(PickleBox()))                       // EMPTY_LIST
            case 0x7D: try push(.dict(PickleBox()))                       // EMPTY_DICT
            case 0x74: try push(try tuple(try popMark()))                 // TUPLE
            case 0x85, 0x86, 0x87:                                        // TUPLE1/2/3
                try push(try tuple(try pop(Int(op) - 0x84)))
            case 0x6C:                                                    // LIST
                let box = PickleBox<PickleValue>()
                try nest(try popMark(), in: box, at: at)
                try push(.list(box))
            case 0x64:                                                    // DICT
                let box = PickleBox<(PickleValue, PickleValue)>()
                try nest(try pairs(try popMark()), in: box, at: at)
                try push(.dict(box))
            case 0x61:                                                    // APPEND
                let value = try pop(1)
                try nest(value, in: try list(at: at), at: at)
            case 0x65:                                                    // APPENDS
                let values = try popMark()
                try nest(values, in: try list(at: at), at: at)
            case 0x73:                                                    // SETITEM
                let kv = try pairs(try pop(2))
                try nest(kv, in: try dict(at: at), at: at)
            case 0x75:                                                    // SETITEMS
                let kv = try pairs(try popMark())
                try nest(kv, in: try dict(at: at), at: at)
            case 0x71: try put(Int(try byte()))                           // BINPUT
            case 0x72: try put(Int(try littleEndian(4)))                  // LONG_BINPUT
            case 0x94: try put(memo.count)                                // MEMOIZE
            case 0x68: try get(Int(try byte()))                           // BINGET
            case 0x6A: try get(Int(try littleEndian(4)))                  // LONG_BINGET
            case 0x30: _ = try pop(1)                                     // POP
            case 0x31: _ = try popMark()                                  // POP_MARK
            case 0x32: guard let top = stack.last else { throw empty(at) }; try push(top)  // DUP
            case 0x63:                                                    // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(.global(try resolve(module: module, name: name)))
            case 0x93:                                                    // STACK_GLOBAL
                let names = try pop(2)
                guard case .string(let module) = names[0], case .string(let name) = names[1] else {
                    throw PickleError("STACK_GLOBAL at byte \(at) without two strings")
                }
                try push(.global(try resolve(module: module, name: name)))
            case 0x51:                                                    // BINPERSID
                try push(.storage(try storage(try pop(1)[0])))
            case 0x52:                                                    // REDUCE
                let callArgs = try pop(2)
                try push(try reduce(callArgs[0], callArgs[1], at: at))
            case 0x62:                                                    // BUILD
                // OrderedDict's state is its `_metadata` attribute (module versions); dyconv
                // has no use for it. BUILD on anything else would set an object's state: refused.
                let state = try pop(1)[0]
                guard case .dict = stack.last, case .dict = state else {
                    throw PickleError("BUILD at byte \(at) sets the state of \(stack.last?.kindName ?? "nothing"); only a state_dict's metadata is accepted")
                }
            default:
                throw PickleError("opcode \(Self.describe(op)) at byte \(at) is not one a state_dict uses; refused")
            }
        }
    }

    // MARK: Globals and calls

    private func resolve(module: String, name: String) throws(PickleError) -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw PickleError("refuses the global \(module).\(name): a state_dict needs only tensors, storages and OrderedDict (nothing was executed)")
        }
        return global
    }

    private mutating func reduce(_ callable: PickleValue, _ arguments: PickleValue, at: Int) throws(PickleError) -> PickleValue {
        guard case .global(let global) = callable, case .tuple(let args, _) = arguments else {
            throw PickleError("REDUCE at byte \(at) calls \(callable.kindName); only allowed globals may be called")
        }
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw PickleError("OrderedDict at byte \(at) called with arguments") }
            return .dict(PickleBox())
        case .rebuildTensor:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                  let shape = Self.integers(args[2]), let stride = Self.integers(args[3]) else {
                throw PickleError("_rebuild_tensor_v2 at byte \(at) without (storage, offset, size, stride)")
            }
            guard tensors < Limits.maxTensors else { throw PickleError("holds more than \(Limits.maxTensors) tensors") }
            tensors += 1
            return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, stride: stride))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks): an nn.Parameter is its data for dyconv.
            guard let data = args.first, case .tensor = data else {
                throw PickleError("_rebuild_parameter at byte \(at) without a tensor")
            }
            return data
        case .storageType(let type):
            throw PickleError("REDUCE at byte \(at) calls torch.\(type.name); refused")
        }
    }

    /// The storage of a persistent id `("storage", torch.XStorage, key, location, numel)`.
    private func storage(_ pid: PickleValue) throws(PickleError) -> StorageRef {
        guard case .tuple(let parts, _) = pid, parts.count == 5, case .string("storage") = parts[0],
              case .global(.storageType(let type)) = parts[1], case .string(let key) = parts[2],
              case .int(let count) = parts[4], count >= 0 else {
            throw PickleError("a persistent id is not (\"storage\", torch.<Type>Storage, key, location, numel)")
        }
        return StorageRef(type: type, key: key, count: count)
    }

    private static func integers(_ value: PickleValue) -> [Int]? {
        guard case .tuple(let items, _) = value else { return nil }
        var out: [Int] = []
        for item in items {
            guard case .int(let n) = item else { return nil }
            out.append(n)
        }
        return out
    }

    // MARK: Nesting

    /// A tuple of `items`, sealing the containers among them.
    private func tuple(_ items: [PickleValue]) throws(PickleError) -> PickleValue {
        var depth = 1
        for item in items { depth = max(depth, try seal(item) + 1) }
        return .tuple(items, depth: depth)
    }

    /// Seals `value` if it is a container and returns its depth, refusing one nested too deep.
    private func seal(_ value: PickleValue) throws(PickleError) -> Int {
        switch value {
        case .list(let box): box.sealed = true
        case .dict(let box): box.sealed = true
        default: break
        }
        guard value.depth < Self.maxDepth else {
            throw PickleError("containers nest deeper than \(Self.maxDepth) before byte \(position)")
        }
        return value.depth
    }

    private func nest(_ items: [PickleValue], in box: PickleBox<PickleValue>, at: Int) throws(PickleError) {
        try checkOpen(box.sealed, box.items.count + items.count, at: at)
        for item in items {
            if case .list(let inner) = item, inner === box { throw PickleError("a list contains itself at byte \(at)") }
            box.depth = max(box.depth, try seal(item) + 1)
        }
        box.items += items
    }

    private func nest(_ items: [(PickleValue, PickleValue)], in box: PickleBox<(PickleValue, PickleValue)>, at: Int) throws(PickleError) {
        try checkOpen(box.sealed, box.items.count + items.count, at: at)
        for (key, value) in items {
            if case .dict(let inner) = value, inner === box { throw PickleError("a dict contains itself at byte \(at)") }
            box.depth = max(box.depth, try seal(key) + 1, try seal(value) + 1)
        }
        box.items += items
    }

    private func checkOpen(_ sealed: Bool, _ count: Int, at: Int) throws(PickleError) {
        guard !sealed else { throw PickleError("a container changes at byte \(at) after it was nested in another; a state_dict never does that") }
        guard count <= Self.maxStack else { throw PickleError("a container grows past \(Self.maxStack) items") }
    }

    // MARK: Stack and memo

    private mutating func push(_ value: PickleValue) throws(PickleError) {
        guard stack.count < Self.maxStack else { throw PickleError("the stack grows past \(Self.maxStack) values") }
        stack.append(value)
    }

    private mutating func pop(_ n: Int) throws(PickleError) -> [PickleValue] {
        let floor = marks.last ?? 0
        guard stack.count - floor >= n else { throw empty(position - 1) }
        let values = Array(stack[(stack.count - n)...])
        stack.removeLast(n)
        return values
    }

    private mutating func popMark() throws(PickleError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw PickleError("a MARK is missing before byte \(position - 1)") }
        let values = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return values
    }

    private func empty(_ at: Int) -> PickleError { PickleError("opcode at byte \(at) finds too few values on the stack") }

    private func pairs(_ flat: [PickleValue]) throws(PickleError) -> [(PickleValue, PickleValue)] {
        guard flat.count % 2 == 0 else { throw PickleError("a dict is filled with an odd number of values") }
        return stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }

    private func dict(at: Int) throws(PickleError) -> PickleBox<(PickleValue, PickleValue)> {
        guard case .dict(let box) = stack.last else {
            throw PickleError("SETITEM(S) at byte \(at) on \(stack.last?.kindName ?? "nothing"), not a dict")
        }
        return box
    }

    private func list(at: Int) throws(PickleError) -> PickleBox<PickleValue> {
        guard case .list(let box) = stack.last else {
            throw PickleError("APPEND(S) at byte \(at) on \(stack.last?.kindName ?? "nothing"), not a list")
        }
        return box
    }

    private mutating func put(_ index: Int) throws(PickleError) {
        guard let top = stack.last else { throw empty(position - 1) }
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw PickleError("the memo grows past \(Self.maxMemo) values") }
        memo[index] = top
    }

    private mutating func get(_ index: Int) throws(PickleError) {
        guard let value = memo[index] else { throw PickleError("memo entry \(index) is read before it is written") }
        try push(value)
    }

    // MARK: Bytes

    private mutating func byte() throws(PickleError) -> UInt8 {
        guard position < bytes.count else { throw PickleError("ends at byte \(bytes.count) without STOP (truncated)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws(PickleError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else {
            throw PickleError("a \(n)-byte field at byte \(position) runs past the end (\(bytes.count) bytes)")
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func littleEndian(_ n: Int) throws(PickleError) -> UInt64 {
        var value: UInt64 = 0
        for (k, b) in try take(n).enumerated() { value |= UInt64(b) << (8 * UInt64(k)) }
        return value
    }

    private mutating func bigEndian(_ n: Int) throws(PickleError) -> UInt64 {
        var value: UInt64 = 0
        for b in try take(n) { value = value << 8 | UInt64(b) }
        return value
    }

    /// LONG1: a little-endian two's-complement integer of at most 8 bytes (larger is refused).
    private mutating func long1() throws(PickleError) -> Int {
        let n = Int(try byte())
        guard n <= 8 else { throw PickleError("a \(n)-byte integer at byte \(position - 2) does not fit 64 bits") }
        guard n > 0 else { return 0 }
        let raw = try littleEndian(n)
        let shift = UInt64(64 - 8 * n)
        return Int(bitPattern: UInt(raw << shift)) >> shift  // sign-extend from n bytes
    }

    private func count(_ n: UInt64) throws(PickleError) -> Int {
        guard n <= UInt64(bytes.count) else { throw PickleError("a string of \(n) bytes is longer than the pickle") }
        return Int(n)
    }

    private mutating func string(length: Int) throws(PickleError) -> String {
        let raw = try take(length)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw PickleError("a string at byte \(position - length) is not UTF-8")
        }
        return s
    }

    /// A newline-terminated ASCII line (GLOBAL's module and name), at most 256 bytes.
    private mutating func line() throws(PickleError) -> String {
        var raw: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            guard raw.count < 256, b >= 0x20, b < 0x7F else { throw PickleError("a GLOBAL name at byte \(position - 1) is not a short ASCII line") }
            raw.append(b)
        }
        return String(decoding: raw, as: UTF8.self)
    }

    /// An opcode as "0x69 ('i')" for error messages.
    static func describe(_ op: UInt8) -> String {
        let hex = "0x" + String(op, radix: 16, uppercase: true)
        return op >= 0x20 && op < 0x7F ? "\(hex) ('\(Character(Unicode.Scalar(op)))')" : hex
    }
}
