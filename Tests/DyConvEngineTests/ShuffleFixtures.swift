@testable import DyConvEngine

/// The model and images the shuffle-mode tests share: a small dycnn (K = 3) and six random images.
enum ShuffleFixtures {
    static func model() throws -> (Model, Tensor) {
        let d = Families.dycnn(widths: [8, 16, 16], kernels: 3)
        let m = try Model(description: d, parameters: NaiveModel.randomParameters(d, seed: 5))
        return (m, randomTensor([6, 1, 28, 28], seed: 6))
    }

    /// The samples `indices` of batch `x`, in that order.
    static func rows(_ x: Tensor, _ indices: [Int]) -> Tensor {
        let per = x.count / x.shape[0]
        return Tensor(shape: [indices.count] + x.shape.dropFirst(), data: indices.flatMap { x.data[($0 * per)..<(($0 + 1) * per)] })
    }
}
