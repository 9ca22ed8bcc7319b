import DyConvEngine

// Comparing tensors, the oracle check of most tests.

extension Tensor {
    /// The largest absolute elementwise difference to another tensor of the same shape.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "Tensor: shapes \(shape) and \(other.shape) differ")
        var m: Float = 0
        for i in 0..<data.count {
            let d = Swift.abs(data[i] - other.data[i])
            if d.isNaN { return .infinity }   // Swift.max would silently skip a NaN
            m = Swift.max(m, d)
        }
        return m
    }
}
