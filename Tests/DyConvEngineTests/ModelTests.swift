import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// Whole models against the naive interpreter, and the families.
final class ModelTests: XCTestCase {
    func check(_ d: ModelDescription, batch: Int = 2, seed: UInt64 = 1, tolerance: Float = 2e-4,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let p = NaiveModel.randomParameters(d, seed: seed)
        let m = try Model(description: d, parameters: p)
        let x = randomTensor([batch, d.input.channels, d.input.height, d.input.width], seed: seed + 1)
        for tau: Float? in [nil, 3] {
            let trace = m.forward(x, options: ForwardOptions(temperature: tau))
            let ref = NaiveModel.forward(d, p, x, temperature: tau)
            let scale = max(1, ref.logits.data.map { abs($0) }.max()!)
            XCTAssertLessThan(trace.logits.maxAbsDifference(ref.logits) / scale, tolerance, "\(d.family) τ \(String(describing: tau))",
                              file: file, line: line)
            XCTAssertEqual(trace.layers.map(\.name), d.dynamicConvolutions.map(\.name), file: file, line: line)
            for l in trace.layers {
                for s in 0..<batch {
                    for (a, b) in zip(l.attention(sample: s), ref.pi[l.name]![s]) {
                        XCTAssertEqual(a, b, accuracy: 1e-4, "\(l.name)", file: file, line: line)
                    }
                }
            }
            for s in 0..<batch {
                XCTAssertEqual(Double((0..<trace.classCount).map { trace.probabilities[s, $0] }.reduce(0, +)), 1, accuracy: 1e-5)
            }
        }
    }

    func testDycnnMatchesNaiveInterpreter() throws {
        try check(Families.dycnn(widths: [4, 8, 8]))
        try check(Families.dycnn(widths: [4, 8, 8], routing: .sigmoid))
        try check(Families.dycnn(widths: [4, 8, 8], routing: .static))
    }

    func testResidualAndMobileFamiliesMatchNaiveInterpreter() throws {
        // Small inputs keep the naive interpreter fast; the layer structure is the real one.
        var r = Families.resnet18(classCount: 5, inputSize: 16)
        r.layers = Array(r.layers.prefix(6)) + [.globalAvgPool, .linear(LinearSpec(name: "fc", inFeatures: 64, outFeatures: 5))]
        try check(r, batch: 2)
        var mb = Families.mobilenetV2(widthMultiplier: 0.35, classCount: 5, inputSize: 16)
        mb.layers = Array(mb.layers.prefix(6)) + [.globalAvgPool, .linear(LinearSpec(name: "classifier.1", inFeatures: 16, outFeatures: 5))]
        try check(mb, batch: 2)
    }

    func testBatchEqualsSamplesOneByOne() throws {
        let d = Families.dycnn(widths: [8, 16, 16])
        let m = try Model(description: d, parameters: NaiveModel.randomParameters(d, seed: 3))
        let x = randomTensor([5, 1, 28, 28], seed: 4)
        let batch = m.forward(x)
        for s in 0..<5 {
            let one = m.forward(Naive.sample(x, s))
            XCTAssertLessThan(Naive.sample(batch.logits, s).maxAbsDifference(one.logits), 1e-5)
        }
    }

