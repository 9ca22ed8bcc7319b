import Foundation

/// The bounds every number from a user or a file must respect before dyconv sizes memory with it.
///
/// A checkpoint's architecture JSON, a command-line flag and an IDX header are all untrusted: a
/// padding of 2⁶² or a batch of 10⁸ passes a "positive" check and then asks for terabytes. The
/// rule is: compute every size with overflow-checked arithmetic, compare it with these limits,
/// and refuse with the figure before allocating (`Limits.checkMemory`).
///
/// Worked example: `dyconv bench --batch 100000000` on dycnn estimates
/// `ModelDescription.estimatedInferenceBytes(batch:)` ≈ 313 GB, which is more than
/// `Limits.memoryBudget` (half of the machine's memory, at most 64 GiB), so the command prints
/// "batch 100000000 of dycnn needs about 313.6 GB; the limit is 12.0 GB" and exits 1.
public enum Limits {
    /// The temperatures τ dyconv accepts, from flags and from files.
    ///
    /// Below 1e-4 the logits z/τ of any realistic layer saturate the softmax to one-hot (so
    /// nothing is lost); near the smallest normal float (1.2e-38) z/τ overflows to ±inf and the
    /// softmax turns into NaN. Above 1e5 π is uniform to within float precision.
    public static let temperature: ClosedRange<Float> = 1e-4...1e5

    /// The most bytes one model, batch or dataset may ask for: half of the physical memory,
    /// at most 64 GiB. `DYCONV_MEMORY_LIMIT_MB` lowers or raises it (tests use it).
    public static let memoryBudget: Int = {
        if let mb = EnvironmentSetting.memoryLimitMB.integer { return mb << 20 }
        let physical = ProcessInfo.processInfo.physicalMemory
        let half = physical / 2
        return Int(min(half, UInt64(64) << 30))
    }()

    /// The largest image side (height or width) a model input or a dataset image may have.
    public static let maxImageSide = 16_384

    /// The most elements one tensor (a parameter, one image's activation, a convolution's scratch)
    /// may hold: 2³¹ − 1, so every size handed to BLAS fits its Int32 arguments.
    public static let maxTensorElements = Int(Int32.max)

    /// The most channels a layer may have (also bounds attention widths, linear widths and classes).
    public static let maxChannels = 1 << 16

    /// The most kernels K a dynamic convolution may mix.
    public static let maxKernels = 1024

    /// The most layers a model may have, counting residual blocks and the layers nested in them.
    public static let maxLayers = 10_000

    /// The most tensors a checkpoint may hold: at most 6 per layer (a dynamic conv's weight,
    /// bias and attention FCs; a BatchNorm has 5 with `num_batches_tracked`).
    public static let maxTensors = 6 * maxLayers

    /// The deepest nesting of residual blocks.
    public static let maxNesting = 32

    /// The deepest nesting of JSON arrays and objects in an architecture: each residual level
    /// adds two (the block object and its `body` array), plus the top object, the `layers` array,
    /// a layer object and its `attention` object, with room to spare. Checked before decoding,
    /// so a hostile architecture cannot exhaust the stack of the recursive decoder.
    public static let maxJSONDepth = 2 * maxNesting + 16

    /// Whether τ is inside `temperature` (NaN is not).
    public static func isValidTemperature(_ tau: Float) -> Bool {
        temperature.contains(tau)
    }

    /// A one-line explanation of the τ range, for error messages.
    public static var temperatureRangeText: String {
        "τ must be a number from \(formatNumber(temperature.lowerBound)) to \(formatNumber(temperature.upperBound))"
    }

    /// Throws when `bytes` (nil: the size overflowed) is more than `memoryBudget`.
    ///
    /// - Parameter what: what needs the memory, e.g. "batch 256 of dycnn"; the message reads
    ///   "\(what) needs about 313.6 GB; the limit is 12.0 GB".
    public static func checkMemory(_ bytes: Int?, for what: String) throws(MemoryLimitError) {
        guard let bytes else {
            throw MemoryLimitError(message: "\(what) needs more memory than can be counted; the limit is \(formatBytes(memoryBudget))")
        }
        guard bytes <= memoryBudget else {
            throw MemoryLimitError(message: "\(what) needs about \(formatBytes(bytes)); the limit is \(formatBytes(memoryBudget))")
        }
    }

