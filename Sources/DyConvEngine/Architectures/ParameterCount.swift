// The parameter count of a network, as `dyconv describe` prints it and `dyconv report` records it.
//
// Summed with checked arithmetic from `parameterShapes()`: a checkpoint's architecture is
// untrusted, and describe/report do not build the model, so an absurd shape must give "too many
// to count" (nil), not a trap. Example: `Families.dycnn().parameterCount` is the sum of every
// tensor's element count (conv kernels × K, BN γ/β/running stats, attention FCs, classifier).

extension ModelDescription {
    /// Elements of every parameter tensor (`parameterShapes()`), or nil when the sum overflows.
    public var parameterCount: Int? {
        parameterShapes().reduce(Int?(0)) { CheckedSize.sum($0, CheckedSize.product($1.shape)) }
    }
}