    func testDepthFirstSlicesEqualOnePiece() throws {
        let d = Families.dycnn(widths: [8, 16, 16], kernels: 3)
        let m = try Model(description: d, parameters: NaiveModel.randomParameters(d, seed: 5))
        let x = randomTensor([7, 1, 28, 28], seed: 6)
        let partners = randomTensor([7, 1, 28, 28], seed: 60)
        for mode in AggregationMode.allCases {
            let options = ForwardOptions(temperature: 2, mode: mode, seed: 9)
            let whole = m.forward(x, options: options, slice: 100, partners: partners)
            for slice in [1, 2, 3, 6] {
                let sliced = m.forward(x, options: options, slice: slice, partners: partners)
                XCTAssertEqual(sliced.batchSize, 7)
                XCTAssertLessThan(sliced.logits.maxAbsDifference(whole.logits), 1e-6, "\(mode) slice \(slice)")
                XCTAssertLessThan(sliced.probabilities.maxAbsDifference(whole.probabilities), 1e-6)
                XCTAssertEqual(sliced.layers.map(\.name), whole.layers.map(\.name))
                for (a, b) in zip(sliced.layers, whole.layers) {
                    XCTAssertEqual(a.attention.count, 7 * 3)
                    for (u, v) in zip(a.attention, b.attention) { XCTAssertEqual(u, v, accuracy: 1e-6, "\(mode) \(a.name)") }
                    for (u, v) in zip(a.applied, b.applied) { XCTAssertEqual(u, v, accuracy: 1e-6, "\(mode) \(a.name)") }
                    for (u, v) in zip(a.logits, b.logits) { XCTAssertEqual(u, v, accuracy: 1e-5, "\(mode) \(a.name)") }
                    for (u, v) in zip(a.entropy, b.entropy) { XCTAssertEqual(u, v, accuracy: 1e-5, "\(mode) \(a.name)") }
                }
            }
        }
        // The shuffles really act (the test would pass trivially if they did nothing).
        let plain = m.forward(x, options: ForwardOptions(temperature: 2), slice: 2)
        for mode in [AggregationMode.shuffleImage, .shuffleAcross] {
            let shuffled = m.forward(x, options: ForwardOptions(temperature: 2, mode: mode, seed: 9), slice: 2, partners: partners)
            XCTAssertGreaterThan(shuffled.logits.maxAbsDifference(plain.logits), 1e-4, "\(mode)")
        }
    }

    func testFamiliesBuildAndRun() throws {
        for name in Families.available {
            let d = try Families.named(name)
            XCTAssertNoThrow(try d.validate(), name)
            XCTAssertEqual(Set(d.parameterShapes().map(\.name)).count, d.parameterShapes().count, name)
        }
        let small = Families.mobilenetV2(widthMultiplier: 0.35, classCount: 10, inputSize: 64)
        let t = Model.seededRandom(small, seed: 1).forward(randomTensor([1, 3, 64, 64], seed: 2))
        XCTAssertEqual(t.layers.count, small.dynamicConvolutions.count)
        XCTAssertTrue(t.logits.isFinite)
        let r = Families.resnet18(classCount: 10, inputSize: 64)
        XCTAssertEqual(Model.seededRandom(r, seed: 1).forward(randomTensor([2, 3, 64, 64], seed: 2)).layers.count, 19)
    }

    func testMultiplyAddsOfDycnn() {
        // stem 28²·16·9, layer1 2·28²·16·16·9, layer2 14²·32·16·9 + 14²·32·32·9, layer3 7²·64·32·9 + 7²·64·64·9, fc 640.
        let convs = 784 * 16 * 9 + 2 * 784 * 16 * 16 * 9 + 196 * 32 * 16 * 9 + 196 * 32 * 32 * 9
            + 49 * 64 * 32 * 9 + 49 * 64 * 64 * 9 + 640
        let attention = [(16, 16, 4), (16, 16, 4), (16, 32, 4), (32, 32, 8), (32, 64, 8), (64, 64, 16)].reduce(0) {
            $0 + $1.0 * $1.2 + $1.2 * 4 + 4 * $1.1 * $1.0 * 9
        }
        XCTAssertEqual(Families.dycnn().multiplyAdds(), convs + attention)
    }

