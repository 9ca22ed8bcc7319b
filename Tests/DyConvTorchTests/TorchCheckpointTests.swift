import Foundation
import Testing
import DyConvEngine
@testable import DyConvTorch

/// Reads the `torch.save` fixtures written by `tools/make_torch_fixtures.py` (PyTorch 2.15).
///
/// Oracle: each `NAME.pth` comes with `NAME.expected.safetensors`, the float tensors of the same
/// state_dict as PyTorch itself sees them (`tensor.float().contiguous()`, written by
/// `safetensors.torch.save_file`, names without `module.`). The reader must give exactly those
/// values: widening F16/BF16 is exact and F64 → F32 rounds to nearest in both.
@Suite("torch.save checkpoints")
struct TorchCheckpointTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                               "the test bundle has no Fixtures resource folder")
        return url.path + "/" + name
    }

    /// Reads `NAME.pth` and expects its tensors to equal PyTorch's `NAME.expected.safetensors`.
    @discardableResult
    static func expectMatchesPyTorch(_ name: String, skipped: [String],
                                     sourceLocation: SourceLocation = #_sourceLocation) throws -> TorchStateDict {
        let state = try TorchCheckpoint.read(path: fixture(name + ".pth"))
        let oracle = try SafetensorsFile.read(path: fixture(name + ".expected.safetensors"))
        #expect(state.format == .torchZip, sourceLocation: sourceLocation)
        #expect(state.tensors.keys.sorted() == oracle.tensors.keys.sorted(), sourceLocation: sourceLocation)
        for (key, expected) in oracle.tensors {
            #expect(state.tensors[key] == expected, "\(name): tensor \(key)", sourceLocation: sourceLocation)
        }
        #expect(state.skipped == skipped, sourceLocation: sourceLocation)
        return state
    }

    @Test("Conv2d + BatchNorm2d + Linear state_dict equals PyTorch's; num_batches_tracked skipped")
    func plain() throws {
        let state = try Self.expectMatchesPyTorch("plain", skipped: ["bn.num_batches_tracked"])
        #expect(state.tensors["conv.weight"]?.shape == [4, 3, 3, 3])
        #expect(state.tensors.count == 8)  // conv 2, bn 4 float, fc 2
    }

    @Test("state_dict nested beside plain values, with and without DataParallel's module. prefix",
          arguments: ["nested", "nested_model", "nested_net"])
    func nested(name: String) throws {
        try Self.expectMatchesPyTorch(name, skipped: ["bn.num_batches_tracked"])
    }

    @Test("F16, BF16 and F64 tensors become F32 as PyTorch's .float() does; int and bool skipped")
    func dtypes() throws {
        try Self.expectMatchesPyTorch("dtypes", skipped: ["mask", "steps"])
    }

    @Test("Transposed, sliced, strided, expanded and scalar views, and a shared storage, gathered as PyTorch stores them")
    func views() throws {
        let state = try Self.expectMatchesPyTorch("views", skipped: [])
        #expect(state.tensors["transposed"]?.shape == [6, 4])
        #expect(state.tensors["scalar"]?.shape == [])
    }

    @Test("kaijieshi7 Dynamic_conv2d names and shapes (weight [K,out,in,k,k], bias [K,out], attention 1×1 convs)")
    func kaijieshi7() throws {
        let state = try Self.expectMatchesPyTorch("kaijieshi7_dynamic", skipped: ["bn1.num_batches_tracked"])
        #expect(state.tensors["conv1.weight"]?.shape == [4, 4, 3, 3, 3])
        #expect(state.tensors["conv1.bias"]?.shape == [4, 4])
        #expect(state.tensors["conv1.attention.fc1.weight"]?.shape == [1, 3, 1, 1])  // int(3·0.25)+1 = 1
        #expect(state.tensors["conv1.attention.fc2.weight"]?.shape == [4, 1, 1, 1])
        #expect(state.tensors["conv1.attention.fc2.bias"]?.shape == [4])
    }

    @Test("nn.Parameter saved as such (_rebuild_parameter) reads as its data")
    func parameters() throws {
        try Self.expectMatchesPyTorch("parameters", skipped: [])
    }

    @Test("A safetensors state_dict goes through the same entry point")
    func safetensors() throws {
        let path = try Self.fixture("plain.expected.safetensors")
        let state = try TorchCheckpoint.read(path: path)
        #expect(state.format == .safetensors)
        #expect(state.tensors == (try SafetensorsFile.read(path: path)).tensors)
    }

    // MARK: Malformed files: one line each, naming the file and the fault.

    static func expectRefusal(_ path: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let state = try TorchCheckpoint.read(path: path)
            Issue.record("\(path) was read (\(state.tensors.count) tensors); expected an error containing \(fragment)",
                         sourceLocation: sourceLocation)
        } catch {
            let text = error.description
            #expect(text.hasPrefix(path + ": "), "\(text)", sourceLocation: sourceLocation)
            #expect(text.contains(fragment), "\(text)", sourceLocation: sourceLocation)
            #expect(!text.contains("\n"), "\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test("Malformed fixtures give one clear line each", arguments: [
        ("bad_os_system.pth", "data.pkl: refuses the global posix.system"),
        ("bad_eval.pth", "data.pkl: refuses the global __builtin__.eval"),
        ("bad_offset_past_end.pth", "tensor 'w': addresses element 5 (offset 2, shape [4], stride [1]) of storage '0', which has 4"),
        ("bad_stride_past_end.pth", "tensor 'w': addresses element 4 (offset 0, shape [2,2], stride [3,1])"),
        ("bad_shape_overflow.pth", "tensor 'w': has shape [1099511627776,1099511627776], whose size overflows"),
        ("bad_shared_dtypes.pth", "tensor 'b': reads storage '0' as HalfStorage, but 'a' reads it as FloatStorage"),
        ("bad_missing_storage.pth", "tensor 'w': its storage 'data/1' is missing from the archive"),
        ("bad_short_storage.pth", "tensor 'w': its storage 'data/0' holds 16 bytes; its 8 FloatStorage elements need 32"),
        ("bad_big_endian.pth", "is a big-endian torch.save archive"),
    ])
    func malformedFixture(name: String, fragment: String) throws {
        Self.expectRefusal(try Self.fixture(name), fragment)
    }

    static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-torch-\(getpid())-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("A truncated zip, garbage, an empty file, a legacy pickle and a missing file are refused clearly")
    func malformedBytes() throws {
        let plain = Array(try Data(contentsOf: URL(fileURLWithPath: try Self.fixture("plain.pth"))))
        let cases: [(String, [UInt8], String)] = [
            ("truncated.pth", Array(plain.prefix(plain.count / 2)), "is not a readable zip archive (truncated or damaged"),
            ("garbage.pth", Array("hello, torch".utf8), "is neither a torch.save zip archive nor a safetensors file (starts with 68 65 6C 6C)"),
            ("empty.pth", [], "is empty"),
            ("legacy.pth", [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8], "is a legacy (pre-1.6, non-zip) torch.save file"),
        ]
        for (name, bytes, fragment) in cases {
            let path = try Self.temporaryFile(name, bytes)
            defer { try? FileManager.default.removeItem(atPath: path) }
            Self.expectRefusal(path, fragment)
        }
        Self.expectRefusal("/nonexistent/model.pth", "no such file")
    }

    @Test("A flipped byte in a storage fails its CRC-32")
    func damagedStorage() throws {
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try Self.fixture("plain.pth"))))
        // The local header of plain/data/0: 30 fixed bytes, the name, the extra field, then the data.
        let name = Array("plain/data/0".utf8)
        let at = try #require((0...(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name })
        let extra = Int(bytes[at - 2]) | Int(bytes[at - 1]) << 8
        bytes[at + name.count + extra] ^= 0x40
        let path = try Self.temporaryFile("damaged.pth", bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        Self.expectRefusal(path, "entry 'data/0' is damaged (CRC-32 ")
    }
}

