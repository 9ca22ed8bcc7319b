import Foundation
import XCTest
@testable import DyConvEngine

/// F16, BF16 and F64 tensors: the bit-level conversions, the reader and writer, and the
/// per-tensor narrowing policy of `Checkpoint.write(path:dtype:)`.
final class TensorDTypeTests: CheckpointTestCase {

    // MARK: Conversions, exact oracles

    /// Oracle: IEEE-754 binary16 values worked out by hand from the bit fields
    /// (sign, 5-bit exponent biased by 15, 10-bit fraction), written as exact binary32.
    func testHalfBitPatternsWidenExactly() {
        let table: [(UInt16, UInt32)] = [
            (0x0000, 0x0000_0000),  // +0
            (0x8000, 0x8000_0000),  // −0 keeps its sign
            (0x0001, 0x3380_0000),  // smallest subnormal 2⁻²⁴
            (0x8001, 0xB380_0000),  // −2⁻²⁴
            (0x03FF, 0x387F_C000),  // largest subnormal 1023·2⁻²⁴
            (0x0400, 0x3880_0000),  // smallest normal 2⁻¹⁴
            (0x3C00, 0x3F80_0000),  // 1
            (0xC000, 0xC000_0000),  // −2
            (0x3555, 0x3EAA_A000),  // 0.333251953125
            (0x7BFF, 0x477F_E000),  // largest finite 65504
            (0xFBFF, 0xC77F_E000),  // −65504
            (0x7C00, 0x7F80_0000),  // +inf
            (0xFC00, 0xFF80_0000),  // −inf
            (0x7E00, 0x7FC0_0000),  // quiet NaN
            (0x7C01, 0x7F80_2000),  // signalling NaN: payload kept, still NaN
        ]
        for (half, single) in table {
            XCTAssertEqual(TensorDType.float(fromHalf: half).bitPattern, single, String(half, radix: 16))
        }
        XCTAssertEqual(TensorDType.float(fromHalf: 0x7BFF), 65504)
        XCTAssertEqual(TensorDType.float(fromHalf: 0x0001), 0x1p-24)
    }