    /// Oracle: a hand count of `dyresnet` 8/16/32 × 3 blocks, K = 4, on 28×28 — the figures
    /// `dyconv describe` prints (its parameters include the BatchNorm running statistics).
    ///
    /// Convolutions, MA = out·H'W'·(in·k²) at the output size (28², 14², 7²):
    ///   conv1 1→8                            8·784·9              =    56,448
    ///   layer1: 6 × 8→8                      6·8·784·72           = 2,709,504
    ///   layer2: 8→16 /2, 5 × 16→16           16·196·(72 + 5·144)  = 2,483,712
    ///           downsample.0 1×1 8→16 /2      16·196·8             =    25,088
    ///   layer3: 16→32 /2, 5 × 32→32          32·49·(144 + 5·288)  = 2,483,712
    ///           downsample.0 1×1 16→32 /2     32·49·16             =    25,088
    ///   fc 32→10                                                    =       320
    ///   static total                                                = 7,783,872
    /// Each dynamic conv adds its attention FCs in·h + h·K (h = max(in/4, 4)) and Σπ_k W_k = K·|W|:
    ///   layer1: 6 × (8·4 + 4·4 + 4·576)                             =    14,112
    ///   layer2: (8·4 + 4·4 + 4·1152) + 5 × (16·4 + 4·4 + 4·2304)    =    51,136
    ///   layer3: (16·4 + 4·4 + 4·4608) + 5 × (32·8 + 8·4 + 4·9216)   =   204,272
    ///   dynamic total                                               = 8,053,392 (+3.5 %)
    /// Parameters, static: conv weights 72 + 6·576 + (1152 + 5·2304) + (4608 + 5·9216) = 66,888,
    ///   downsample.0 128 + 512, BatchNorm 4 tensors × (8 + 6·8 + 7·16 + 7·32) = 1,568,
    ///   fc 320 + 10 → 69,426.
    /// Dynamic: a block conv holds K·|W| + in·h + h·K + K (fc2 bias) instead of |W|:
    ///   6·(2304 + 32 + 16 + 4) + (4608 + 32 + 16 + 4) + 5·(9216 + 64 + 16 + 4)
    ///   + (18,432 + 64 + 16 + 4) + 5·(36,864 + 256 + 32 + 4) = 14,136 + 51,160 + 204,296 = 269,592,
    ///   + conv1 72 + downsample.0 640 + BatchNorm 1,568 + fc 330 → 272,202.
    func testCostOfDyresnet() throws {
        func parameters(_ d: ModelDescription) -> Int { d.parameterShapes().reduce(0) { $0 + $1.shape.reduce(1, *) } }
        let dynamic = try Families.named("dyresnet"), condconv = try Families.named("dyresnet-condconv")
        let twin = try Families.named("dyresnet-static")
        XCTAssertEqual(dynamic.multiplyAdds(), 8_053_392)
        XCTAssertEqual(parameters(dynamic), 272_202)
        XCTAssertEqual(condconv.multiplyAdds(), 8_053_392)   // sigmoid routing: the same tensors and work
        XCTAssertEqual(parameters(condconv), 272_202)
        XCTAssertEqual(twin.multiplyAdds(), 7_783_872)
        XCTAssertEqual(parameters(twin), 69_426)
        // 18 dynamic layers, the 3×3 convs in depth order; the shortcuts stay static.
        let names = (1...3).flatMap { s in (0..<3).flatMap { b in ["layer\(s).\(b).conv1", "layer\(s).\(b).conv2"] } }
        XCTAssertEqual(dynamic.dynamicConvolutions.map(\.name), names)
        XCTAssertEqual(condconv.dynamicConvolutions.map(\.routing), Array(repeating: .sigmoid, count: 18))
        XCTAssertEqual(twin.dynamicConvolutions.count, 0)
        let shapes = Dictionary(uniqueKeysWithValues: dynamic.parameterShapes().map { ($0.name, $0.shape) })
        XCTAssertEqual(shapes["layer2.0.downsample.0.weight"], [16, 8, 1, 1])
        XCTAssertEqual(shapes["layer3.0.conv1.weight"], [4, 32, 16, 3, 3])
        XCTAssertNil(shapes["layer1.0.downsample.0.weight"], "stage 1 keeps its shape: identity shortcut")
        XCTAssertEqual(try dynamic.validate(), [10])
        // ResNet-(6n+2): n blocks per stage give 6n dynamic layers.
        XCTAssertEqual(Families.dyresnet(blocks: 2).dynamicConvolutions.count, 12)
    }

    func testModelRejectsBadParameters() {
        let d = Families.dycnn(widths: [4, 8, 8])
        var p = Model.seededParameters(d, seed: 1)
        p["layer1.0.conv.weight"] = .zeros([4, 4, 4, 3, 2])
        XCTAssertThrowsError(try Model(description: d, parameters: p)) { XCTAssertTrue("\($0)".contains("layer1.0.conv.weight")) }
        p = Model.seededParameters(d, seed: 1)
        p["extra"] = .zeros([1])
        XCTAssertThrowsError(try Model(description: d, parameters: p)) { XCTAssertTrue("\($0)".contains("extra")) }
        p = Model.seededParameters(d, seed: 1)
        p["fc.bias"]!.data[3] = .nan
        XCTAssertThrowsError(try Model(description: d, parameters: p)) { XCTAssertTrue("\($0)".contains("fc.bias")) }
    }
}
