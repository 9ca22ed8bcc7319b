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
    /// Σ_k r_k, r_k, log Σ exp(logits) − logit_label, argmax of the logits.
    @Test func condConvStatisticsMatchANaivePerImageLoop() throws {
        let sample = try FashionMNIST.loadSample()
        let description = Families.dycnn(widths: [6, 6, 8], routing: .sigmoid, kernels: 3, temperature: 1,
                                         classes: FashionMNIST.classNames)
        let model = Model.seededRandom(description, seed: 11)
        let n = 23
        let options = ForwardOptions(temperature: 2)
        let layerCount = description.dynamicConvolutions.count
        var entropy = [Double](repeating: 0, count: layerCount), maxR = entropy, renormalisedMax = entropy, mass = entropy
        var meanR = description.dynamicConvolutions.map { [Double](repeating: 0, count: $0.kernels) }
        var loss = 0.0
        var correct = 0
        for i in 0..<n {
            let trace = model.forward(sample, indices: [i], options: options, partners: nil)
            let logits = trace.output(sample: 0).map(Double.init)
            let top = logits.max()!
            loss += top + Foundation.log(logits.map { Foundation.exp($0 - top) }.reduce(0, +)) - logits[sample.labels![i]]
            if logits.firstIndex(of: top)! == sample.labels![i] { correct += 1 }
            for (l, layer) in trace.layers.enumerated() {
                let r = layer.attention.map(Double.init)
                let sum = r.reduce(0, +)
                let p = r.map { $0 / sum }
                entropy[l] += -p.map { $0 > 0 ? $0 * Foundation.log($0) : 0 }.reduce(0, +) / Foundation.log(Double(r.count))
                maxR[l] += r.max()!
                renormalisedMax[l] += p.max()!
                mass[l] += sum
                for k in r.indices { meanR[l][k] += r[k] }
            }
        }
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
}
