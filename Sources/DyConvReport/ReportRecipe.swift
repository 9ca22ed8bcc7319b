import DyConvEngine
import DyConvTraining
import Foundation

// A checkpoint's training recipe (`dyconv.recipe`) as the report groups and compares by it.
//
// The recipe is decoded by DyConvTraining's `TrainingConfig` (the one home of the format: a
// missing key takes its default, so an old recipe without `blocks` equals a new one with
// `blocks: 3`), encoded again, and reduced to the fields that can change the result, but the
// seed: `seed` and `threads` always go, `blocks` outside the dyresnet families, and for a static
// model K and every attention field (nothing in it uses them). What stays is written as
// "key=value" parts in key order, arrays joined by "/":
//
//   {"model":"dycnn","widths":[8,16,32],"kernels":2,"seed":1,…}
//     → ["attentionInit=kaiming", …, "kernels=2", …, "model=dycnn", …, "widths=8/16/32"]
//
// Two checkpoints with equal parts are the same experiment at another seed (one `GroupReport`);
// `ReportComparisons` reads the parts back (`RecipeFields`) to find groups that differ in one respect.

/// The recipe fields a static model does not use: the attention branch, its τ schedule and K.
let attentionOnlyFields: Set<String> = [
    "kernels", "temperatureStart", "temperatureEnd", "temperatureEpochs", "attentionInit", "attentionWeightDecay",
    "attentionLRMultiplier",
]

/// The recipe fields of the training τ schedule.
let temperatureScheduleFields: Set<String> = ["temperatureStart", "temperatureEnd", "temperatureEpochs"]

enum RecipeParts {
    /// The grouping parts of `config` for a model whose dynamic layers route as `routing`
    /// ("static" when it has none).
    static func parts(of config: TrainingConfig, routing: String) throws -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let fields = try JSONDecoder().decode([String: RecipeValue].self, from: encoder.encode(config))
        var dropped: Set<String> = ["seed", "threads"]
        if !TrainingConfig.dyresnetFamilies.contains(config.model) { dropped.insert("blocks") }
        if !TrainingConfig.configurableFamilies.contains(config.model) { dropped.formUnion(["widths", "kernels", "blocks"]) }
        if routing == "static" { dropped.formUnion(attentionOnlyFields) }
        return fields.keys.sorted().filter { !dropped.contains($0) }.map { "\($0)=\(fields[$0]!.text)" }
    }

    /// "τ 30→1/5ep" (annealed from 30 to 1 over 5 epochs), or "constant τ 1" when τ does not
    /// anneal (start = end, or over 0 epochs). Short, because it labels bars and table rows; the same
    /// text is part of every group label.
    static func scheduleText(start: String, end: String, epochs: String) -> String {
        if start == end || Double(epochs) == 0 { return "constant τ \(end)" }
        return "τ \(start)→\(end)/\(epochs)ep"
    }
}

/// The "key=value" parts of a checkpoint's recipe as a dictionary.
struct RecipeFields: Equatable, Hashable {
    var values: [String: String]

    init(parts: [String]) {
        var values: [String: String] = [:]
        for part in parts {
            guard let eq = part.firstIndex(of: "=") else { continue }
            values[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        self.values = values
    }

    subscript(_ key: String) -> String? { values[key] }

    /// The fields without `keys`.
    func removing(_ keys: Set<String>) -> RecipeFields {
        var copy = self
        for k in keys { copy.values[k] = nil }
        return copy
    }

    /// The fields with the model family replaced by its base ("dycnn-static" → "dycnn"): the
    /// static and CondConv twins of a family then compare equal to it.
    func withBaseFamily() -> RecipeFields {
        var copy = self
        if let m = values["model"] { copy.values["model"] = Self.baseFamily(m) }
        return copy
    }

    static func baseFamily(_ model: String) -> String {
        for suffix in ["-static", "-condconv"] where model.hasSuffix(suffix) { return String(model.dropLast(suffix.count)) }
        return model
    }
}

/// One value of the encoded recipe, printed compactly: 30 (not 30.0), 0.0005, true, 8/16/32.
enum RecipeValue: Decodable {
    case integer(Int), number(Double), boolean(Bool), text(String), list([RecipeValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Bool.self) { self = .boolean(v) }
        else if let v = try? c.decode(Int.self) { self = .integer(v) }
        else if let v = try? c.decode(Double.self) { self = .number(v) }
        else if let v = try? c.decode(String.self) { self = .text(v) }
        else { self = .list(try c.decode([RecipeValue].self)) }
    }

    var text: String {
        switch self {
        case .integer(let v): return String(v)
        case .number(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
        case .boolean(let v): return v ? "true" : "false"
        case .text(let v): return v
        case .list(let vs): return vs.map(\.text).joined(separator: "/")
        }
    }
}
