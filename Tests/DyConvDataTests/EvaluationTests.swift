import DyConvEngine
import Foundation
import Testing
@testable import DyConvData

/// Issue #8 items 3 and 4: `evaluate` refuses, in one line and before any forward pass, what it
/// cannot score — instead of reporting an accuracy over labels the model cannot predict, or "0/0".
///
/// Oracle: the bundled sample's labels go up to 9 (ten classes, each present).
@Suite struct EvaluationTests {
    /// A small dycnn with the given classes, random weights.
    private func model(classes: [String], dropHead: Bool = false) throws -> Model {
        var description = Families.dycnn(widths: [4, 4, 4], kernels: 2, classes: classes)
        if dropHead { description.layers.removeLast(2) }  // global pooling and the classifier
        return Model.seededRandom(description, seed: 3)
    }

    @Test func modelWithFewerClassesThanTheLabelsIsRefused() throws {
        let sample = try FashionMNIST.loadSample()
        #expect(sample.labels!.max() == 9)
        let five = try model(classes: ["a", "b", "c", "d", "e"])
        expectDataError(.labelOutOfRange, containing: ["labels go up to 9 but the model dycnn has 5 classes"]) {
            _ = try evaluate(model: five, dataset: sample, options: ForwardOptions(), limit: 10)
        }
        // The same check, exposed for other callers (e.g. `dyconv inspect`), names the dataset.
        expectDataError(.labelOutOfRange, containing: ["bundled sample: labels go up to 9"]) {
            try sample.checkEvaluable(by: five.description, name: "bundled sample")
        }
        // More classes than the data uses is fine; so is the exact count.
        let twelve = try model(classes: (0..<12).map { "c\($0)" })
        #expect(try evaluate(model: twelve, dataset: sample, options: ForwardOptions(), limit: 20).images == 20)
        try sample.checkEvaluable(by: Families.dycnn(widths: [4, 4, 4], kernels: 2))
    }

    @Test func headlessModelIsRefused() throws {
        let sample = try FashionMNIST.loadSample()
        let headless = try model(classes: [], dropHead: true)
        expectDataError(.invalidArgument, containing: ["no classes", "headless"]) {
            _ = try evaluate(model: headless, dataset: sample, options: ForwardOptions(), limit: 10)
        }
        // Class names, but the network ends in an image: not a vector of class scores.
        let imageOut = try model(classes: ["a", "b"], dropHead: true)
        expectDataError(.invalidArgument, containing: ["outputs 4×7×7 values per image", "2 classes"]) {
            _ = try evaluate(model: imageOut, dataset: sample, options: ForwardOptions(), limit: 10)
        }
        // Training and the TUI use the same classifier check.
        expectDataError(.invalidArgument, containing: ["no classes"]) {
            try sample.checkCompatible(with: headless.description)
        }
        // A wrong input shape is refused too, before anything runs.
        var wide = Families.dycnn(widths: [4, 4, 4], kernels: 2)
        wide.input = InputSpec(channels: 1, height: 32, width: 32)
        expectDataError(.invalidArgument, containing: ["1×28×28", "1×32×32"]) {
            try sample.checkEvaluable(by: wide)
        }
    }

    @Test func nothingToEvaluateIsAnError() throws {
        let sample = try FashionMNIST.loadSample()
        let ten = try model(classes: FashionMNIST.classNames)
        expectDataError(.invalidArgument, containing: ["at least 1, got 0"]) {
            _ = try evaluate(model: ten, dataset: sample, options: ForwardOptions(), limit: 0)
        }
        expectDataError(.invalidArgument, containing: ["at least 1, got -3"]) {
            _ = try evaluate(model: ten, dataset: sample, options: ForwardOptions(), limit: -3)
        }
        expectDataError(.invalidArgument, containing: ["no images to evaluate"]) {
            _ = try evaluate(model: ten, dataset: sample.prefix(0), options: ForwardOptions())
        }
    }
}

