import Foundation

/// The environment variables dyconv reads, in one table with one parser.
///
/// Each knob is an integer with a documented range, or a path. Code that needs a knob asks
/// `EnvironmentSetting.x.integer` (nil when the variable is unset); the executables call
/// `EnvironmentSetting.validateAll()` first, so a value that does not parse or lies outside its
/// range is one clear line and a usage exit instead of being silently ignored. docs/ENVIRONMENT.md
/// lists the same table (a test keeps the two equal).
///
/// ```
/// DYCONV_THREADS=1 dyconv bench --model dycnn      # one worker thread
/// DYCONV_THREADS=zero dyconv eval …                 # dyconv: error: DYCONV_THREADS=zero: …
/// ```
public enum EnvironmentSetting: String, CaseIterable, Sendable {
    /// Worker threads of the engine's forward passes (default: active processors, at most 8).
    case threads = "DYCONV_THREADS"
    /// The memory budget in MiB for one model, batch, dataset or training run (default: half
    /// the RAM, at most 64 GiB).
    case memoryLimitMB = "DYCONV_MEMORY_LIMIT_MB"
    /// Multiply-adds from which one sample's implicit-GEMM convolution splits over the cores.
    case splitThreshold = "DYCONV_SPLIT_THRESHOLD"
    /// Samples per depth-first slice of a batch (default: chosen from the model's size).
    case slice = "DYCONV_SLICE"
    /// Input channels from which a convolution runs as implicit GEMM (0 turns the path off).
    case implicitMinimumChannels = "DYCONV_IMPLICIT_MIN_CHANNELS"
    /// The folder holding dyconv's bundled assets (default: found from the executable).
    case assets = "DYCONV_ASSETS"

    /// The accepted integers, or nil for a path.
    public var range: ClosedRange<Int>? {
        switch self {
        case .threads: 1...64
        case .memoryLimitMB: 1...(1 << 30)
        case .splitThreshold: 0...Int(Int32.max)
        case .slice: 1...4096
        case .implicitMinimumChannels: 0...Limits.maxChannels
        case .assets: nil
        }
    }

    /// One line on what the knob does, as docs/ENVIRONMENT.md shows it.
    public var summary: String {
        switch self {
        case .threads: "worker threads of the engine's forward passes (default: active processors, at most 8)"
        case .memoryLimitMB: "memory budget in MiB for one model, batch, dataset or training run (default: half the RAM, at most 64 GiB)"
        case .splitThreshold: "multiply-adds from which one sample's implicit-GEMM convolution splits over the cores (default 16000000)"
        case .slice: "samples per depth-first slice of a batch (default: chosen from the model's size)"
        case .implicitMinimumChannels: "input channels from which a convolution runs as implicit GEMM; 0 turns that path off (default 8)"
        case .assets: "the folder holding the bundled checkpoints and Fashion-MNIST sample (default: found from the executable)"
        }
    }

    /// The variable's text, or nil when it is unset or empty.
    public var text: String? { Files.environment(rawValue) }

    /// The knob's integer: nil when it is unset, not an integer knob, or invalid (executables
    /// refuse invalid values up front with `validateAll()`).
    public var integer: Int? {
        guard let text else { return nil }
        return try? Self.parse(text, range: range, name: rawValue)
    }

    /// Checks every knob that is set.
    ///
    /// - Throws: `EnvironmentError` naming the first variable whose value is not accepted.
    public static func validateAll() throws(EnvironmentError) {
        for setting in allCases {
            guard let text = setting.text else { continue }
            _ = try parse(text, range: setting.range, name: setting.rawValue)
        }
    }

    /// `text` as an integer within `range` (a path knob accepts any text and returns 0).
    static func parse(_ text: String, range: ClosedRange<Int>?, name: String) throws(EnvironmentError) -> Int {
        guard let range else { return 0 }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw EnvironmentError("\(name)=\(text): must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

/// An environment variable with a value dyconv does not accept (one line).
public struct EnvironmentError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
