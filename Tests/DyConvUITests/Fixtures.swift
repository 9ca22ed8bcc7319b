import Foundation
import XCTest
import DyConvEngine
@testable import DyConvUI

/// Hand-built inputs for the pure UI core: checkpoint summaries, a dataset summary, and a
/// deterministic stand-in for the forward pass (so render/update tests need no model).
enum Fixture {
    static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    static let layerNames = ["layer1.0.conv", "layer1.1.conv", "layer2.0.conv", "layer2.1.conv", "layer3.0.conv", "layer3.1.conv"]

    static func layers(_ routing: Routing, kernels: Int = 4, temperature: Float = 1) -> [LayerSummary] {
        layerNames.map { LayerSummary(name: $0, routing: routing, kernels: kernels, trainedTemperature: temperature) }
    }

    /// Mean H/lnK of layer `l` after epoch `e` in `epochs`: 1 − l·e/40 (flat low layers, the
    /// top layer sparser with every epoch), for the training history's heat map.
    static func epochEntropy(_ e: Int) -> [String: Float] {
        Dictionary(uniqueKeysWithValues: layerNames.enumerated().map { ($0.element, 1 - Float($0.offset * e) / 40) })
    }

    static let epochs: [EpochSummary] = [
        EpochSummary(epoch: 1, epochs: 4, temperature: 30, trainAccuracy: 0.61, testAccuracy: 0.70, loss: 1.1, layerEntropy: epochEntropy(1)),
        EpochSummary(epoch: 2, epochs: 4, temperature: 10.5, trainAccuracy: 0.78, testAccuracy: 0.80, loss: 0.7, layerEntropy: epochEntropy(2)),
        EpochSummary(epoch: 3, epochs: 4, temperature: 3.2, trainAccuracy: 0.84, testAccuracy: 0.85, loss: 0.5, layerEntropy: epochEntropy(3)),
        EpochSummary(epoch: 4, epochs: 4, temperature: 1, trainAccuracy: 0.88, testAccuracy: 0.87, loss: 0.4, layerEntropy: epochEntropy(4)),
    ]

    static let dynamic = CheckpointSummary(name: "dycnn-dynamic", family: "dycnn", layers: layers(.softmax),
                                           classes: classNames, epochs: epochs,
                                           training: EpochSummary(epoch: 4, epochs: 4, temperature: 1, testAccuracy: 0.87,
                                                                  layerEntropy: epochEntropy(4)))
    static let condconv = CheckpointSummary(name: "dycnn-condconv", family: "dycnn", layers: layers(.sigmoid), classes: classNames)
    static let staticNet = CheckpointSummary(name: "dycnn-static", family: "dycnn", layers: [], classes: classNames)

    /// 1000 images with labels cycling through the classes in a scrambled order.
    static let dataset = DatasetSummary(name: "sample", labels: (0..<1000).map { ($0 * 7 + 3) % 10 }, classNames: classNames)

    /// A fresh state at a size and colour mode, before any forward pass.
    static func state(width: Int = 120, height: Int = 40, colorMode: ColorMode = .xterm256,
                      checkpoints: [CheckpointSummary] = [dynamic, condconv, staticNet]) -> ViewState {
        ViewState(width: width, height: height, colorMode: colorMode, checkpoints: checkpoints, dataset: dataset)
    }

    /// A 28×28 test image: a ring whose radius depends on the index, on a dark gradient.
    static func image(_ index: Int) -> PixelImage {
        var px = [UInt8](repeating: 0, count: 28 * 28)
        let radius = 5 + Double(index % 7)
        for y in 0..<28 {
            for x in 0..<28 {
                let d = ((Double(x) - 13.5) * (Double(x) - 13.5) + (Double(y) - 13.5) * (Double(y) - 13.5)).squareRoot()
                let ring = max(0, 1 - abs(d - radius) / 2.5)
                px[y * 28 + x] = UInt8(min(255, ring * 255 + Double(x) * 1.5))
            }
        }
        return PixelImage(width: 28, height: 28, pixels: px)
    }

