/// A dense Float32 tensor in row-major (NCHW for images) layout.
///
/// `Tensor` is a value type backed by a copy-on-write `[Float]`. Shapes are
/// plain `[Int]`; the engine's ops document the shapes they expect.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension, outermost first (e.g. `[N, C, H, W]`).
    public var shape: [Int]
    /// The elements in row-major order; `data.count == shape.product`.
    public var data: [Float]

    /// Creates a tensor from a shape and matching data.
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// Creates a tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Creates a zero tensor of the given shape.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }

    /// A tensor whose elements are left uninitialized (every element must be written before it is read).
    ///
    /// Used for op outputs that are fully overwritten, to skip a zero-fill pass.
    public static func uninitialized(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, data: [Float](unsafeUninitializedCapacity: n) { _, count in count = n })
    }

    /// The number of elements.
    public var count: Int { data.count }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Returns the same data viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Element access by a full multi-index (slow; for tests and small reference code).
    public subscript(_ index: Int...) -> Float {
        get { data[flatIndex(index)] }
        set { data[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index rank \(index.count) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor: index \(index) out of bounds for \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// `true` when every element is finite.
    public var isFinite: Bool { data.allSatisfy { $0.isFinite } }
}
