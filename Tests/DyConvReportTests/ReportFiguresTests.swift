import DyConvEngine
import DyConvFigures
@testable import DyConvReport
import Foundation
import XCTest

// ReportFigures on hand-built reports (no evaluation): which figures appear, what a panel
// contains, determinism, hostile indices, and a real renderer (rsvg-convert) on every chart kind
// and every report figure.
//
// Set DYCONV_FIGURE_DIR to keep the SVG and PNG files of testRendersWithRsvg in that folder (to
// look at them); otherwise they go to a temporary folder that is removed.

final class ReportFiguresTests: XCTestCase {
    /// Fixture: checkpoints 0 = dycnn K=4 softmax, 1 = dycnn K=2 softmax, 2 = dycnn-static, each
    /// its own group; a `.kernels` comparison (groups 1, 0) and a `.temperatureSchedule` one (0, 1).
    /// `layers` dynamic layers each; all numbers are smooth functions of the indices.
    static func report(layers: Int = 6, classes: Int = 10) -> Report {
        let names = (0..<layers).map { layers > 8 ? "layer\($0 / 6 + 1).\($0 % 6 / 2).conv\($0 % 2 + 1)" : "conv\($0 + 1)" }
        let temperatures: [Float] = [0.25, 0.5, 1, 2, 5, 10, 30, 100]
        let modes = AggregationMode.allCases
        func layerSummaries(kernels: Int, spread: Double, routing: String) -> [LayerAttentionSummary] {
            names.enumerated().map { l, name in
                let depth = layers > 1 ? Double(l) / Double(layers - 1) : 0
                let median = Swift.min(1, 0.995 - spread * depth)
                let box = EntropyBox(p5: Swift.max(0, median - 0.2 * depth - 0.01), q1: Swift.max(0, median - 0.06 * depth - 0.004),
                                     median: median, q3: Swift.min(1, median + 0.03 * depth + 0.002), p95: Swift.min(1, median + 0.05))
                let byClass: [[Double]] = (0..<classes).map { c in
                    if c == 3 && l == layers - 1 { return [] }  // a class without images: hatched cells
                    let raw = (0..<kernels).map { k in 1 + depth * 2 * Double((c + k * 3) % kernels) / Double(kernels) }
                    let sum = raw.reduce(0, +)
                    return routing == "sigmoid" ? raw.map { 0.8 * $0 / 2 } : raw.map { $0 / sum }
                }
                return LayerAttentionSummary(name: name, meanEntropy: median - 0.01, meanMaxAttention: 0.4,
                                             meanAttention: [Double](repeating: 1 / Double(kernels), count: kernels),
                                             meanMass: 1, entropyBox: box, meanAttentionByClass: byClass)
            }
        }
        func checkpoint(_ name: String, routing: String, kernels: Int, group: Int, accuracy: Double) -> CheckpointReport {
            let dynamic = routing != "static"
            var evaluations: [EvaluationResult] = []
            for (i, mode) in modes.enumerated() {
                let correct = Int((accuracy - Double(i) * 0.03) * 10000)
                evaluations.append(EvaluationResult(temperature: nil, mode: mode, images: 10000, correct: correct, loss: 0.3,
                                                    layers: dynamic ? layerSummaries(kernels: kernels, spread: 0.3, routing: routing) : []))
                if !dynamic { break }
            }
            if dynamic {
                for (i, t) in temperatures.enumerated() {
                    let drop = abs(Double(i) - 2) * 0.02 * Double(i) / 3
                    var layers = layerSummaries(kernels: kernels, spread: 0.3 * Double(8 - i) / 6, routing: routing)
                    for l in layers.indices { layers[l].meanEntropy = Swift.min(1, layers[l].meanEntropy + Double(i) * 0.02) }
                    evaluations.append(EvaluationResult(temperature: t, mode: .attention, images: 10000,
                                                        correct: Int((accuracy - drop) * 10000), loss: 0.3, layers: layers))
                }
            }
            let history = (1...12).map { e -> TrainingRecord.Epoch in
                let tau: Float = dynamic ? (e <= 5 ? 30 - 29 * Float(e - 1) / 4 : 1) : 1
                var entropy: [String: Float] = [:]
                if dynamic {
                    for (l, n) in names.enumerated() {
                        let depth = layers > 1 ? Float(l) / Float(layers - 1) : 0
                        entropy[n] = 1 - depth * 0.3 * Float(e) / 12
                    }
                }
                return TrainingRecord.Epoch(epoch: e, temperature: tau, testAccuracy: Float(accuracy - 0.1 / Double(e)),
                                            entropy: dynamic ? entropy : nil)
            }
            let snapshots = dynamic ? [1, 4, 8, 12].map { e in
                SnapshotReport(epoch: e, evaluation: EvaluationResult(temperature: nil, mode: .attention, images: 10000,
                                                                      correct: 9000, loss: 0.3,
                                                                      layers: layerSummaries(kernels: kernels, spread: 0.3 * Double(e) / 12, routing: routing)))
            } : []
            return CheckpointReport(path: "/somewhere/\(name).safetensors", name: name, family: dynamic ? "dycnn" : "dycnn-static",
                                    routing: routing, kernels: dynamic ? kernels : 0, recipe: ["model=dycnn"], seed: 0,
                                    group: group, parameters: dynamic ? 298_594 : 75_482, multiplyAdds: dynamic ? 9_442_032 : 9_145_216,
                                    trainedTemperature: dynamic ? 1 : nil, evaluations: evaluations, history: history,
                                    snapshots: snapshots)
        }
        let checkpoints = [checkpoint("dycnn-k4", routing: "softmax", kernels: 4, group: 0, accuracy: 0.935),
                           checkpoint("dycnn-k2", routing: "softmax", kernels: 2, group: 1, accuracy: 0.931),
                           checkpoint("dycnn-static", routing: "static", kernels: 0, group: 2, accuracy: 0.925)]
        func stats(_ m: Double) -> SeedStatistics { SeedStatistics(n: 3, mean: m, min: m - 0.002, max: m + 0.0015, sd: 0.0015) }
        func group(_ i: Int, label: String) -> GroupReport {
            let c = checkpoints[i]
            var ablation: [String: SeedStatistics] = [:]
            if c.routing != "static" { for (j, m) in modes.enumerated() { ablation[m.rawValue] = stats(0.935 - Double(j) * 0.012) } }
            return GroupReport(key: "k\(i)", label: label, checkpoints: [i], seeds: [0, 1, 2], family: c.family, routing: c.routing,
                               kernels: c.kernels, parameters: c.parameters, multiplyAdds: c.multiplyAdds - i * 1_500_000,
                               accuracy: stats(0.935 - Double(i) * 0.004), ablation: ablation,
                               layerNames: c.routing == "static" ? [] : names,
                               entropy: c.routing == "static" ? [] : names.indices.map { stats(0.99 - 0.3 * Double($0) / Double(Swift.max(1, layers - 1))) })
        }
        let groups = [group(0, label: "dycnn K=4"), group(1, label: "dycnn K=2"), group(2, label: "dycnn-static")]
        return Report(data: .init(name: "Fashion-MNIST test set", images: 10000,
                                  classNames: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                                               "Bag", "Ankle boot"].prefix(classes).map { $0 }),
                      settings: .init(temperatures: temperatures, modes: modes, seed: 0),
                      checkpoints: checkpoints, groups: groups,
                      comparisons: [Comparison(kind: .kernels, members: [.init(group: 1, value: "K=2"), .init(group: 0, value: "K=4")]),
                                    Comparison(kind: .temperatureSchedule,
                                               members: [.init(group: 0, value: "τ 30→1 over 5"), .init(group: 1, value: "τ = 1")])])
            .withGroupSweeps()
    }

    /// Oracle: the figure list the task's rules give for this fixture (every kind has inputs), in
    /// report.md's order.
    func testFiguresPresent() {
        let files = ReportFigures.render(Self.report()).map(\.info.file)
        XCTAssertEqual(files, ["entropy-per-layer.svg", "attention-by-class.svg", "accuracy-vs-tau.svg", "ablation.svg",
                               "accuracy-vs-cost.svg", "k-sweep.svg", "tau-schedule.svg", "training-curves.svg"])
    }

    /// Oracle: the fixture's family. Each τ-schedule row names the family it compares (a report
    /// may hold dycnn's and CondConv's schedules, which were told apart only by their values).
    func testTauScheduleRowsNameTheirFamily() throws {
        let figure = try XCTUnwrap(ReportFigures.render(Self.report()).first { $0.info.file == "tau-schedule.svg" })
        let family = Self.report().groups[0].family
        XCTAssertTrue(figure.svg.contains(">Final accuracy: \(family)<"), figure.svg)
        XCTAssertTrue(figure.svg.contains(">Test accuracy per epoch: \(family)<"))
    }

    /// Oracle: the static checkpoint has no entropy panel (its name appears only in the caption's
    /// "skipped" sentence, not as a panel's aria-label), the two dynamic ones each have one.
    func testStaticCheckpointHasNoEntropyPanel() throws {
        let figure = try XCTUnwrap(ReportFigures.render(Self.report()).first { $0.info.file == "entropy-per-layer.svg" })
        XCTAssertTrue(figure.svg.contains("aria-label=\"dycnn-k4 (softmax, K=4)\""))
        XCTAssertTrue(figure.svg.contains("aria-label=\"dycnn-k2 (softmax, K=2)\""))
        XCTAssertFalse(figure.svg.contains("aria-label=\"dycnn-static"))
        XCTAssertTrue(figure.info.caption.contains("not drawn (dycnn-static)"))
        // Paths are never printed (determinism across machines).
        XCTAssertFalse(figure.svg.contains("/somewhere"))
    }

    /// Oracle: without comparisons there is no k-sweep or tau-schedule figure; without any
    /// history no training curves; an empty report draws nothing.
    func testFiguresNeedTheirInputs() {
        var r = Self.report()
        r.comparisons = []
        for i in r.checkpoints.indices { r.checkpoints[i].history = [] }
        let files = ReportFigures.render(r).map(\.info.file)
        XCTAssertFalse(files.contains("k-sweep.svg"))
        XCTAssertFalse(files.contains("tau-schedule.svg"))
        XCTAssertFalse(files.contains("training-curves.svg"))
        XCTAssertTrue(files.contains("entropy-per-layer.svg"))
        let empty = Report(data: .init(name: "x", images: 0), settings: .init(temperatures: [], modes: [], seed: 0),
                           checkpoints: [], groups: [], comparisons: [])
        XCTAssertTrue(ReportFigures.render(empty).isEmpty)
    }

    /// Oracle: byte-identical output on a second run (the committed figures are compared by bytes).
    func testDeterministic() {
        let a = ReportFigures.render(Self.report(layers: 18)), b = ReportFigures.render(Self.report(layers: 18))
        XCTAssertEqual(a.map(\.svg), b.map(\.svg))
        XCTAssertEqual(a.map(\.info), b.map(\.info))
    }

    /// Oracle: an untrusted report (indices out of range, NaN values) renders without trapping and
    /// writes no "nan"/"inf" into the SVG.
    func testHostileReportDoesNotTrap() {
        var r = Self.report()
        r.comparisons.append(Comparison(kind: .kernels, members: [.init(group: 99, value: "K=?"), .init(group: -1, value: "x")]))
        r.groups[0].checkpoints = [7, -3, 0]
        r.checkpoints[1].group = 42
        r.groups[1].accuracy.mean = .nan
        r.checkpoints[0].history[3].testAccuracy = .infinity
        r.checkpoints[1].kernels = Int.max  // classes × K would overflow: the panel is left out
        let figures = ReportFigures.render(r)
        let attention = figures.first { $0.info.file == "attention-by-class.svg" }?.svg ?? ""
        XCTAssertTrue(attention.contains("aria-label=\"dycnn-k4 (softmax, K=4)\""))
        XCTAssertFalse(attention.contains("dycnn-k2"))
        for figure in figures {
            XCTAssertFalse(figure.svg.lowercased().contains("nan"), figure.info.file)
            XCTAssertFalse(figure.svg.contains("inf\""), figure.info.file)
        }
    }

    /// Oracle: hand arithmetic, r = [0.9, 0.3, 0.3, 0.3] has Σr = 1.8, so r/Σr = [0.5, 1/6, 1/6, 1/6].
    func testSigmoidGatesNormalised() {
        let n = ReportFigures.normalisedGates([0.9, 0.3, 0.3, 0.3])
        XCTAssertEqual(n[0], 0.5, accuracy: 1e-12)
        XCTAssertEqual(n[1], 1.0 / 6, accuracy: 1e-12)
        XCTAssertTrue(ReportFigures.normalisedGates([0, 0]).allSatisfy(\.isNaN))
    }

    // MARK: - A real renderer

    /// One sample of every chart kind, each as its own document.
    static func chartSamples() -> [(name: String, doc: SVGDocument)] {
        let box = BoxPlotChart(title: "Box & whisker <test>", items: [
            .init(label: "conv1", box: BoxValues(p5: 0.9, q1: 0.95, median: 0.97, q3: 0.99, p95: 1)),
            .init(label: "a rather long layer name", box: BoxValues(p5: 0.2, q1: 0.4, median: 0.6, q3: 0.7, p95: 0.9)),
            .init(label: "empty", box: nil),
        ], yAxis: Axis(lower: 0, upper: 1), yTitle: "H / ln K", guides: [Guide(value: 0.7, label: "goal")])
        let heat = HeatMapChart(title: "Heat map", rowLabels: ["a", "b"], groupLabels: ["x", "y"], columnsPerGroup: 2,
                                subLabels: ["1", "2"], values: [[0.1, 0.9, 0.5, nil], [0.3, 0.2, 0.8, 0.7]],
                                colorAxis: Axis(lower: 0, upper: 1), colorTitle: "π")
        let line = LineChart(title: "Lines", series: [
            .init(name: "one", points: [Point(0.25, 0.9), Point(1, 0.93), Point(100, 0.5)], style: Palette.style(0), endLabel: "one"),
            .init(name: "two", points: [Point(0.5, 0.8), Point(30, 0.6)], style: Palette.style(1), endLabel: "two"),
        ], xAxis: Axis(kind: .log10, lower: 0.2, upper: 100), yAxis: Axis(lower: 0, upper: 1), xTitle: "τ", yTitle: "acc",
           markers: [.init(x: 1, label: "trained τ")],
           glyphs: [.init(x: 10, box: BoxValues(p5: 0.2, q1: 0.3, median: 0.4, q3: 0.5, p95: 0.6), color: "#000000")])
        let bars = BarChart(title: "Bars", groups: [
            .init(label: "g1", bars: [.init(value: 0.93, min: 0.92, max: 0.94), .init(value: 0.9)]),
            .init(label: "g2", bars: [nil, .init(value: 0.85, min: 0.84, max: 0.87)]),
        ], seriesNames: ["a", "b"], yAxis: Axis(lower: 0.8, upper: 1, format: .percent), yTitle: "accuracy", note: "from 80%")
        let scatter = ScatterChart(title: "Scatter", items: [
            .init(x: 2e6, y: 0.9, yMin: 0.89, yMax: 0.91, label: "small", series: 0),
            .init(x: 9e6, y: 0.93, label: "big", series: 1),
        ], seriesNames: ["softmax", "static"], xAxis: Axis(kind: .log10, lower: 1e6, upper: 1e7),
           yAxis: Axis(lower: 0.85, upper: 0.95, format: .percent), xTitle: "MA", yTitle: "acc")
        let charts: [(String, any Chart)] = [("box", box), ("heat", heat), ("line", line), ("bars", bars), ("scatter", scatter)]
        return charts.map { ($0.0, $0.1.document(width: 360, height: 240, title: $0.0)) }
    }

    /// Oracle: rsvg-convert (librsvg, a real SVG renderer) exits 0 on every chart kind and every
    /// report figure (6 and 18 layers, and the review fixture of ReportFiguresReviewTests), and the PNG's IHDR width/height equal the SVG's declared
    /// size. Fails when rsvg-convert is missing and CI is set; skips otherwise.
    func testRendersWithRsvg() throws {
        let env = ProcessInfo.processInfo.environment
        let candidates = ["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"]
        guard let rsvg = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            if env["CI"] != nil { XCTFail("rsvg-convert not found (install librsvg2-bin: make deps)"); return }
            throw XCTSkip("rsvg-convert not found (install librsvg2-bin)")
        }
        let keep = env["DYCONV_FIGURE_DIR"]
        let dir = URL(fileURLWithPath: keep ?? NSTemporaryDirectory()).appendingPathComponent(keep == nil ? "dyconv-figures-\(UUID())" : "")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: dir) } }

        var files: [(name: String, svg: String, width: Int, height: Int)] = Self.chartSamples().map {
            ("chart-\($0.name)", $0.doc.render(), $0.doc.pixelWidth, $0.doc.pixelHeight)
        }
        let reports = [("", Self.report(layers: 6)), ("-deep", Self.report(layers: 18)),
                       ("-review", ReportFiguresReviewTests.report(layers: 6)), ("-review-deep", ReportFiguresReviewTests.report(layers: 18))]
        for (suffix, report) in reports {
            for figure in ReportFigures.render(report) {
                let size = try XCTUnwrap(Self.declaredSize(figure.svg), figure.info.file)
                files.append((figure.info.file.replacingOccurrences(of: ".svg", with: suffix), figure.svg, size.0, size.1))
            }
        }
        XCTAssertEqual(files.count, 5 + 4 * 8)
        for f in files {
            let svgURL = dir.appendingPathComponent(f.name + ".svg"), pngURL = dir.appendingPathComponent(f.name + ".png")
            try f.svg.write(to: svgURL, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: rsvg)
            process.arguments = ["-o", pngURL.path, svgURL.path]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(f.name): \(message)")
            let png = try Data(contentsOf: pngURL)
            let size = try XCTUnwrap(Self.pngSize(png), f.name)
            XCTAssertEqual(size.0, f.width, f.name)
            XCTAssertEqual(size.1, f.height, f.name)
        }
    }

    /// width and height of the root <svg> element.
    static func declaredSize(_ svg: String) -> (Int, Int)? {
        func attribute(_ name: String) -> Int? {
            guard let r = svg.range(of: " \(name)=\"") else { return nil }
            return Int(svg[r.upperBound...].prefix { $0 != "\"" })
        }
        guard let w = attribute("width"), let h = attribute("height") else { return nil }
        return (w, h)
    }

    /// The IHDR width and height of a PNG (big-endian at bytes 16…23 after the signature and the
    /// IHDR chunk header), nil when the bytes are not a PNG.
    static func pngSize(_ data: Data) -> (Int, Int)? {
        let b = [UInt8](data.prefix(24))
        guard b.count == 24, b[0..<8].elementsEqual([137, 80, 78, 71, 13, 10, 26, 10]), b[12..<16].elementsEqual(Array("IHDR".utf8)) else {
            return nil
        }
        func be(_ i: Int) -> Int { b[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be(16), be(20))
    }
}

extension Report {
    /// Each group's τ sweep as `dyconv report` computes it from its members (`ReportComparisons.sweep`).
    func withGroupSweeps() -> Report {
        var r = self
        for g in r.groups.indices {
            r.groups[g].temperatureSweep = ReportComparisons.sweep(r.groups[g].checkpoints.map { r.checkpoints[$0] })
        }
        return r
    }
}