    /// A deterministic forward result for the state's image and configuration: attention
    /// logits z from a formula, π = softmax(z/τ) or sigmoid(z/τ), the engine's aggregation
    /// of π per mode, class logits from a formula (some images misclassified).
    static func result(for s: ViewState) -> ForwardResult {
        let key = s.configKey
        let idx = s.imageIndex
        var traces: [LayerTrace] = []
        // The fake attention of image `image` at layer `l`: logits from a fixed formula, then the
        // layer's routing at the view's τ.
        func fakeAttention(image: Int, layer l: Int, _ layer: LayerSummary, tau: Float) -> (z: [Float], pi: [Float]) {
            let z: [Float] = (0..<layer.kernels).map { j in Float(sin(Double(image * 7 + l * 3 + j * 5) * 0.7) * 1.5) }
            var pi = z.map { $0 / tau }
            if layer.routing == .sigmoid {
                pi = pi.map { 1 / (1 + exp(-$0)) }
            } else {
                let m = pi.max()!
                let e = pi.map { exp($0 - m) }
                let sum = e.reduce(0, +)
                pi = e.map { $0 / sum }
            }
            return (z, pi)
        }
        // shuffle-across borrows the π of the image's fixed partner, as the session does (seed 0).
        let partner = key.mode == .shuffleAcross
            ? (try? ShuffleAcrossPartners(count: s.dataset.count, seed: 0))?.partner(of: idx) : nil
        for (l, layer) in s.checkpoint.layers.enumerated() {
            let k = layer.kernels
            let tau = key.temperature ?? layer.trainedTemperature
            let (z, pi) = fakeAttention(image: idx, layer: l, layer, tau: tau)
            let partnerPi = partner.map { fakeAttention(image: $0, layer: l, layer, tau: tau).pi }
            let applied = aggregationCoefficients(pi, batch: 1, kernels: k, mode: key.mode, seed: 0, layerIndex: l,
                                                  imageIndices: [idx], partner: partnerPi)
            traces.append(LayerTrace(name: layer.name, routing: layer.routing, kernels: k, temperature: tau,
                                     logits: z, attention: pi, applied: applied, entropy: [normalizedEntropy(pi)]))
        }
        let label = s.dataset.labels![idx]
        let logits: [Float] = (0..<10).map { c in
            Float(cos(Double(idx + c * 3)) * 1.2) + (c == label && idx % 4 != 1 ? 2.5 : 0)
        }
        let m = logits.max()!
        let e = logits.map { exp($0 - m) }
        let sum = e.reduce(0, +)
        let trace = ForwardTrace(layers: traces, logits: Tensor(shape: [1, 10], data: logits),
                                 probabilities: Tensor(shape: [1, 10], data: e.map { $0 / sum }))
        return ForwardResult(key: key, imageIndex: idx, image: image(idx), trace: trace, milliseconds: 1.25,
                             partnerIndex: partner)
    }
}

/// Drives the pure core like the session does, fulfilling `.forward` with the fixture's
/// forward pass and recording every other effect.
struct Harness {
    var state: ViewState
    var effects: [Effect] = []

    init(_ state: ViewState) {
        self.state = state
        _ = update(&self.state, .forwardCompleted(Fixture.result(for: self.state)))
    }

    /// Sends an event; returns the effects `update` asked for (forward passes are run).
    @discardableResult
    mutating func send(_ event: Event) -> [Effect] {
        let out = update(&state, event)
        effects += out
        for e in out where e == .forward {
            _ = update(&state, .forwardCompleted(Fixture.result(for: state)))
        }
        return out
    }

    /// Sends keys in order.
    mutating func press(_ keys: Key...) {
        for k in keys { send(.key(k)) }
    }

    /// Types characters as keys.
    mutating func type(_ text: String) {
        for c in text.unicodeScalars { send(.key(.char(c))) }
    }

    var screen: CellGrid { render(state) }
}

/// Compares a rendered grid with a stored text snapshot in `__Snapshots__/<name>.txt`.
/// `DYCONV_RECORD=1` (re)writes the snapshot instead.
func assertSnapshot(_ grid: CellGrid, named name: String, file: StaticString = #filePath, line: UInt = #line) {
    let directory = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("__Snapshots__")
    let url = directory.appendingPathComponent("\(name).txt")
    let actual = grid.text + "\n"
    if ProcessInfo.processInfo.environment["DYCONV_RECORD"] == "1" {
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            // Written atomically: a temporary file in the same directory, then renamed.
            try Data(actual.utf8).write(to: url, options: .atomic)
        } catch {
            XCTFail("cannot record snapshot \(url.path): \(error)", file: file, line: line)
        }
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("missing snapshot \(url.path); run the tests with DYCONV_RECORD=1 to record it", file: file, line: line)
        return
    }
    if expected != actual {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        var diff: [String] = []
        for i in 0..<max(e.count, a.count) where (i < e.count ? e[i] : "") != (i < a.count ? a[i] : "") {
            diff.append("row \(i):\n  expected: \(i < e.count ? e[i] : "")\n  actual:   \(i < a.count ? a[i] : "")")
            if diff.count >= 6 { break }
        }
        XCTFail("snapshot \(name) differs (DYCONV_RECORD=1 re-records):\n" + diff.joined(separator: "\n"), file: file, line: line)
    }
}

/// The attributes of every cell as letters (b bold, d dim, r reverse, u underline, · none),
/// to snapshot how the monochrome rendering stays readable.
func attributeMap(_ grid: CellGrid) -> CellGrid {
    var out = CellGrid(width: grid.width, height: grid.height)
    for y in 0..<grid.height {
        for x in 0..<grid.width {
            let a = grid[x, y].style.attributes
            let s: Unicode.Scalar
            if a.contains(.reverse) { s = a.contains(.bold) ? "R" : "r" }
            else if a.contains(.bold) { s = a.contains(.underline) ? "U" : "b" }
            else if a.contains(.underline) { s = "u" }
            else if a.contains(.dim) { s = "d" }
            else { s = "·" }
            out.put(x, y, s, .plain)
        }
    }
    return out
}
