import Foundation
import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// Every number of an architecture or a safetensors header is untrusted: `validate()` and the
/// reader bound them (`Limits`) with overflow-checked arithmetic, so a hostile value gives one
/// error line, never a trap, a corrupted heap or an allocation of terabytes (issue 8, items 4 and 7).
final class ArchitectureLimitsTests: CheckpointTestCase {
    /// Oracle: `validate()` throws one `ModelDescriptionError` line holding every fragment.
    func assertInvalid(_ d: ModelDescription, _ fragments: [String], line: UInt = #line) {
        do {
            try d.validate()
            XCTFail("validate() accepted an invalid description; expected \(fragments)", line: line)
        } catch let error as ModelDescriptionError {
            XCTAssertFalse(error.message.contains("\n"), error.message, line: line)
            for f in fragments { XCTAssertTrue(error.message.contains(f), "'\(f)' not in: \(error.message)", line: line) }
        } catch {
            XCTFail("expected ModelDescriptionError, got \(error)", line: line)
        }
    }

    /// The small test network with its stem conv (layer 0) changed.
    func withStem(_ edit: (inout ConvSpec) -> Void) -> ModelDescription {
        var d = CheckpointTestSupport.smallDescription()
        guard case .conv(var c) = d.layers[0] else { fatalError("layer 0 is the stem conv") }
        edit(&c)
        d.layers[0] = .conv(c)
        return d
    }

    static let hostile = [1 << 61, 1 << 62, Int.max, Int.max - 1, 9_007_199_254_740_993, Limits.maxImageSide + 1,
                          -1, Int.min]

    func testHugeConvGeometryIsAValidationError() {
        for v in Self.hostile {
            assertInvalid(withStem { $0.padding = v }, ["stem.conv", "padding \(v)"])
            assertInvalid(withStem { $0.stride = v }, ["stem.conv", "stride \(v)"])
            assertInvalid(withStem { $0.kernel = v }, ["stem.conv"])
            assertInvalid(withStem { $0.outChannels = v }, [])   // stem.conv, or stem.bn for 16 385
            assertInvalid(withStem { $0.groups = v }, ["stem.conv"])
        }
        var pool = CheckpointTestSupport.smallDescription()
        for v in Self.hostile {
            pool.layers[7] = .maxPool(PoolSpec(kernel: 2, stride: v))
            assertInvalid(pool, ["pool", "stride \(v)"])
            pool.layers[7] = .maxPool(PoolSpec(kernel: v, stride: 2, padding: v))
            assertInvalid(pool, ["pool"])
        }
    }

    /// 2⁵³ + 1 is not exact as a double: the decoder must keep the integer, and validation refuse it.
    func testPaddingNotExactAsADoubleIsDecodedExactlyAndRefused() throws {
        let json = CheckpointTestSupport.smallDescription().jsonString()
        let first = try XCTUnwrap(json.range(of: "\"padding\":1"))
        let hostile = json.replacingCharacters(in: first, with: "\"padding\":9007199254740993")
        let d = try ModelDescription.fromJSON(hostile)
        guard case .conv(let stem) = d.layers[0] else { return XCTFail("layer 0 is the stem conv") }
        XCTAssertEqual(stem.padding, 9_007_199_254_740_993)
        assertInvalid(d, ["stem.conv", "padding 9007199254740993"])
    }

    /// Through the file: one `invalidArchitecture` line naming the file and the layer.
    func testCheckpointWithHugeGeometryIsRefusedOnRead() throws {
        for v in [1 << 62, 9_007_199_254_740_993] {
            let valid = path("valid-\(v).safetensors")
            try CheckpointTestSupport.checkpoint().write(path: valid)
            var file = try SafetensorsFile.read(path: valid)
            file.metadata["dyconv.architecture"] = withStem { $0.padding = v }.jsonString()
            let bad = path("padding-\(v).safetensors")
            try file.write(path: bad)
            assertError(.invalidArchitecture, file: bad, contains: ["stem.conv", "padding \(v)"]) { _ = try Checkpoint.read(path: bad) }
        }
    }

    /// Issue 8 item 7: a stem padding of 10 000 on dycnn asked for a 25.7 GB activation.
    func testStemPaddingOf10000IsRefusedWithTheFigure() {
        var d = Families.dycnn()
        guard case .conv(var stem) = d.layers[0] else { return XCTFail("layer 0 is the stem conv") }
        stem.padding = 10_000
        d.layers[0] = .conv(stem)
        assertInvalid(d, ["stem.conv", "output side 20026"])
        XCTAssertThrowsError(try Model(description: d, parameters: [:]))
    }