/// The restricted unpickler on hand-written pickles (the opcodes as `pickletools` lists them).
@Suite("Restricted unpickler")
struct RestrictedUnpicklerTests {
    static func refusal(_ bytes: [UInt8]) -> String? {
        do { _ = try RestrictedUnpickler.load(bytes); return nil } catch { return error.reason }
    }

    @Test("Plain values: ints of every width, floats, strings, tuples, memo, OrderedDict")
    func plainValues() throws {
        // {"a": (1, -2, 300, 70000, -5 (LONG1), 1.5, True, None)} via PROTO 2, EMPTY_DICT, BINPUT, ...
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x8C, 0x01, 0x61, 0x28]
        p += [0x4B, 0x01, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0x2C, 0x01, 0x4A, 0x70, 0x11, 0x01, 0x00, 0x8A, 0x01, 0xFB]
        p += [0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0x88, 0x4E, 0x74, 0x73, 0x2E]
        let value = try RestrictedUnpickler.load(p)
        guard case .dict(let box) = value, let (key, tuple) = box.items.first, case .string("a") = key,
              case .tuple(let items, _) = tuple, items.count == 8 else {
            Issue.record("unexpected \(value.kindName)"); return
        }
        let ints = items.prefix(5).compactMap { if case .int(let n) = $0 { n } else { nil } }
        #expect(ints == [1, -2, 300, 70000, -5])
        if case .float(let x) = items[5] { #expect(x == 1.5) } else { Issue.record("not a float") }
    }