    /// Oracle: rounding to nearest, ties to even, worked out on the bit fields.
    func testFloatRoundsToHalfToNearestEven() {
        let table: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000),
            (65504, 0x7BFF),
            (65519.996, 0x7BFF),          // below the midpoint to 65536: stays finite
            (65520, 0x7C00),              // the midpoint, ties to even (the even neighbour is inf)
            (1e6, 0x7C00), (-1e6, 0xFC00), (.infinity, 0x7C00), (-.infinity, 0xFC00),
            (1 + 0x1p-11, 0x3C00),        // tie between 1 and 1+2⁻¹⁰: to even (1)
            (1 + 3 * 0x1p-11, 0x3C02),    // tie between 1+2⁻¹⁰ and 1+2⁻⁹: to even (1+2⁻⁹)
            (1 + 0x1p-11 + 0x1p-20, 0x3C01),  // just above the tie
            (0x1p-14, 0x0400),            // smallest normal
            (0x1p-24, 0x0001),            // smallest subnormal
            (0x1p-25, 0x0000),            // half of it, tie to even: 0
            (0x1p-25 * 1.5, 0x0001),      // above the tie
            (3 * 0x1p-25, 0x0002),        // tie between 1 and 2 subnormal units: to even (2)
            (0x1p-26, 0x0000), (-0x1p-30, 0x8000),
            (Float.leastNonzeroMagnitude, 0x0000),
            (0x1p-14 - 0x1p-25, 0x0400),  // tie between the largest subnormal and 2⁻¹⁴: to even (0x400)
        ]
        for (value, half) in table {
            XCTAssertEqual(TensorDType.halfBits(value), half, "\(value)")
        }
        XCTAssertTrue(TensorDType.float(fromHalf: TensorDType.halfBits(.nan)).isNaN)
        XCTAssertTrue(TensorDType.float(fromHalf: TensorDType.halfBits(Float(bitPattern: 0x7F80_0001))).isNaN,
                      "a NaN whose payload sits below F16's fraction stays NaN, not inf")
    }

    #if !(os(macOS) && arch(x86_64))
    /// Oracle: Swift's own `Float16` (compiler-rt conversions), independent of the bit code.
    /// All 65,536 binary16 patterns widen to the same binary32; binary32 patterns spread over
    /// the whole range (a stride through all 2³² plus every binary16 value, its neighbours
    /// and midpoints) round to the same binary16.
    func testConversionsMatchFloat16() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = TensorDType.float(fromHalf: bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN); continue }
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "F16 \(String(bits, radix: 16))")
        }
        var samples: [Float] = []
        var p: UInt32 = 0
        while true {
            samples.append(Float(bitPattern: p))
            let (next, overflow) = p.addingReportingOverflow(65_521 * 7)
            if overflow { break }
            p = next
        }
        for bits in 0...UInt16.max {
            let v = Float(Float16(bitPattern: bits))
            guard v.isFinite else { continue }
            let up = Float(Float16(bitPattern: bits).nextUp)
            samples += [v, v.nextUp, v.nextDown, up.isFinite ? (v + up) / 2 : v]
        }
        var mismatches = 0
        for v in samples where !v.isNaN {
            if TensorDType.halfBits(v) != Float16(v).bitPattern { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0, "of \(samples.count) binary32 samples")
    }
    #endif

    /// Oracle: bfloat16 is the upper half of binary32, so widening appends 16 zero bits and
    /// narrowing rounds the lower half to nearest, ties to even.
    func testBFloat16() {
        let widen: [(UInt16, UInt32)] = [
            (0x0000, 0), (0x8000, 0x8000_0000), (0x0001, 0x0001_0000) /* subnormal 2⁻¹³³ */,
            (0x3F80, 0x3F80_0000), (0x7F7F, 0x7F7F_0000) /* largest finite ≈ 3.39e38 */,
            (0x7F80, 0x7F80_0000), (0xFF80, 0xFF80_0000), (0x7FC0, 0x7FC0_0000),
        ]
        for (b, single) in widen { XCTAssertEqual(TensorDType.float(fromBFloat16: b).bitPattern, single) }
        let narrow: [(UInt32, UInt16)] = [
            (0x3F80_8000, 0x3F80),  // tie, to even
            (0x3F81_8000, 0x3F82),  // tie, to even (up)
            (0x3F80_8001, 0x3F81),  // above the tie
            (0x3F80_7FFF, 0x3F80),  // below the tie
            (0x7F7F_FFFF, 0x7F80),  // largest binary32 rounds to inf
            (0x8000_0000, 0x8000),
            (0x0000_8000, 0x0000),  // the tie below the smallest subnormal: to even, 0
        ]
        for (single, b) in narrow { XCTAssertEqual(TensorDType.bfloat16Bits(Float(bitPattern: single)), b, String(single, radix: 16)) }
        XCTAssertTrue(TensorDType.float(fromBFloat16: TensorDType.bfloat16Bits(Float(bitPattern: 0x7F80_0001))).isNaN)
        XCTAssertTrue(TensorDType.float(fromBFloat16: TensorDType.bfloat16Bits(Float(bitPattern: 0xFFFF_FFFF))).isNaN)
    }

    /// Oracle: Swift's `Float(Double)` (round to nearest) and the binary64 bit layout.
    func testFloat64DecodesToNearestFloat() {
        let values: [Double] = [0, -0.0, 1, 0.1, -1e-3, 1e300, -1e300, 1e-50, 1e-40, .infinity, -.infinity]
        let bytes = values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt64($0))) } }
        let decoded = bytes.withUnsafeBytes { TensorDType.decode($0, as: .f64) }
        XCTAssertEqual(decoded.map(\.bitPattern), values.map { Float($0).bitPattern })
        XCTAssertEqual(decoded[5], .infinity, "beyond F32's range becomes inf (then a checkpoint rejects it)")
        XCTAssertEqual(decoded[7].bitPattern, 0, "below F32's subnormals becomes +0")
        XCTAssertEqual(decoded[8], Float(1e-40), "an F32 subnormal survives")
        let nan = (0..<8).map { UInt8(truncatingIfNeeded: Double.nan.bitPattern >> (8 * UInt64($0))) }
        XCTAssertTrue(nan.withUnsafeBytes { TensorDType.decode($0, as: .f64) }[0].isNaN)
    }

    // MARK: Container

    /// Every dtype written and read back through the container. Oracle: the byte layout of
    /// the format (dtype strings, element widths 4/2/2/8 in the offsets) and the exact
    /// conversions above for the values.
    func testContainerRoundTripsEveryDType() throws {
        let values: [Float] = [0, -0.0, 1, -2.5, 0.1, 65504, 0x1p-24, 1e-3]
        let types: [String: TensorDType] = ["a": .f16, "b": .bf16, "c": .f64, "d": .f32]
        var file = SafetensorsFile(metadata: ["k": "v"])
        for name in types.keys { file.tensors[name] = Tensor(shape: [2, 4], data: values) }
        file.dtypes = types.filter { $0.value != .f32 }
        let path = directory + "/dtypes.safetensors"
        try file.write(path: path)

        let (header, data) = CheckpointTestSupport.split(CheckpointTestSupport.bytes(of: path))
        var offset = 0
        for name in ["a", "b", "c", "d"] {
            let entry = header[name] as! [String: Any]
            XCTAssertEqual(entry["dtype"] as? String, types[name]!.rawValue)
            let width = ["a": 2, "b": 2, "c": 8, "d": 4][name]!
            XCTAssertEqual(entry["data_offsets"] as? [Int], [offset, offset + 8 * width], name)
            offset += 8 * width
        }
        XCTAssertEqual(data.count, offset)
        // The F16 tensor's bytes: 1.0 is 0x3C00, stored little-endian.
        XCTAssertEqual(Array(data[4..<6]), [0x00, 0x3C])

        let read = try SafetensorsFile.read(path: path)
        XCTAssertEqual(read.dtypes, file.dtypes, "the reader reports each non-F32 dtype it found")
        XCTAssertEqual(read.metadata, ["k": "v"])
        XCTAssertEqual(read.tensors["a"]!.data.map(\.bitPattern), values.map { TensorDType.float(fromHalf: TensorDType.halfBits($0)).bitPattern })
        XCTAssertEqual(read.tensors["b"]!.data.map(\.bitPattern), values.map { TensorDType.float(fromBFloat16: TensorDType.bfloat16Bits($0)).bitPattern })
        XCTAssertEqual(read.tensors["c"]!.data.map(\.bitPattern), values.map(\.bitPattern), "F64 holds every F32 exactly")
        XCTAssertEqual(read.tensors["d"]!.data.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(read.tensors["a"]!.shape, [2, 4])
        // Read and written again: the same bytes.
        try read.write(path: path + ".again")
        XCTAssertEqual(CheckpointTestSupport.bytes(of: path + ".again"), CheckpointTestSupport.bytes(of: path))
    }

    /// A dtype for a tensor that does not exist is a writer error, not silently dropped.
    func testDTypeWithoutTensorIsRefused() {
        let file = SafetensorsFile(tensors: ["a": Tensor(shape: [1], data: [1])], dtypes: ["b": .f16])
        XCTAssertThrowsError(try file.write(path: directory + "/x.safetensors")) {
            let e = $0 as! CheckpointError
            XCTAssertEqual(e.kind, .invalidEntry)
            XCTAssertEqual(e.tensor, "b")
        }
    }

    /// Data length mismatch for each dtype: the offsets must span exactly count × width bytes.
    /// Oracle: 3 elements need 6 (F16, BF16), 24 (F64) and 12 (F32) bytes.
    func testDataLengthMismatchForEachDType() {
        for (dtype, needed, given) in [("F16", 6, 8), ("BF16", 6, 4), ("F64", 24, 12), ("F64", 24, 32), ("F32", 12, 6)] {
            let header = #"{"t":{"dtype":"\#(dtype)","shape":[3],"data_offsets":[0,\#(given)]}}"#
            let path = directory + "/len-\(dtype)-\(given).safetensors"
            CheckpointTestSupport.write(CheckpointTestSupport.assemble(headerText: header, data: [UInt8](repeating: 0, count: given)), to: path)
            XCTAssertThrowsError(try SafetensorsFile.read(path: path)) {
                let e = $0 as! CheckpointError
                XCTAssertEqual(e.kind, .invalidOffsets, "\(dtype) \(given)")
                XCTAssertEqual(e.tensor, "t")
                XCTAssertTrue(e.reason.contains("span \(given) bytes but \(dtype) shape [3] needs \(needed)"), e.reason)
            }
        }
        // An odd byte count cannot hold 2-byte elements, and a huge shape overflows the
        // byte count before anything is read.
        for dtype in ["F16", "BF16", "F64"] {
            let header = #"{"t":{"dtype":"\#(dtype)","shape":[4611686018427387904,4],"data_offsets":[0,2]}}"#
            let path = directory + "/huge-\(dtype).safetensors"
            CheckpointTestSupport.write(CheckpointTestSupport.assemble(headerText: header, data: [0, 0]), to: path)
            XCTAssertThrowsError(try SafetensorsFile.read(path: path)) {
                let e = $0 as! CheckpointError
                XCTAssertEqual(e.kind, .invalidEntry, dtype)
                XCTAssertTrue(e.reason.contains("too large"), e.reason)
            }
        }
    }

    /// Non-finite values: the container loads them from any dtype, as it does from F32, and the
    /// checkpoint rejects them, as it does for F32. Oracle: the F32 behaviour
    /// (`NonFiniteTests`), the same error kind and message shape.
    func testNonFiniteHalfValuesFollowTheF32Policy() throws {
        let base = CheckpointTestSupport.checkpoint()
        let path = directory + "/inf.safetensors"
        try base.write(path: path, dtype: .f16)
        var bytes = CheckpointTestSupport.bytes(of: path)
        let (header, _) = CheckpointTestSupport.split(bytes)
        let entry = header["stem.bn.weight"] as! [String: Any]
        XCTAssertEqual(entry["dtype"] as? String, "F16")
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        let begin = 8 + n + (entry["data_offsets"] as! [Int])[0]
        bytes[begin + 2] = 0x00; bytes[begin + 3] = 0xFC  // element 1 = −inf
        CheckpointTestSupport.write(bytes, to: path)
        XCTAssertEqual(try SafetensorsFile.read(path: path).tensors["stem.bn.weight"]!.data[1], -.infinity)
        XCTAssertThrowsError(try Checkpoint.read(path: path)) {
            let e = $0 as! CheckpointError
            XCTAssertEqual(e.kind, .nonFiniteValue)
            XCTAssertEqual(e.tensor, "stem.bn.weight")
            XCTAssertTrue(e.reason.contains("element 1"), e.reason)
        }
    }

    // MARK: Checkpoint narrowing policy

    /// `write(path:dtype: .f16)` stores every tensor as F16 and the values read back are
    /// within half an F16 unit of the originals. Oracle: the F16 precision bound
    /// |x − x̂| ≤ max(|x|·2⁻¹¹, 2⁻²⁵), stated independently of the conversion code.
    func testCheckpointWrittenAsHalfReadsBackWithinHalfPrecision() throws {
        let original = CheckpointTestSupport.checkpoint()
        let path = directory + "/half.safetensors"
        try original.write(path: path, dtype: .f16)
        let (header, _) = CheckpointTestSupport.split(CheckpointTestSupport.bytes(of: path))
        for (name, value) in header where name != SafetensorsFile.metadataKey {
            XCTAssertEqual((value as! [String: Any])["dtype"] as? String, "F16", name)
        }
        let read = try Checkpoint.read(path: path)
        XCTAssertEqual(read.description, original.description)
        XCTAssertEqual(read.training, original.training)
        XCTAssertEqual(read.metadata, original.metadata)
        for (name, tensor) in original.tensors {
            for (x, y) in zip(tensor.data, read.tensors[name]!.data) {
                XCTAssertLessThanOrEqual(abs(x - y), max(abs(x) * 0x1p-11, 0x1p-25), "\(name): \(x) → \(y)")
            }
        }
        // The data section is exactly half the F32 file's.
        try original.write(path: directory + "/full.safetensors")
        let full = CheckpointTestSupport.split(CheckpointTestSupport.bytes(of: directory + "/full.safetensors")).data.count
        XCTAssertEqual(CheckpointTestSupport.split(CheckpointTestSupport.bytes(of: path)).data.count * 2, full)
    }

    /// The fallback: a tensor with a value F16 would make infinite, and a BatchNorm variance
    /// with a value below F16's normal range, stay F32 (exactly); a weight whose tiny value F16
    /// flushes to 0 is narrowed. Oracle: the policy as docs/CHECKPOINT.md states it.
    func testTensorsF16CannotHoldStayF32() throws {
        var c = CheckpointTestSupport.checkpoint()
        c.tensors["fc.weight"]!.data[3] = 70_000            // > 65504: would become inf
        c.tensors["stem.bn.running_var"]!.data = c.tensors["stem.bn.running_var"]!.data.map(abs)
        c.tensors["stem.bn.running_var"]!.data[0] = 1e-6    // F16 subnormal: few significant bits
        c.tensors["res.bn.running_var"]!.data = c.tensors["res.bn.running_var"]!.data.map { abs($0) + 0.5 }
        c.tensors["stem.conv.weight"]!.data[0] = 1e-9      // flushes to 0, harmless in a weight
        c.tensors["stem.conv.weight"]!.data[1] = -65504    // the largest finite F16 is fine
        let path = directory + "/fallback.safetensors"
        try c.write(path: path, dtype: .f16)
        let (header, _) = CheckpointTestSupport.split(CheckpointTestSupport.bytes(of: path))
        func dtype(_ name: String) -> String? { (header[name] as? [String: Any])?["dtype"] as? String }
        XCTAssertEqual(dtype("fc.weight"), "F32")
        XCTAssertEqual(dtype("stem.bn.running_var"), "F32")
        XCTAssertEqual(dtype("res.bn.running_var"), "F16", "a variance in F16's normal range is narrowed")
        XCTAssertEqual(dtype("stem.conv.weight"), "F16")
        XCTAssertEqual(dtype("fc.bias"), "F16")
        let read = try Checkpoint.read(path: path)
        XCTAssertEqual(read.tensors["fc.weight"], c.tensors["fc.weight"], "kept F32: exact")
        XCTAssertEqual(read.tensors["stem.bn.running_var"], c.tensors["stem.bn.running_var"])
        XCTAssertEqual(read.tensors["stem.conv.weight"]!.data[0], 0)
        XCTAssertEqual(read.tensors["stem.conv.weight"]!.data[1], -65504)
    }

    /// The policy predicate on its own, at the edges. Oracle: F16's limits (65504 largest
    /// finite, 65520 the rounding midpoint to inf, 2⁻¹⁴ smallest normal).
    func testHoldsAtTheEdges() {
        XCTAssertTrue(TensorDType.f16.holds([65504, -65504, 65519], relativePrecision: true))
        XCTAssertFalse(TensorDType.f16.holds([65520], relativePrecision: false))
        XCTAssertFalse(TensorDType.f16.holds([-1e9], relativePrecision: false))
        XCTAssertTrue(TensorDType.f16.holds([0x1p-14, 0, -0.0], relativePrecision: true))
        XCTAssertFalse(TensorDType.f16.holds([0x1p-15], relativePrecision: true))
        XCTAssertTrue(TensorDType.f16.holds([0x1p-15, 1e-12], relativePrecision: false))
        XCTAssertTrue(TensorDType.f16.holds([.infinity, .nan], relativePrecision: true), "already non-finite: not the narrowing's doing")
        XCTAssertTrue(TensorDType.bf16.holds([3e38, 1e-30], relativePrecision: true))
        XCTAssertFalse(TensorDType.bf16.holds([Float.greatestFiniteMagnitude], relativePrecision: false))
        XCTAssertFalse(TensorDType.bf16.holds([0x1p-130], relativePrecision: true))  // an F32 subnormal
        XCTAssertTrue(TensorDType.f32.holds([.leastNonzeroMagnitude], relativePrecision: true))
    }

    /// A training record's per-epoch history survives a round trip and refuses nothing valid.
    /// Oracle: the record written.
    func testTrainingRecordHistoryRoundTrips() throws {
        var c = CheckpointTestSupport.checkpoint()
        c.training!.history = [
            TrainingRecord.Epoch(epoch: 1, temperature: 30, loss: 1.5, trainAccuracy: 0.5, testAccuracy: 0.6,
                                 entropy: ["block.conv": 0.99, "res.conv": 0.9]),
            TrainingRecord.Epoch(epoch: 2, temperature: 15.5, loss: .nan),
            c.training!.asEpoch(temperature: 1),
        ]
        let path = directory + "/history.safetensors"
        try c.write(path: path)
        let read = try Checkpoint.read(path: path)
        XCTAssertEqual(read.training?.history?.count, 3)
        XCTAssertEqual(read.training?.history?[0], c.training!.history![0])
        XCTAssertTrue(read.training?.history?[1].loss?.isNaN ?? false)
        XCTAssertEqual(read.training?.history?[2], c.training!.asEpoch(temperature: 1))
        XCTAssertEqual(read.training?.history?[2].epoch, 3)
    }
}