    /// Ten 1×1 convolutions of 46 340 channels: every tensor fits `maxTensorElements`, but the
    /// weights alone are 85.9 GB, over the largest budget (64 GiB): refused with the figure.
    func testModelOverTheMemoryBudgetIsRefusedWithTheFigure() {
        let c = 46_340
        let layers: [LayerSpec] = (0..<10).map {
            .conv(ConvSpec(name: "c\($0)", inChannels: c, outChannels: c, kernel: 1))
        }
        let d = ModelDescription(family: "wide", input: InputSpec(channels: c, height: 1, width: 1),
                                 normalization: Normalization(mean: Array(repeating: 0, count: c), std: Array(repeating: 1, count: c)),
                                 classes: [], layers: layers)
        let bytes = d.estimatedInferenceBytes(batch: 1)
        XCTAssertGreaterThan(bytes ?? .max, 85_000_000_000)
        assertInvalid(d, ["needs about 8", "GB; the limit is"])
    }

    func testResidualNestingIsBoundedBeforeRecursing() {
        func nested(_ depth: Int) -> ModelDescription {
            var body: [LayerSpec] = [.activation(.relu)]
            for _ in 0..<depth { body = [.residual(body: body, shortcut: [])] }
            return ModelDescription(family: "deep", input: InputSpec(channels: 1, height: 2, width: 2),
                                    normalization: Normalization(mean: [0], std: [1]), classes: [], layers: body)
        }
        XCTAssertNoThrow(try nested(Limits.maxNesting).validate())
        assertInvalid(nested(Limits.maxNesting + 1), ["nest deeper than \(Limits.maxNesting)"])
        assertInvalid(nested(5_000), ["nest deeper than \(Limits.maxNesting)"])
    }

    func testLayerCountIsBounded() {
        func flat(_ n: Int) -> ModelDescription {
            ModelDescription(family: "long", input: InputSpec(channels: 1, height: 2, width: 2),
                             normalization: Normalization(mean: [0], std: [1]), classes: [],
                             layers: Array(repeating: .activation(.relu), count: n))
        }
        XCTAssertNoThrow(try flat(Limits.maxLayers).validate())
        assertInvalid(flat(Limits.maxLayers + 1), ["more than \(Limits.maxLayers) layers"])
    }