    @Test("Refusals name the global or opcode", arguments: [
        // STACK_GLOBAL of builtins.exec
        ([0x80, 0x04, 0x8C, 0x08] + Array("builtins".utf8) + [0x8C, 0x04] + Array("exec".utf8) + [0x93, 0x2E],
         "refuses the global builtins.exec"),
        // INST (protocol 0 object creation)
        ([0x80, 0x02, 0x69] + Array("os\nsystem\n".utf8), "opcode 0x69 ('i') at byte 2 is not one a state_dict uses"),
        ([0x80, 0x02, 0x68, 0x05, 0x2E], "memo entry 5 is read before it is written"),
        ([0x80, 0x02, 0x7D], "without STOP (truncated)"),
        ([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "runs past the end"),
        ([0x80, 0x02, 0x74, 0x2E], "a MARK is missing"),
        ([0x80, 0x02, 0x8A, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x2E], "does not fit 64 bits"),
        ([0x80, 0x02, 0x4E, 0x29, 0x52, 0x2E], "REDUCE at byte 4 calls None"),
        ([0x80, 0x02] + [UInt8](repeating: 0x28, count: 300), "MARKs nest deeper than 256"),
        // ((((…)))) 10 000 deep: freeing such a value recursively overflows the stack when deep enough.
        ([0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 10_000), "containers nest deeper than 64"),
        // [[…]]: 100 EMPTY_LISTs, then 99 APPENDs, each putting the top list into the one below
        ([0x80, 0x02] + [UInt8](repeating: 0x5D, count: 100) + [UInt8](repeating: 0x61, count: 99), "nest deeper than 64"),
        // L = [], memo 0, M = [L], then L.append(1): L was sealed inside M
        ([0x80, 0x02, 0x5D, 0x71, 0x00, 0x85, 0x30, 0x68, 0x00, 0x4B, 0x01, 0x61, 0x2E], "after it was nested in another"),
        // L = [], L.append(L)
        ([0x80, 0x02, 0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E], "a list contains itself"),
    ] as [([UInt8], String)])
    func refusals(bytes: [UInt8], fragment: String) {
        let reason = Self.refusal(bytes)
        #expect(reason?.contains(fragment) == true, "\(reason ?? "accepted")")
    }
}
