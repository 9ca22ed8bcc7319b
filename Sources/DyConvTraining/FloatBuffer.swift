/// A heap buffer of Floats with a stable address, freed with its owner.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    func zero() { pointer.update(repeating: 0, count: count) }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    func load(_ values: [Float]) {
        precondition(values.count == count, "FloatBuffer: \(values.count) values for \(count) slots")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }
}
