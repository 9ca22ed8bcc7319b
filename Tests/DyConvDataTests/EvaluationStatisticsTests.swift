import DyConvEngine
import Foundation
import Testing
@testable import DyConvData

/// Issue #9: each statistic of `EvaluationResult` is defined once (`EvaluationAccumulator`) and
/// means the same for every caller. Tested on CondConv, where π (the gates r) does not sum to 1,
/// so the raw and the renormalised max differ.
@Suite struct EvaluationStatisticsTests {
    /// Oracle: a naive loop over the images one at a time (`Model.forward` of a batch of one),
    /// each statistic computed by hand from that trace in Double: H(r/Σr)/ln K, max_k r_k,
    /// Σ_k r_k, r_k, log Σ exp(logits) − logit_label, argmax of the logits; the entropy box as
    /// the nearest-rank quantiles (rank ⌈p·n⌉) of the hand-sorted per-image H/lnK, within half
    /// a bin of `EntropyHistogram`; r_k per class as the sum over that class's images ÷ their
    /// count (`[]` for a class none of the images has).
    @Test func condConvStatisticsMatchANaivePerImageLoop() throws {
        let sample = try FashionMNIST.loadSample()
        let description = Families.dycnn(widths: [6, 6, 8], routing: .sigmoid, kernels: 3, temperature: 1,
                                         classes: FashionMNIST.classNames)
        let model = Model.seededRandom(description, seed: 11)
        let n = 18                          // the first 18 sample images have no class 0 or 8
        let options = ForwardOptions(temperature: 2)
        let layerCount = description.dynamicConvolutions.count
        var entropy = [Double](repeating: 0, count: layerCount), maxR = entropy, renormalisedMax = entropy, mass = entropy
        var meanR = description.dynamicConvolutions.map { [Double](repeating: 0, count: $0.kernels) }
        var perImage = [[Double]](repeating: [], count: layerCount)
        var classR = description.dynamicConvolutions.map { [[Double]](repeating: [Double](repeating: 0, count: $0.kernels), count: 10) }
        var classCount = [Int](repeating: 0, count: 10)
        var loss = 0.0
        var correct = 0
        for i in 0..<n {
            let trace = model.forward(sample, indices: [i], options: options, partners: nil)
            let logits = trace.output(sample: 0).map(Double.init)
            let top = logits.max()!
            loss += top + Foundation.log(logits.map { Foundation.exp($0 - top) }.reduce(0, +)) - logits[sample.labels![i]]
            if logits.firstIndex(of: top)! == sample.labels![i] { correct += 1 }
            classCount[sample.labels![i]] += 1
            for (l, layer) in trace.layers.enumerated() {
                let r = layer.attention.map(Double.init)
                let sum = r.reduce(0, +)
                let p = r.map { $0 / sum }
                let h = -p.map { $0 > 0 ? $0 * Foundation.log($0) : 0 }.reduce(0, +) / Foundation.log(Double(r.count))
                entropy[l] += h
                perImage[l].append(h)
                for k in r.indices { classR[l][sample.labels![i]][k] += r[k] }
                maxR[l] += r.max()!
                renormalisedMax[l] += p.max()!
                mass[l] += sum
                for k in r.indices { meanR[l][k] += r[k] }
            }
        }
        // The first images must leave a class out for the `[]` case to be tested.
        let missing = try #require(classCount.firstIndex(of: 0), "every class among the first \(n) images: \(classCount)")
        for size in [1, 7, 250] {
            let result = try evaluate(model: model, dataset: sample, options: options, limit: n, batchSize: size)
            #expect(result.images == n)
            #expect(result.correct == correct, "batch \(size)")
            #expect(abs(result.loss - loss / Double(n)) < 1e-5, "batch \(size): loss \(result.loss) vs \(loss / Double(n))")
            #expect(result.temperature == 2 && result.mode == .attention)
            for (l, layer) in result.layers.enumerated() {
                #expect(layer.name == description.dynamicConvolutions[l].name)
                #expect(abs(layer.meanEntropy - entropy[l] / Double(n)) < 1e-5, "\(layer.name)")
                #expect(abs(layer.meanMaxAttention - maxR[l] / Double(n)) < 1e-6, "\(layer.name)")
                #expect(abs(layer.meanMass - mass[l] / Double(n)) < 1e-5, "\(layer.name)")
                for k in meanR[l].indices { #expect(abs(layer.meanAttention[k] - meanR[l][k] / Double(n)) < 1e-6) }
                let sorted = perImage[l].sorted()
                let box = try #require(layer.entropyBox, "\(layer.name)")
                for (p, got) in [(0.05, box.p5), (0.25, box.q1), (0.5, box.median), (0.75, box.q3), (0.95, box.p95)] {
                    let want = sorted[max(Int((p * Double(n)).rounded(.up)), 1) - 1]
                    #expect(abs(got - want) <= 0.5 / Double(EntropyHistogram.binCount) + 1e-5, "\(layer.name) p\(p): \(got) vs \(want)")
                }
                let byClass = try #require(layer.meanAttentionByClass, "\(layer.name): labelled images")
                #expect(byClass.count == 10)
                #expect(byClass[missing] == [], "\(layer.name): class \(missing) has no image")
                for c in 0..<10 where classCount[c] > 0 {
                    #expect(byClass[c].count == meanR[l].count)
                    for k in byClass[c].indices {
                        #expect(abs(byClass[c][k] - classR[l][c][k] / Double(classCount[c])) < 1e-6, "\(layer.name) class \(c) k \(k)")
                    }
                }
                // CondConv's gates do not sum to 1: the max is the raw gate, not the renormalised one.
                #expect(abs(layer.meanMass - 1) > 0.05, "\(layer.name): gates must not sum to 1 for this test to bite")
                #expect(abs(layer.meanMaxAttention - renormalisedMax[l] / Double(n)) > 1e-3, "\(layer.name)")
            }
        }
    }

    /// The accumulator on hand-made traces. Oracle: the numbers worked out by hand below.
    @Test func accumulatorOnAHandMadeTrace() {
        // Two samples, two classes, one layer with K = 2 sigmoid gates.
        let layer = LayerTrace(name: "l", routing: .sigmoid, kernels: 2, temperature: 1, logits: [0, 0, 0, 0],
                               attention: [0.5, 0.5, 0.9, 0.3], applied: [0.5, 0.5, 0.9, 0.3],
                               entropy: [1, normalizedEntropy([Float(0.9), 0.3])])
        let logits = Tensor(shape: [2, 2], data: [0, 0, 2, 0])
        // softmax rows: [0.5, 0.5] (prediction 0 on the tie), [e²/(e²+1), 1/(e²+1)] (prediction 0).
        let e2 = Float(exp(2.0))
        let probabilities = Tensor(shape: [2, 2], data: [0.5, 0.5, e2 / (e2 + 1), 1 / (e2 + 1)])
        let trace = ForwardTrace(layers: [layer], logits: logits, probabilities: probabilities)
        var accumulator = EvaluationAccumulator(layerNames: ["l"], kernels: [2])
        accumulator.add(trace, labels: [0, 1])
        let r = accumulator.result(temperature: nil, mode: .attention)
        #expect(r.images == 2 && r.correct == 1)
        // Loss: ln 2 for sample 0; ln(e² + 1) − 0 for sample 1.
        #expect(abs(r.loss - (log(2) + log(exp(2) + 1)) / 2) < 1e-6)
        let l = r.layers[0]
        #expect(abs(l.meanMaxAttention - (0.5 + 0.9) / 2) < 1e-6)
        #expect(abs(l.meanMass - (1 + 1.2) / 2) < 1e-6)
        #expect(abs(l.meanAttention[0] - 0.7) < 1e-6 && abs(l.meanAttention[1] - 0.4) < 1e-6)
        // H(0.75, 0.25) / ln 2 = 0.811278.
        #expect(abs(l.meanEntropy - (1 + 0.811278) / 2) < 1e-5)
    }

    /// `onBatch` sees every batch with the result so far; stopping early keeps what was done.
    @Test func onBatchReportsRunningResults() throws {
        let sample = try FashionMNIST.loadSample()
        let model = Model.seededRandom(Families.dycnn(widths: [4, 4, 4], kernels: 2, classes: FashionMNIST.classNames), seed: 3)
        var seen: [Int] = []
        let stopped = try evaluate(model: model, dataset: sample, options: ForwardOptions(), limit: 30, batchSize: 8) { batch in
            seen.append(batch.result.images)
            #expect(batch.trace.batchSize == batch.indices.count && batch.total == 30)
            return batch.result.images < 16
        }
        #expect(seen == [8, 16])
        #expect(stopped.images == 16)
        let first16 = try evaluate(model: model, dataset: sample, options: ForwardOptions(), limit: 16, batchSize: 16)
        #expect(stopped.correct == first16.correct && abs(stopped.loss - first16.loss) < 1e-6)
    }

    /// Oracle: the definition of `meanAttentionByClass` — nil when nothing was labelled (the
    /// attention statistics still there), `[]` for a class no labelled image has, and for the
    /// others the mean over that class's labelled images only (an unlabelled batch adds to the
    /// overall means, not to a class). Numbers worked out by hand below.
    @Test func classMeansAreNilUnlabelledAndEmptyForAnAbsentClass() throws {
        // Two samples, three classes, one softmax layer with K = 2.
        let layer = LayerTrace(name: "l", routing: .softmax, kernels: 2, temperature: 1, logits: [0, 0, 0, 0],
                               attention: [0.8, 0.2, 0.4, 0.6], applied: [0.8, 0.2, 0.4, 0.6],
                               entropy: [normalizedEntropy([Float(0.8), 0.2]), normalizedEntropy([Float(0.4), 0.6])])
        let trace = ForwardTrace(layers: [layer], logits: Tensor(shape: [2, 3], data: [1, 0, 0, 0, 1, 0]),
                                 probabilities: Tensor(shape: [2, 3], data: [0.5, 0.25, 0.25, 0.25, 0.5, 0.25]))
        var unlabelled = EvaluationAccumulator(layerNames: ["l"], kernels: [2])
        unlabelled.add(trace, labels: nil)
        let u = unlabelled.result(temperature: nil, mode: .attention)
        #expect(u.layers[0].meanAttentionByClass == nil)
        #expect(u.layers[0].entropyBox != nil && abs(u.layers[0].meanAttention[0] - 0.6) < 1e-6)

        var labelled = EvaluationAccumulator(layerNames: ["l"], kernels: [2])
        labelled.add(trace, labels: [2, 2])                   // class 2 twice; 0 and 1 have none
        labelled.add(trace, labels: nil)                      // counts in the means, in no class
        let byClass = try #require(labelled.result(temperature: nil, mode: .attention).layers[0].meanAttentionByClass)
        #expect(byClass.count == 3)
        #expect(byClass[0] == [] && byClass[1] == [])
        #expect(abs(byClass[2][0] - 0.6) < 1e-6 && abs(byClass[2][1] - 0.4) < 1e-6)

        // evaluate() on an unlabelled dataset: no class table, the box still there.
        var rng = SeededGenerator(seed: 5)
        let pixels = (0..<(6 * 784)).map { _ in UInt8(rng.next() % 256) }
        let images = try ImageDataset(channels: 1, height: 28, width: 28, pixels: pixels, labels: nil,
                                      classNames: FashionMNIST.classNames)
        let model = Model.seededRandom(Families.dycnn(widths: [4, 4, 4], kernels: 2, classes: FashionMNIST.classNames), seed: 3)
        let result = try evaluate(model: model, dataset: images, options: ForwardOptions())
        #expect(!result.isScored)
        #expect(result.layers.allSatisfy { $0.meanAttentionByClass == nil && $0.entropyBox != nil })
    }
}
