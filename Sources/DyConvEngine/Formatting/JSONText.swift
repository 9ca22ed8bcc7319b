import Foundation

// The one JSON writer of dyconv's outputs: the CLI's `--json` texts and the report's report.json.
//
// Both must be byte-stable (a test regenerates report.json and compares it), so keys are sorted,
// slashes are not escaped ("T-shirt/top") and a non-finite number, which JSON cannot hold, is
// written as `null` instead of making the encoder throw.
//
//   jsonText(["b": 1.5, "a": .nan])  →  {\n  "a" : null,\n  "b" : 1.5\n}

/// A number in dyconv's JSON: itself when finite, `null` when NaN or ±inf (JSON has neither).
///
/// Every floating-point field of a `--json` output is a `JSONNumber`, so a non-finite value can
/// never make the encoder throw or write a non-standard token. A `Float` keeps its short form
/// (0.1, not 0.10000000149011612).
public struct JSONNumber: Encodable, Equatable, Sendable {
    private enum Value: Equatable { case float(Float), double(Double) }
    private let value: Value

    public init(_ v: Float) { value = .float(v) }
    public init(_ v: Double) { value = .double(v) }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .float(let v): if v.isFinite { try c.encode(v) } else { try c.encodeNil() }
        case .double(let v): if v.isFinite { try c.encode(v) } else { try c.encodeNil() }
        }
    }
}

extension Sequence where Element == Float {
    /// The values as JSON numbers (non-finite → null).
    public var json: [JSONNumber] { map(JSONNumber.init) }
}

extension Sequence where Element == Double {
    /// The values as JSON numbers (non-finite → null).
    public var json: [JSONNumber] { map(JSONNumber.init) }
}

/// The JSON text of `value`: key-sorted, slashes unescaped, pretty unless `pretty` is false.
///
/// Plain `Float`/`Double` fields (the report's `Codable` model, which also decodes) that are not
/// finite are written as `null`, like a `JSONNumber`: the encoder first writes them as a marker
/// string, which is then replaced by `null`. A value whose own strings contain the marker is
/// refused rather than corrupted.
public func jsonText<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
    let enc = JSONEncoder()
    enc.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: nonFiniteMarker, negativeInfinity: nonFiniteMarker,
                                                              nan: nonFiniteMarker)
    let text = String(decoding: try enc.encode(value), as: UTF8.self)
    let quoted = "\"\(nonFiniteMarker)\""
    guard text.contains(quoted) else { return text }
    let plain = JSONEncoder()
    plain.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    if String(decoding: try plain.encode(value), as: UTF8.self).contains(nonFiniteMarker) {
        throw EncodingError.invalidValue(nonFiniteMarker, .init(codingPath: [], debugDescription: "a string holds the JSON writer's marker"))
    }
    return text.replacingOccurrences(of: quoted, with: "null")
}

/// Stands for a non-finite number between encoding and the `null` substitution of `jsonText`.
private let nonFiniteMarker = "dyconv-non-finite-7f1c"