    /// Bytes in decimal units with one decimal: "313.6 GB", "4.0 MB", "512 B".
    public static func formatBytes(_ bytes: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    private static func formatNumber(_ x: Float) -> String {
        x >= 1 ? String(Int(x)) : String(format: "%g", Double(x))
    }
}

/// A model, batch or file that would need more memory than `Limits.memoryBudget`.
public struct MemoryLimitError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Overflow-checked size arithmetic: `nil` as soon as a product or sum leaves `Int`.
public enum CheckedSize {
    /// a · b, or nil on overflow or a negative factor.
    @inlinable
    public static func product(_ a: Int?, _ b: Int?) -> Int? {
        guard let a, let b, a >= 0, b >= 0 else { return nil }
        let (p, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : p
    }

    /// The product of all factors, or nil on overflow or a negative factor.
    @inlinable
    public static func product(_ factors: [Int]) -> Int? {
        var p: Int? = 1
        for f in factors { p = product(p, f) }
        return p
    }

    /// a + b, or nil on overflow.
    @inlinable
    public static func sum(_ a: Int?, _ b: Int?) -> Int? {
        guard let a, let b else { return nil }
        let (s, o) = a.addingReportingOverflow(b)
        return o ? nil : s
    }
}

extension ModelDescription {
    /// An upper estimate of the bytes one forward pass of `batch` images needs: the parameters
    /// (dynamic kernels twice: checkpoint and tap-major layouts), the two largest live activations
    /// and the largest convolution scratch, per worker thread. `nil` when a size overflows.
    ///
    /// Call it only on a description that passed `validate()`; an invalid one may give any value.
    public func estimatedInferenceBytes(batch: Int, threads: Int = 2) -> Int? {
        var parameters: Int? = 0
        for p in parameterShapes() { parameters = CheckedSize.sum(parameters, CheckedSize.product(p.shape)) }
        var dynamicKernels: Int? = 0
        var largestActivation: Int? = CheckedSize.product([input.channels, input.height, input.width])
        var largestScratch: Int? = 0
        forEachLayer { layer, shape, out in
            largestActivation = largerSize(largestActivation, CheckedSize.product(out))
            guard case .conv(let c) = layer, shape.count == 3, c.stride > 0, c.groups > 0 else { return }
            let g = ConvGeometry(spec: c, height: shape[1], width: shape[2])
            let scratch = CheckedSize.product([g.groupIn, c.kernel, c.kernel, g.outHeight, g.outWidth])
            // Phase planes of the implicit GEMM: the padded input, about once more.
            let paddedHeight = CheckedSize.sum(shape[1], CheckedSize.product(c.padding, 2))
            let paddedWidth = CheckedSize.sum(shape[2], CheckedSize.product(c.padding, 2))
            let padded = CheckedSize.product(CheckedSize.product(c.inChannels, paddedHeight), paddedWidth)
            largestScratch = largerSize(largestScratch, CheckedSize.sum(scratch, padded))
            if c.isDynamic {
                dynamicKernels = CheckedSize.sum(dynamicKernels, CheckedSize.product(
                    [c.kernels, c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]))
            }
        }
        let floats = CheckedSize.sum(
            CheckedSize.sum(parameters, dynamicKernels),
            CheckedSize.sum(CheckedSize.product(CheckedSize.product(largestActivation, 3), batch),
                            CheckedSize.product(largestScratch, max(threads, 1))))
        return CheckedSize.product(floats, MemoryLayout<Float>.size)
    }
}

/// The larger of two checked sizes; nil (overflow) wins.
@inline(__always)
private func largerSize(_ a: Int?, _ b: Int?) -> Int? {
    guard let a, let b else { return nil }
    return Swift.max(a, b)
}
