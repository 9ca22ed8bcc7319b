import Foundation
import DyConvEngine

/// Where a running epoch stands, reported after every iteration.
public struct EpochProgress: Sendable, Equatable {
    /// The epoch in progress, 1-based.
    public var epoch: Int
    /// Epochs of the run.
    public var epochs: Int
    /// Iterations done in this epoch, and in total per epoch.
    public var iteration: Int
    public var iterations: Int
    /// Training images processed in this epoch.
    public var images: Int
    /// Mean loss and accuracy (on augmented training batches) so far in this epoch.
    public var loss: Float
    public var accuracy: Float
    /// τ and learning rate of the last iteration.
    public var temperature: Float
    public var learningRate: Float
    /// Training throughput so far in this epoch.
    public var imagesPerSecond: Float
    /// Wall time of the training steps so far in this epoch.
    public var seconds: Double
}

/// What one step reports.
public struct StepMetrics: Sendable, Equatable {
    /// Mean loss and correct predictions of the batch.
    public var loss: Float
    public var correct: Int
    public var images: Int
    public var temperature: Float
    public var learningRate: Float
    public var seconds: Double
}

/// The summary of one finished epoch.
public struct EpochMetrics: Codable, Sendable, Equatable {
    /// The epoch just completed, 1-based.
    public var epoch: Int
    public var epochs: Int
    /// Mean training loss and accuracy (augmented batches, training-mode BatchNorm).
    public var loss: Float
    public var trainAccuracy: Float
    /// Test loss and accuracy (evaluation mode, at the current τ).
    public var testLoss: Float
    public var testAccuracy: Float
    /// τ and learning rate at the end of the epoch.
    public var temperature: Float
    public var learningRate: Float
    /// Training throughput (steps only, evaluation excluded).
    public var imagesPerSecond: Float
    /// Wall time of the training steps and of the test evaluation.
    public var trainSeconds: Double
    public var evalSeconds: Double
    /// Attention statistics per dynamic layer on the test set (`EvaluationResult.layers`).
    public var layers: [LayerAttentionSummary]

    /// Mean normalized entropy per dynamic layer, by name.
    public var entropyByLayer: [String: Float] { layers.entropyByName }
}

extension Array where Element == LayerAttentionSummary {
    /// Mean normalized entropy per dynamic layer, by name, as the Float a `TrainingRecord` keeps.
    public var entropyByName: [String: Float] {
        Dictionary(map { ($0.name, Float($0.meanEntropy)) }, uniquingKeysWith: { a, _ in a })
    }

    /// The mean normalized entropies, lowest layer first, as "0.999 0.994 …" (of the Float values,
    /// as training logs have always printed them).
    public var entropyText: String { map { String(format: "%.3f", Float($0.meanEntropy)) }.joined(separator: " ") }
}
