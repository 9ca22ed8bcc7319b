import Foundation
import DyConvEngine

/// What the user says on the command line and the state_dict does not hold: the input shape,
/// the normalisation the network was trained with, the class names and τ.
public struct ImportOptions: Sendable, Equatable {
    /// `--input CxHxW`: the image shape the network was trained on.
    public var input: InputSpec
    /// `--mean` / `--std`: per-channel, on [0, 1] pixels, as torchvision's `Normalize`.
    public var normalization: Normalization
    /// `--classes FILE`: one name per logit; nil numbers them `class 0` … from the classifier width.
    public var classes: [String]?
    /// `--tau T`: τ lives in the PyTorch module (or is passed to `forward`), not in the
    /// state_dict; nil takes the preset's `defaultTemperature`.
    public var temperature: Float?
    /// `--routing`: for layouts whose tensors cannot tell softmax (DyConv) from sigmoid
    /// (CondConv) routing (the `dyconv` preset); nil takes the preset's default.
    public var routing: Routing?

    public init(input: InputSpec, normalization: Normalization, classes: [String]? = nil,
                temperature: Float? = nil, routing: Routing? = nil) {
        self.input = input
        self.normalization = normalization
        self.classes = classes
        self.temperature = temperature
        self.routing = routing
    }
}

extension ImportOptions {
    /// The most class names a `--classes` file may hold (the engine's channel limit).
    public static var maxClasses: Int { Limits.maxChannels }
    /// The largest `--classes` file read, in bytes.
    public static let maxClassesFileBytes = 16 << 20

    /// Parses `CxHxW` (`3x32x32`, also with `×`) into an input shape inside the engine's limits.
    public static func parseInput(_ text: String) throws(ImportError) -> InputSpec {
        let parts = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "×" || $0 == "X" })
        let values = parts.compactMap { Int($0) }
        guard parts.count == 3, values.count == 3 else {
            throw ImportError(.invalidOption, file: "--input", "'\(text)' is not CxHxW (e.g. 3x32x32)")
        }
        guard (1...Limits.maxChannels).contains(values[0]),
              values[1...].allSatisfy({ (1...Limits.maxImageSide).contains($0) }) else {
            throw ImportError(.invalidOption, file: "--input",
                "'\(text)': channels must be from 1 to \(Limits.maxChannels) and sides from 1 to \(Limits.maxImageSide)")
        }
        return InputSpec(channels: values[0], height: values[1], width: values[2])
    }

    /// Parses a comma-separated list of finite numbers (`0.4914,0.4822,0.4465`) for `flag`.
    public static func parseNumbers(_ text: String, flag: String, positive: Bool = false) throws(ImportError) -> [Float] {
        var out: [Float] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let v = Float(trimmed), v.isFinite, !positive || v > 0 else {
                throw ImportError(.invalidOption, file: flag,
                    "'\(text)' is not a comma-separated list of finite\(positive ? " positive" : "") numbers")
            }
            out.append(v)
        }
        return out
    }

    /// Checks that `mean` and `std` have one value per input channel and builds the normalisation.
    public static func normalization(mean: [Float], std: [Float], channels: Int) throws(ImportError) -> Normalization {
        guard mean.count == channels, std.count == channels else {
            throw ImportError(.invalidOption, file: "--mean/--std",
                "need \(channels) values each (one per input channel), got \(mean.count) and \(std.count)")
        }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
            throw ImportError(.invalidOption, file: "--mean/--std", "values must be finite and std > 0")
        }
        return Normalization(mean: mean, std: std)
    }

    /// Reads a `--classes` file: UTF-8 text, one class name per line (surrounding spaces and a
    /// trailing `\r` removed); blank lines at the end are ignored, a blank line inside is an error.
    public static func readClasses(path: String) throws(ImportError) -> [String] {
        let bytes: [UInt8]
        let size: Int
        do { (bytes, size) = try Files.readPrefix(path: path, count: maxClassesFileBytes) } catch {
            throw ImportError(.invalidOption, file: path, error.reason)
        }
        guard size <= maxClassesFileBytes else {
            throw ImportError(.invalidOption, file: path,
                "is \(Limits.formatBytes(size)), more than a class list needs (limit \(Limits.formatBytes(maxClassesFileBytes)))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ImportError(.invalidOption, file: path, "is not UTF-8 text")
        }
        // "\r\n" is one Character in Swift: split on both, so Windows files read the same.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        while lines.last?.isEmpty == true { lines.removeLast() }
        if let blank = lines.firstIndex(where: \.isEmpty) {
            throw ImportError(.invalidOption, file: path, "line \(blank + 1) is empty (one class name per line)")
        }
        guard !lines.isEmpty else { throw ImportError(.invalidOption, file: path, "holds no class names") }
        guard lines.count <= maxClasses else {
            throw ImportError(.invalidOption, file: path, "holds \(lines.count) names, more than the limit of \(maxClasses)")
        }
        return lines
    }
}