    /// The decoder recurses once per JSON level: the depth is checked by a byte scan first.
    /// Oracle: an error, where the unchecked decoder recursed 10⁶ levels deep (stack overflow).
    func testDeeplyNestedArchitectureJSONIsRefusedBeforeDecoding() throws {
        let brackets = String(repeating: "[", count: 1_000_000)
        XCTAssertThrowsError(try ModelDescription.fromJSON(brackets)) { XCTAssertTrue("\($0)".contains("nests deeper")) }
        var residual = #"{"op":"activation","kind":"relu"}"#
        for _ in 0..<200 { residual = #"{"op":"residual","body":[\#(residual)]}"# }
        let text = #"{"family":"x","input":{"channels":1,"height":2,"width":2},"normalization":{"mean":[0],"std":[1]},"classes":[],"layers":[\#(residual)]}"#
        XCTAssertThrowsError(try ModelDescription.fromJSON(text)) { XCTAssertTrue("\($0)".contains("nests deeper")) }
        // Brackets inside strings do not count.
        let quoted = CheckpointTestSupport.smallDescription()
        var named = quoted
        named.family = String(repeating: "[{", count: 500)
        XCTAssertEqual(try ModelDescription.fromJSON(named.jsonString()), named)

        let valid = path("valid.safetensors")
        try CheckpointTestSupport.checkpoint().write(path: valid)
        var file = try SafetensorsFile.read(path: valid)
        file.metadata["dyconv.architecture"] = text
        let deep = path("deep.safetensors")
        try file.write(path: deep)
        assertError(.invalidArchitecture, file: deep, contains: ["nests deeper"]) { _ = try Checkpoint.read(path: deep) }

        // The training record goes through the same recursive decoder.
        var record = try SafetensorsFile.read(path: valid)
        record.metadata["dyconv.training"] = String(repeating: "[", count: 1_000_000)
        let deepRecord = path("deep-record.safetensors")
        try record.write(path: deepRecord)
        assertError(.invalidMetadata, file: deepRecord, contains: ["dyconv.training", "nests deeper"]) {
            _ = try Checkpoint.read(path: deepRecord)
        }
    }

    /// Structure-aware sweep: every integer field of every layer set to each hostile value.
    /// Oracle: `validate()` throws or passes, never traps; on a pass, the size functions the
    /// engine uses afterwards (estimate, multiply-adds, output shape) are computed without a trap.
    func testEveryIntegerFieldTakesEveryHostileValueWithoutATrap() {
        let values = Self.hostile + [0, 1, 2, 3, 7, 8, Limits.maxImageSide, Limits.maxChannels, Limits.maxChannels + 1, 1 << 31]
        let base = CheckpointTestSupport.smallDescription()
        var variants: [ModelDescription] = []
        for v in values {
            for field in 0..<3 {
                var d = base
                switch field {
                case 0: d.input.channels = v
                case 1: d.input.height = v
                default: d.input.width = v
                }
                variants.append(d)
            }
            for (i, layer) in base.layers.enumerated() {
                func put(_ l: LayerSpec) { var d = base; d.layers[i] = l; variants.append(d) }
                switch layer {
                case .conv(let c):
                    for field in 0..<8 {
                        var e = c
                        switch field {
                        case 0: e.inChannels = v
                        case 1: e.outChannels = v
                        case 2: e.kernel = v
                        case 3: e.stride = v
                        case 4: e.padding = v
                        case 5: e.groups = v
                        case 6: e.kernels = v
                        default: e.attention?.hidden = v
                        }
                        put(.conv(e))
                    }
                case .batchNorm(var b): b.channels = v; put(.batchNorm(b))
                case .maxPool(let p), .avgPool(let p):
                    put(.maxPool(PoolSpec(kernel: v, stride: p.stride, padding: p.padding)))
                    put(.avgPool(PoolSpec(kernel: p.kernel, stride: v, padding: p.padding)))
                    put(.maxPool(PoolSpec(kernel: p.kernel, stride: p.stride, padding: v)))
                case .linear(var l):
                    l.inFeatures = v; put(.linear(l))
                    l = LinearSpec(name: l.name, inFeatures: 8, outFeatures: v); put(.linear(l))
                default: break
                }
            }
        }
        var passed = 0
        for d in variants {
            guard (try? d.validate()) != nil else { continue }
            passed += 1
            XCTAssertNotNil(d.estimatedInferenceBytes(batch: 1))
            XCTAssertGreaterThan(d.multiplyAdds(), 0)
            XCTAssertFalse(d.outputShape.isEmpty)
        }
        XCTAssertGreaterThan(passed, 10, "some variants are valid (e.g. padding 0 or 2)")
    }

    /// The largest valid stride: the implicit-GEMM plan sized a slot table by stride² (2 GB for
    /// 16 384), where it needs one slot per used phase (≤ k²). Oracle: the naive convolution,
    /// and the process's peak memory grows by less than 500 MB.
    func testLargestStrideRunsWithoutAStrideSquaredTable() throws {
        let conv = ConvSpec(name: "c", inChannels: 8, outChannels: 4, kernel: 3, stride: Limits.maxImageSide, padding: 1)
        let d = ModelDescription(family: "stride", input: InputSpec(channels: 8, height: 5, width: 5),
                                 normalization: Normalization(mean: Array(repeating: 0, count: 8), std: Array(repeating: 1, count: 8)),
                                 classes: [], layers: [.conv(conv)])
        func peakBytes() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_maxrss * 1024
        }
        let before = peakBytes()
        let p = NaiveModel.randomParameters(d, seed: 1)
        let m = try Model(description: d, parameters: p)
        let x = randomTensor([2, 8, 5, 5], seed: 2)
        let y = m.forward(x)
        XCTAssertEqual(y.outputShape, [4, 1, 1])
        XCTAssertLessThan(y.logits.maxAbsDifference(NaiveModel.forward(d, p, x).logits.reshaped([2, 4])), 1e-4)
        XCTAssertLessThan(peakBytes() - before, 500 << 20)
    }

    // MARK: The safetensors container

    func testHeaderWithTooManyTensorsOrValuesIsRefused() {
        let entry = #"{"dtype":"F32","shape":[0],"data_offsets":[0,0]}"#
        let many = (0...Limits.maxTensors).map { #""t\#($0)":\#(entry)"# }.joined(separator: ",")
        let tensors = path("tensors.safetensors")
        CheckpointTestSupport.write(CheckpointTestSupport.assemble(headerText: "{\(many)}", data: []), to: tensors)
        assertError(.invalidHeader, file: tensors, contains: ["\(Limits.maxTensors + 1) tensors"]) {
            _ = try SafetensorsFile.read(path: tensors)
        }
        let zeros = Array(repeating: "0", count: 1 << 21).joined(separator: ",")
        let values = path("values.safetensors")
        CheckpointTestSupport.write(CheckpointTestSupport.assemble(
            headerText: #"{"t":{"dtype":"F32","shape":[\#(zeros)],"data_offsets":[0,0]}}"#, data: []), to: values)
        assertError(.invalidHeader, file: values, contains: ["more than 2097152 values"]) {
            _ = try SafetensorsFile.read(path: values)
        }
    }

    /// A sparse 100 GB file: refused from its size, before a byte is read or allocated.
    func testFileLargerThanTheMemoryBudgetIsRefusedBeforeReading() throws {
        let big = path("big.safetensors")
        CheckpointTestSupport.write([], to: big)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: big))
        try handle.truncate(atOffset: 100_000_000_000)
        try handle.close()
        assertError(.tooLarge, file: big, contains: ["100.0 GB", "the limit is"]) { _ = try Checkpoint.read(path: big) }
    }
}