/// shuffle-image draws each image's kernel permutation from its dataset index, so neither the
/// batch an image runs in nor `evaluate`'s batch size changes its result (issue 8, behaviour).
@Suite struct ShuffleImageEvaluationTests {
    /// Oracle: the forward of each image alone (`indices: [i]`): its logits in any batch, and
    /// the number of correct predictions and per-layer statistics of `evaluate` at any batch size.
    @Test func shuffleImageDoesNotDependOnTheBatch() throws {
        let sample = try FashionMNIST.loadSample()
        let model = Model.seededRandom(Families.dycnn(widths: [8, 8, 8], kernels: 3, classes: FashionMNIST.classNames), seed: 4)
        let options = ForwardOptions(temperature: 3, mode: .shuffleImage, seed: 2)
        let n = 30
        let alone = (0..<n).map { model.forward(sample, indices: [$0], options: options, partners: nil) }
        for batch in [[7, 3, 29], Array((0..<n).reversed())] {
            let trace = model.forward(sample, indices: batch, options: options, partners: nil)
            for (row, i) in batch.enumerated() {
                let d = zip(trace.output(sample: row), alone[i].output(sample: 0)).map { abs($0 - $1) }.max()!
                #expect(d < 1e-5, "image \(i) in a batch of \(batch.count)")
            }
        }
        let oracleCorrect = (0..<n).filter { alone[$0].prediction(sample: 0) == sample.labels![$0] }.count
        let reference = try evaluate(model: model, dataset: sample, options: options, limit: n, batchSize: 1)
        #expect(reference.correct == oracleCorrect)
        for size in [7, 16, 250] {
            let r = try evaluate(model: model, dataset: sample, options: options, limit: n, batchSize: size)
            #expect(r.correct == oracleCorrect, "batch \(size)")
            for (a, b) in zip(r.layers, reference.layers) {
                #expect(abs(a.meanEntropy - b.meanEntropy) < 1e-6, "batch \(size) \(a.name)")
            }
        }
        // The later layers' statistics see the shuffle (else the test above would be vacuous).
        let plain = try evaluate(model: model, dataset: sample, options: ForwardOptions(temperature: 3), limit: n)
        #expect(abs(plain.layers.last!.meanEntropy - reference.layers.last!.meanEntropy) > 1e-6)
    }
}

/// Unlabelled images (`--image`, a flat folder): evaluated for attention, never scored.
@Suite struct UnlabelledEvaluationTests {
    /// Oracle: the same images with their labels. The attention statistics do not depend on the
    /// labels, so they must be equal; the unlabelled result has nothing scored (no accuracy, no
    /// loss), the labelled one does.
    @Test func unlabelledImagesGiveTheAttentionStatisticsOnly() throws {
        let sample = try FashionMNIST.loadSample().prefix(40)
        let unlabelled = try ImageDataset(channels: 1, height: 28, width: 28, pixels: sample.pixels, labels: nil,
                                          classNames: [])
        #expect(unlabelled.count == 40 && !unlabelled.isLabelled && unlabelled.label(3) == nil)
        let model = Model.seededRandom(Families.dycnn(widths: [4, 4, 4], kernels: 3, classes: FashionMNIST.classNames), seed: 5)
        let options = ForwardOptions(temperature: 2)
        let labelled = try evaluate(model: model, dataset: sample, options: options, batchSize: 16)
        let plain = try evaluate(model: model, dataset: unlabelled, options: options, batchSize: 16)
        #expect(labelled.isScored && labelled.scored == 40 && labelled.loss > 0)
        #expect(!plain.isScored && plain.scored == 0 && plain.correct == 0 && plain.loss == 0 && plain.images == 40)
        // The same attention statistics; only the labelled run has a per-class table.
        #expect(plain.layers.allSatisfy { $0.meanAttentionByClass == nil })
        #expect(plain.layers == labelled.layers.map(\.withoutClassMeans))
        // Subsets keep the absence of labels.
        #expect(unlabelled.subset([3, 1]).labels == nil && unlabelled.prefix(5).count == 5)
    }

    @Test func unlabelledImagesCannotBeTrainedOn() throws {
        let unlabelled = try ImageDataset(channels: 1, height: 28, width: 28, pixels: [UInt8](repeating: 0, count: 784 * 2),
                                          labels: nil, classNames: [])
        let description = Families.dycnn(widths: [4, 4, 4], kernels: 2)
        expectDataError(.invalidArgument, containing: ["has no labels"]) {
            try unlabelled.checkCompatible(with: description, name: "images")
        }
        // Shown (the TUI), they are fine.
        try unlabelled.checkCompatible(with: description, name: "images", requireLabels: false)
        expectDataError(.invalidArgument, containing: ["do not hold"]) {
            _ = try ImageDataset(channels: 1, height: 28, width: 28, pixels: [0, 1, 2], labels: nil, classNames: [])
        }
    }

    /// A result decoded from JSON written before `scored` existed counts every image as scored.
    @Test func oldResultsDecodeAsScored() throws {
        let json = #"{"mode":"attention","images":10,"correct":7,"loss":0.5,"layers":[]}"#
        let r = try JSONDecoder().decode(EvaluationResult.self, from: Data(json.utf8))
        #expect(r.scored == 10 && r.accuracy == 0.7)
        let again = try JSONDecoder().decode(EvaluationResult.self, from: JSONEncoder().encode(r))
        #expect(again == r)
    }
}
