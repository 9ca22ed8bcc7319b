import DyConvEngine
import Foundation

/// The checkpoint fuzz target's harness: one fuzz input → a safetensors file → `Checkpoint` →
/// `Model` → one forward pass with a trace, exactly as `dyconv inspect` loads and runs a file.
///
/// Shared by the libFuzzer entry point (`Fuzz/checkpoint/Entry.swift`, built by `Fuzz/build.sh`)
/// and `FuzzRegressionTests`, which replays every committed input without libFuzzer. Anything
/// the pipeline throws is a correct outcome; a trap, a sanitizer report, a hang or unbounded
/// memory is a finding.
///
/// Input layout. Byte 0 packs the pipeline mode (bits 0–1), the aggregation mode (bits 2–4,
/// mod 5), a τ override (bits 5–6: trained, 1e-4, 1e5, 0.7 — all inside `Limits.temperature`,
/// as the CLI accepts no other) and the batch size (bit 7: 1 or 2). The rest is:
/// - mode 0, *raw*: the bytes of a safetensors file (byte mutation of the container);
/// - mode 1, *json*: the architecture JSON text; the harness adds the tensors it needs
///   (seeded values) when it decodes and validates, so mutations reach the model;
/// - modes 2–3, *structured*: byte 1 picks a seed model built in memory, the rest is a program
///   of edits (`Edit`) to its description, its weights and its container, which byte mutation
///   alone never reaches (every crash of issue #8 came from values inside the JSON and weights).
public enum CheckpointFuzzInput {
    /// What one input did; the regression test only needs "did not trap", the counts are for the README.
    public enum Outcome: Equatable, Sendable {
        /// The pipeline threw (the message a user would see).
        case rejected(String)
        /// The model ran; `classes` is the width of the logits.
        case ran(classes: Int)
        /// Valid but too big or slow for one fuzz execution (refused by the memory budget or
        /// over `maxMultiplyAdds`); not a finding.
        case skipped(String)
    }

    /// The largest forward pass (multiply-adds per image) one execution runs: a legitimately
    /// large model is slow, not wrong, and would otherwise count as a hang.
    public static let maxMultiplyAdds = 20_000_000

    /// The memory budget the harness sets (`DYCONV_MEMORY_LIMIT_MB`) before the engine reads it, well
    /// under the fuzzer's `-rss_limit_mb=2048`, so an estimate that is too low shows as an RSS finding.
    public static let memoryLimitMB = 512

    /// Known findings to step around (`DYCONV_FUZZ_AVOID=k1,geometry,image-output`), so an exploratory run on a
    /// tree without their fixes goes on finding new ones: `k1` skips models with a dynamic conv of
    /// K = 1, `geometry` models with an integer field over 2²⁴ (the overflows in validate() and
    /// the convolution plans) or a conv stride over 4096 (s² phase slots allocated in `Model.init`), `image-output`
    /// networks whose output is an image (every pixel becomes a logit). Empty by default (`make fuzz`).
    nonisolated(unsafe) static var avoid: Set<String> = []

    /// Sets the environment the harness assumes; the fuzzer calls it once, before anything reads
    /// `Limits` (the regression tests do not: the budget would change for every later test).
    public static func configureEnvironment() {
        if let list = ProcessInfo.processInfo.environment["DYCONV_FUZZ_AVOID"] {
            avoid = Set(list.split(separator: ",").map(String.init))
        }
        setenv("DYCONV_MEMORY_LIMIT_MB", "\(memoryLimitMB)", 0)
        setenv("DYCONV_THREADS", "1", 0)
        setenv("OPENBLAS_NUM_THREADS", "1", 0)
    }

    /// Runs one fuzz input through the pipeline.
    public static func run(_ data: [UInt8]) -> Outcome {
        guard let first = data.first else { return .rejected("empty input") }
        let options = forwardOptions(first)
        let batch = first & 0x80 != 0 ? 2 : 1
        let body = Array(data.dropFirst())
        let container: [UInt8]
        switch first & 3 {
        case 0: container = body
        case 1: container = jsonContainer(body)
        default: container = Structured.container(body)
        }
        return runPipeline(container, options: options, batch: batch)
    }

    /// The architecture JSON the input's container carries ("" if none), for triage.
    public static func architecture(_ data: [UInt8]) -> String {
        guard let first = data.first else { return "" }
        let body = Array(data.dropFirst())
        let container = first & 3 == 0 ? body : first & 3 == 1 ? jsonContainer(body) : Structured.container(body)
        let file = try? SafetensorsFile.decode(container, path: "fuzz.safetensors", ignoring: Checkpoint.isIgnoredTensorName)
        return file?.metadata[Checkpoint.MetadataKey.architecture] ?? ""
    }

    /// The seed inputs committed under `Fuzz/corpus/checkpoint/`, by file name.
    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for (i, seed) in Structured.seeds.enumerated() {
            // raw container of each seed model, default options
            out.append(("raw-\(seed.label)", [0] + Structured.serialize(Structured.Container(seed.description, seed.parameters))))
            // the empty edit program on each seed, every aggregation mode across the seeds
            out.append(("structured-\(seed.label)", [UInt8(2 | ((i % 5) << 2)), UInt8(i)]))
        }
        // raw containers of half-precision (and F64) files, so byte mutation starts from valid
        // F16/BF16/F64 data (snapshots are F16 since issue #9)
        for (i, dtype) in [(0, TensorDType.f16), (1, .f16), (0, .bf16), (5, .f64)] {
            let seed = Structured.seeds[i]
            out.append(("raw-\(dtype.rawValue.lowercased())-\(seed.label)",
                        [0] + Structured.serialize(Structured.Container(seed.description, seed.parameters, dtype: dtype))))
        }
        // one program per kind of edit, so mutation starts from every op
        let programs: [(String, [UInt8])] = [
            ("ints", [2, 0, 0, 7, 2]), ("small-int", [2, 5, 2, 9, 9]), ("floats", [2, 6, 3, 1, 10]),
            ("k", [2, 6, 5, 2]), ("routing", [2, 5, 6, 1, 1]), ("classes", [2, 0, 7, 3]), ("nest", [2, 5, 8, 3, 2, 10]),
            ("duplicate", [2, 2, 9, 4]), ("delete", [2, 2, 10, 5]), ("insert", [2, 6, 11, 2, 1, 2, 1]),
            ("bias", [2, 5, 12, 1, 1]), ("tau", [2, 1, 13, 10]), ("normalization", [2, 6, 14, 2, 2]), ("rename", [2, 5, 15, 1, 2]),
            ("weight", [3, 0, 16, 3, 0, 7, 2]), ("fill", [2, 5, 17, 2, 0, 0, 4]), ("scale", [2, 6, 18, 1, 0, 0, 2]),
            ("bn-stats", [2, 0, 19, 0, 0, 1, 12]), ("bits", [2, 5, 20, 4, 1, 2, 3]), ("pattern", [2, 6, 21, 0, 0, 0, 2]),
            ("dtype", [2, 0, 22, 3, 0, 0, 5]), ("shape-append", [2, 5, 23, 1, 0, 0, 0]), ("shape-dim", [2, 6, 24, 2, 0, 0, 3]),
            ("offsets", [2, 0, 25, 1, 0, 0, 1]), ("truncate", [2, 5, 26, 2, 0, 0, 1]), ("tensor-name", [2, 6, 27, 0, 0, 2, 2]),
            ("metadata", [2, 0, 28, 1, 0, 0, 5]), ("no-architecture", [2, 5, 29, 0, 0, 0, 0]), ("json-token", [2, 0, 30, 0, 0, 9, 7]),
        ]
        for (label, program) in programs { out.append(("op-\(label)", program)) }
        out.append(("json-dycnn", [1] + Array(Structured.seeds[0].description.jsonString().utf8)))
        out.append(("json-residual", [0x85] + Array(Structured.seeds[5].description.jsonString().utf8)))
        return out.map { (name: $0.0, bytes: $0.1) }
    }

    // MARK: Pipeline

    /// The pipeline of `dyconv inspect`: decode the container, read the checkpoint, build the
    /// model, check the memory estimate, run a normalised batch, read the trace as printers do.
    static func runPipeline(_ bytes: [UInt8], options: ForwardOptions, batch: Int) -> Outcome {
        do {
            let file = try SafetensorsFile.decode(bytes, path: "fuzz.safetensors", ignoring: Checkpoint.isIgnoredTensorName)
            if !avoid.isEmpty, let text = file.metadata[Checkpoint.MetadataKey.architecture],
               let d = try? ModelDescription.fromJSON(text), let known = avoided(d) {
                return .skipped("avoided known finding: \(known)")
            }
            let checkpoint = try Checkpoint(file: file, path: "fuzz.safetensors")
            let model = try checkpoint.makeModel()
            let d = model.description
            _ = d.jsonString()
            let estimate = d.estimatedInferenceBytes(batch: batch, threads: 1)
            try Limits.checkMemory(estimate, for: "fuzz model")
            // The same bound where the environment is not the fuzzer's (the regression tests run in
            // a process whose budget other tests set).
            guard let bytes = estimate, bytes <= memoryLimitMB << 20 else { return .skipped("over \(memoryLimitMB) MB") }
            let work = d.multiplyAdds()
            guard work <= maxMultiplyAdds else { return .skipped("\(work) multiply-adds per image") }
            let i = d.input
            // Pixels normalised as `ImageDataset.batch` does, (p/255 − mean)/std: a tiny std makes them huge.
            var x = Tensor.zeros([batch, i.channels, i.height, i.width])
            let plane = i.height * i.width
            for k in 0..<x.count {
                let c = (k / plane) % i.channels
                x.data[k] = (Float(UInt8(truncatingIfNeeded: k &* 37 &+ 11)) / 255 - d.normalization.mean[c]) / d.normalization.std[c]
            }
            try model.validateInput(shape: x.shape)
            // As every caller does (`evaluate`, `inspect`, the TUI): options checked against the
            // model, and in shuffle-across mode one partner image per sample (here: x reversed).
            try options.validate(for: model)
            var partners: Tensor?
            if options.mode == .shuffleAcross {
                var p = x
                p.data.reverse()
                partners = p
            }
            let trace = model.forward(x, options: options, partners: partners)
            // Read everything a printer reads.
            var checksum: Float = 0
            for n in 0..<trace.batchSize {
                if trace.classCount > 0 {
                    _ = trace.prediction(sample: n)
                    for (_, p) in trace.topK(sample: n, k: 5) { checksum += p }
                }
                for layer in trace.layers {
                    checksum += normalizedEntropy(layer.attention(sample: n))
                    for v in layer.applied(sample: n) { checksum += v }
                    for v in layer.logits(sample: n) { checksum += v }
                }
            }
            blackHole(checksum)
            return .ran(classes: trace.classCount)
        } catch {
            return .rejected("\(error)")
        }
    }

    /// The `avoid` entry `d` falls under, if any.
    static func avoided(_ d: ModelDescription) -> String? {
        guard !avoid.isEmpty else { return nil }
        if avoid.contains("k1"), d.dynamicConvolutions.contains(where: { $0.kernels == 1 }) { return "k1" }
        if avoid.contains("geometry") {
            var copy = d, large = false
            Structured.mapInts(&copy) { if $0 > 1 << 24 { large = true } }
            Structured.mapConvs(&copy) { if $0.stride > 4096 { large = true } }
            if large { return "geometry" }
        }
        if avoid.contains("image-output"), let shape = try? d.validate(), shape.count != 1 { return "image-output" }
        return nil
    }

    @inline(never) static func blackHole(_ x: Float) { if x == 0x1p-149 { print("") } }

    /// Forward options from byte 0: aggregation mode, τ override (always inside the documented range).
    static func forwardOptions(_ b: UInt8) -> ForwardOptions {
        let modes = AggregationMode.allCases
        let taus: [Float?] = [nil, 1e-4, 1e5, 0.7]
        return ForwardOptions(temperature: taus[Int((b >> 5) & 3)], mode: modes[Int((b >> 2) & 7) % modes.count],
                              seed: UInt64(b), collectTrace: true)
    }

    /// Mode 1: the body is the architecture JSON; tensors are added when it decodes and validates.
    static func jsonContainer(_ body: [UInt8]) -> [UInt8] {
        let text = String(decoding: body, as: UTF8.self)
        var parameters: [String: Tensor] = [:]
        if let d = try? ModelDescription.fromJSON(text), avoided(d) == nil, (try? d.validate()) != nil,
           let total = d.parameterShapes().reduce(Optional(0), { CheckedSize.sum($0, CheckedSize.product($1.shape)) }),
           total <= Structured.maxParameters {
            parameters = Model.seededParameters(d, seed: 1)
        }
        var c = Structured.Container(nil, parameters)
        c.metadata[Checkpoint.MetadataKey.architecture] = text
        return Structured.serialize(c)
    }
}

// MARK: - Structured mode

extension CheckpointFuzzInput {
    /// Seed models and the edit program applied to them.
    enum Structured {
        /// The most parameters the harness generates for an edited description.
        static let maxParameters = 1 << 20

        struct Seed { var label: String; var description: ModelDescription; var parameters: [String: Tensor] }

        /// Small models (a few KB each) covering every layer kind, routing, K = 1…8, nesting and groups.
        static let seeds: [Seed] = {
            func seed(_ label: String, _ d: ModelDescription) -> Seed {
                Seed(label: label, description: d, parameters: Model.seededParameters(d, seed: 7))
            }
            // dycnn's layers and names on 12×12 images (12 → 6 → 3): 5× faster than 28×28, same code paths.
            func small(_ d: ModelDescription) -> ModelDescription {
                var d = d
                d.input.height = 12
                d.input.width = 12
                return d
            }
            let fashion = Families.fashionMNISTClasses
            func dyn(_ name: String, _ i: Int, _ o: Int, k: Int, kernels: Int, routing: Routing, stride: Int = 1,
                     padding: Int = 0, groups: Int = 1, bias: Bool = false, fc1Bias: Bool = false, tau: Float = 1) -> LayerSpec {
                .conv(ConvSpec(name: name, inChannels: i, outChannels: o, kernel: k, stride: stride, padding: padding,
                               groups: groups, bias: bias, routing: routing, kernels: kernels,
                               attention: AttentionSpec(hidden: 4, fc1Bias: fc1Bias, temperature: tau)))
            }
            func stat(_ name: String, _ i: Int, _ o: Int, k: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false) -> LayerSpec {
                .conv(ConvSpec(name: name, inChannels: i, outChannels: o, kernel: k, stride: stride, padding: padding, bias: bias))
            }
            let residual = ModelDescription(
                family: "fuzz-residual", input: InputSpec(channels: 3, height: 8, width: 8),
                normalization: Families.imageNetNormalization, classes: ["a", "b", "c"],
                layers: [
                    stat("stem", 3, 4, k: 3, padding: 1, bias: true),
                    .batchNorm(BatchNormSpec(name: "stem_bn", channels: 4)), .activation(.relu6),
                    .residual(body: [dyn("b1.conv1", 4, 4, k: 3, kernels: 3, routing: .softmax, padding: 1, fc1Bias: true, tau: 30),
                                     .batchNorm(BatchNormSpec(name: "b1.bn1", channels: 4)), .activation(.hardswish),
                                     .residual(body: [stat("b1.inner", 4, 4, k: 1)], shortcut: [])],
                              shortcut: []),
                    .residual(body: [dyn("b2.conv", 4, 6, k: 3, kernels: 2, routing: .sigmoid, stride: 2, padding: 1, bias: true)],
                              shortcut: [stat("b2.down", 4, 6, k: 1, stride: 2)]),
                    .maxPool(PoolSpec(kernel: 2, stride: 1)), .avgPool(PoolSpec(kernel: 3, stride: 1, padding: 1)),
                    .globalAvgPool, .linear(LinearSpec(name: "fc", inFeatures: 6, outFeatures: 3)),
                ])
            let depthwise = ModelDescription(
                family: "fuzz-depthwise", input: InputSpec(channels: 2, height: 6, width: 6),
                normalization: Normalization(mean: [0.5, 0.5], std: [0.25, 0.25]), classes: ["x", "y"],
                layers: [
                    stat("expand", 2, 4, k: 1),
                    dyn("dw", 4, 4, k: 3, kernels: 2, routing: .sigmoid, padding: 1, groups: 4),
                    .batchNorm(BatchNormSpec(name: "dw_bn", channels: 4)), .activation(.relu),
                    dyn("pw", 4, 4, k: 1, kernels: 5, routing: .softmax, tau: 0.5),
                    .globalAvgPool, .linear(LinearSpec(name: "head", inFeatures: 4, outFeatures: 2, bias: false)),
                ])
            return [
                seed("dycnn-softmax-k4", small(Families.dycnn(widths: [2, 4, 4], routing: .softmax, kernels: 4, temperature: 1, classes: fashion))),
                seed("dycnn-sigmoid-k2", small(Families.dycnn(widths: [2, 2, 4], routing: .sigmoid, kernels: 2, temperature: 1, classes: fashion))),
                seed("dycnn-static", small(Families.dycnn(widths: [2, 2, 2], routing: .static, kernels: 1, temperature: 1, classes: fashion))),
                seed("dycnn-softmax-k1", small(Families.dycnn(widths: [2, 2, 2], routing: .softmax, kernels: 1, temperature: 1, classes: fashion))),
                seed("dycnn-softmax-k8", small(Families.dycnn(widths: [2, 2, 2], routing: .softmax, kernels: 8, temperature: 0.3, classes: fashion))),
                seed("residual", residual),
                seed("depthwise", depthwise),
            ]
        }()

        /// Interesting integers for every integer field (shapes, strides, paddings, K, …).
        static let ints: [Int] = [0, 1, -1, 2, 3, 4, 5, 7, 8, 9, 16, 28, 255, 256, 1000, 10_000, 16_384, 16_385, 65_536,
                                  Int(Int32.max), 1 << 31, 1 << 32, (1 << 53) + 1, 1 << 61, 1 << 62, Int.max, Int.min, -(1 << 31)]
        /// Interesting finite floats for architecture fields (τ, eps, mean, std).
        static let floats: [Float] = [0, -0.0, 1, -1, .leastNonzeroMagnitude, Float("1e-40")!, Float("1e-39")!, 1.2e-38, 1e-5, 1e-4, 0.5, 2, 1e5, 1e6, 1e30, 3e38, -3e38,
                                      .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude]
        /// Interesting weights (non-finite included: the container allows them, the checkpoint must refuse them).
        static let weights: [Float] = floats + [.nan, .infinity, -.infinity, -.leastNonzeroMagnitude, 1e20, -1e20, 65504, 1e-20]
        /// Replacement tokens for numbers in the architecture JSON text.
        static let tokens: [String] = ["0", "-0", "1", "-1", "1e400", "-1e400", "9007199254740993", "2305843009213693952",
                                       "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e-45", "1e-39",
                                       "1.0e-40", "3.5e38", "1e30", "0.5", "1.5", "2.0", "1E2", "\"NaN\"", "\"nan\"", "\"inf\"",
                                       "null", "true", "[]", "{}", "\"1\"", "100000", "16385", "4.0000000000000001"]

        /// A safetensors file under construction: entries keep their own dtype, shape and bytes so
        /// edits can make them disagree.
        struct Container {
            struct Entry { var name: String; var dtype = "F32"; var shape: [Int]; var bytes: [UInt8]; var offsetShift = 0 }
            var entries: [Entry]
            var metadata: [String: String]

            /// The container of a model, its tensors stored as `dtype`.
            init(_ description: ModelDescription?, _ parameters: [String: Tensor], dtype: TensorDType = .f32) {
                entries = parameters.keys.sorted().map { name in
                    let t = parameters[name]!
                    guard dtype != .f32 else { return Entry(name: name, shape: t.shape, bytes: t.data.withUnsafeBytes { Array($0) }) }
                    return Entry(name: name, dtype: dtype.rawValue, shape: t.shape, bytes: TensorDType.encode(t.data, as: dtype))
                }
                metadata = [Checkpoint.MetadataKey.format: "dyconv", Checkpoint.MetadataKey.formatVersion: Checkpoint.formatVersion]
                // As `jsonString()` encodes, but an edit can nest deeper than JSONEncoder goes: no `try!` here.
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                if let description, let json = try? encoder.encode(description) {
                    metadata[Checkpoint.MetadataKey.architecture] = String(decoding: json, as: UTF8.self)
                }
            }
        }

        /// The file bytes: 8-byte length, header JSON (metadata, then entries in order), data.
        static func serialize(_ c: Container) -> [UInt8] {
            var json = "{\"__metadata__\":{"
            json += c.metadata.keys.sorted().map { quoted($0) + ":" + quoted(c.metadata[$0]!) }.joined(separator: ",")
            json += "}"
            var offset = 0
            var data: [UInt8] = []
            for e in c.entries {
                let begin = offset + e.offsetShift
                let end = begin + e.bytes.count
                json += "," + quoted(e.name) + ":{\"dtype\":" + quoted(e.dtype) + ",\"shape\":["
                    + e.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(begin),\(end)]}"
                offset += e.bytes.count
                data += e.bytes
            }
            json += "}"
            var header = Array(json.utf8)
            while header.count % 8 != 0 { header.append(0x20) }
            var out: [UInt8] = []
            out.reserveCapacity(8 + header.count + data.count)
            for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(k)))) }
            return out + header + data
        }

        static func quoted(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }

        /// Reads the program's bytes; reading past the end gives zeros, so every input is a program.
        struct Reader {
            let bytes: [UInt8]
            var at = 0
            var isAtEnd: Bool { at >= bytes.count }
            mutating func byte() -> Int { defer { at += 1 }; return at < bytes.count ? Int(bytes[at]) : 0 }
            mutating func u16() -> Int { byte() << 8 | byte() }
            mutating func pick<T>(_ list: [T]) -> T { list[byte() % list.count] }
        }

        /// Applies the program to the seed chosen by its first byte and serialises the result.
        ///
        /// Ops (one byte, then operands) are applied in three phases whatever their order in the
        /// input: description edits (weights regenerated when the result validates), weight edits,
        /// then container and JSON-text edits.
        static func container(_ program: [UInt8]) -> [UInt8] {
            var r = Reader(bytes: program)
            let seed = seeds[r.byte() % seeds.count]
            var description = seed.description
            var weightOps: [(Int, Int, Int, Int)] = []
            var containerOps: [(Int, Int, Int, Int)] = []
            var descriptionOps = 0
            // At most `maxOps` ops of each phase: every description edit walks the whole tree, and a
            // longer program only makes the harness slow, not the pipeline's input more interesting.
            while !r.isAtEnd && descriptionOps < maxOps && weightOps.count < maxOps && containerOps.count < maxOps {
                let op = r.byte()
                if op % 32 < 16 { descriptionOps += 1 }
                switch op % 32 {
                case 0..<16: editDescription(&description, op: op % 16, &r)
                case 16..<22: weightOps.append((op % 32 - 16, r.byte(), r.u16(), r.byte()))
                default: containerOps.append((op % 32 - 22, r.byte(), r.u16(), r.byte()))
                }
            }
            var parameters = seed.parameters
            if description != seed.description && avoided(description) == nil {
                if (try? description.validate()) != nil,
                   let total = description.parameterShapes().reduce(Optional(0), { CheckedSize.sum($0, CheckedSize.product($1.shape)) }),
                   total <= maxParameters {
                    parameters = Model.seededParameters(description, seed: 7)
                }
            }
            var c = Container(description, parameters)
            for (op, a, b, v) in weightOps { editWeights(&c, op: op, a, b, v) }
            for (op, a, b, v) in containerOps { editContainer(&c, op: op, a, b, v) }
            return serialize(c)
        }

        // MARK: Description edits

        /// The most ops of each phase a program applies.
        static let maxOps = 48

        /// The deepest nesting of residual blocks op 8 builds.
        static let maxNesting = 2 * Limits.maxNesting

        /// Levels of residual nesting in `layers` (0 for a flat list).
        static func nesting(_ layers: [LayerSpec]) -> Int {
            layers.reduce(0) { deepest, layer in
                guard case .residual(let body, let shortcut) = layer else { return deepest }
                return max(deepest, 1 + max(nesting(body), nesting(shortcut)))
            }
        }

        /// Visits every integer field of the description (input, layers in order, nested bodies).
        static func mapInts(_ d: inout ModelDescription, _ f: (inout Int) -> Void) {
            f(&d.input.channels); f(&d.input.height); f(&d.input.width)
            func visit(_ layers: inout [LayerSpec]) {
                for i in layers.indices {
                    switch layers[i] {
                    case .conv(var c):
                        f(&c.inChannels); f(&c.outChannels); f(&c.kernel); f(&c.stride); f(&c.padding); f(&c.groups); f(&c.kernels)
                        if var a = c.attention { f(&a.hidden); c.attention = a }
                        layers[i] = .conv(c)
                    case .batchNorm(var b): f(&b.channels); layers[i] = .batchNorm(b)
                    case .maxPool(var p): f(&p.kernel); f(&p.stride); f(&p.padding); layers[i] = .maxPool(p)
                    case .avgPool(var p): f(&p.kernel); f(&p.stride); f(&p.padding); layers[i] = .avgPool(p)
                    case .linear(var l): f(&l.inFeatures); f(&l.outFeatures); layers[i] = .linear(l)
                    case .residual(var body, var shortcut): visit(&body); visit(&shortcut); layers[i] = .residual(body: body, shortcut: shortcut)
                    case .activation, .globalAvgPool: break
                    }
                }
            }
            visit(&d.layers)
        }

        /// Visits every float field (normalisation, τ, eps).
        static func mapFloats(_ d: inout ModelDescription, _ f: (inout Float) -> Void) {
            for i in d.normalization.mean.indices { f(&d.normalization.mean[i]) }
            for i in d.normalization.std.indices { f(&d.normalization.std[i]) }
            func visit(_ layers: inout [LayerSpec]) {
                for i in layers.indices {
                    switch layers[i] {
                    case .conv(var c): if var a = c.attention { f(&a.temperature); c.attention = a; layers[i] = .conv(c) }
                    case .batchNorm(var b): f(&b.eps); layers[i] = .batchNorm(b)
                    case .residual(var body, var shortcut): visit(&body); visit(&shortcut); layers[i] = .residual(body: body, shortcut: shortcut)
                    default: break
                    }
                }
            }
            visit(&d.layers)
        }

        /// Visits every convolution.
        static func mapConvs(_ d: inout ModelDescription, _ f: (inout ConvSpec) -> Void) {
            func visit(_ layers: inout [LayerSpec]) {
                for i in layers.indices {
                    switch layers[i] {
                    case .conv(var c): f(&c); layers[i] = .conv(c)
                    case .residual(var body, var shortcut): visit(&body); visit(&shortcut); layers[i] = .residual(body: body, shortcut: shortcut)
                    default: break
                    }
                }
            }
            visit(&d.layers)
        }

        /// One description edit (ops 0–15).
        static func editDescription(_ d: inout ModelDescription, op: Int, _ r: inout Reader) {
            switch op {
            case 0, 1, 2:  // an integer field ← interesting value (0, 1) or a small value (2)
                let target = r.byte()
                let value = op == 2 ? r.byte() - 8 : r.pick(ints)
                var k = 0, count = 0
                mapInts(&d) { _ in count += 1 }
                mapInts(&d) { v in if k == target % max(count, 1) { v = value }; k += 1 }
            case 3, 4:  // a float field ← interesting value
                let target = r.byte(), value = r.pick(floats)
                var k = 0, count = 0
                mapFloats(&d) { _ in count += 1 }
                mapFloats(&d) { v in if k == target % max(count, 1) { v = value }; k += 1 }
            case 5:  // every dynamic conv: K ← 1…8 (the shapes follow, so the model still loads)
                let k = r.byte() % 8 + 1
                mapConvs(&d) { c in if c.isDynamic { c.kernels = k } }
            case 6:  // one conv's routing ← static/softmax/sigmoid, attention kept consistent (or not: bit 2)
                let target = r.byte(), choice = r.byte()
                var k = 0
                mapConvs(&d) { c in
                    defer { k += 1 }
                    guard k == target % 16 else { return }
                    c.routing = Routing.allCases[choice % 3]
                    if choice & 4 == 0 {
                        c.attention = c.isDynamic ? (c.attention ?? AttentionSpec(hidden: 4, temperature: 1)) : nil
                        c.kernels = c.isDynamic ? max(c.kernels, 2) : 1
                    }
                }
            case 7:  // classes
                let choice = r.byte(), count = d.classes.count
                switch choice % 8 {
                case 0: d.classes = []
                case 1: d.classes = [""]
                case 2: d.classes = Array(d.classes.prefix(1))
                case 3: d.classes = d.classes + ["extra"]
                case 4: d.classes = (0..<count).map { _ in "same" }
                case 5: d.classes = (0..<count).map { "c\($0)\n\u{1b}[31m\u{0}" }
                case 6: d.classes = (0..<count).map { String(repeating: "π", count: 200 + $0) }
                default: d.classes = (0..<count).map { "\u{202e}\u{fe0f}\u{1f600}\($0)" }
                }
            case 8:  // wrap layers [i, i+len) into `depth` nested residual blocks with an identity shortcut
                let i = r.byte() % max(d.layers.count, 1), len = r.byte() % 4 + 1
                // At most `maxNesting` levels in all: twice Limits.maxNesting reaches past the bound,
                // and deeper trees only make the harness's own edits slow (each copies the tree).
                let depth = min(r.byte() % 48 + 1, maxNesting - nesting(d.layers))
                let end = min(d.layers.count, i + len)
                guard i < end, depth > 0 else { return }
                var inner = Array(d.layers[i..<end])
                for _ in 0..<depth { inner = [.residual(body: inner, shortcut: [])] }
                d.layers.replaceSubrange(i..<end, with: inner)
            case 9:  // duplicate a layer (names collide, shapes may not fit)
                guard !d.layers.isEmpty else { return }
                let i = r.byte() % d.layers.count
                d.layers.insert(d.layers[i], at: i)
            case 10:  // delete a layer
                guard !d.layers.isEmpty else { return }
                d.layers.remove(at: r.byte() % d.layers.count)
            case 11:  // insert a layer kind with operand parameters
                let i = r.byte() % (d.layers.count + 1), kind = r.byte(), a = r.byte() % 5, b = r.byte() % 4
                let layer: LayerSpec
                switch kind % 6 {
                case 0: layer = .maxPool(PoolSpec(kernel: a + 1, stride: b + 1, padding: a / 2))
                case 1: layer = .avgPool(PoolSpec(kernel: a + 1, stride: b + 1, padding: b))
                case 2: layer = .globalAvgPool
                case 3: layer = .activation([ActivationKind.relu, .relu6, .hardswish][a % 3])
                case 4: layer = .residual(body: [], shortcut: [])
                default: layer = .linear(LinearSpec(name: "fuzz_fc\(i)", inFeatures: a + 1, outFeatures: b + 1))
                }
                d.layers.insert(layer, at: i)
            case 12:  // toggle a conv's bias or fc1 bias
                let target = r.byte(), which = r.byte()
                var k = 0
                mapConvs(&d) { c in
                    defer { k += 1 }
                    guard k == target % 16 else { return }
                    if which & 1 == 0 { c.bias.toggle() } else if var a = c.attention { a.fc1Bias.toggle(); c.attention = a }
                }
            case 13:  // every dynamic conv's trained τ ← an interesting value (the 1e-45 case)
                let tau = r.pick(floats)
                mapConvs(&d) { c in if var a = c.attention { a.temperature = tau; c.attention = a } }
            case 14:  // normalisation lists of the wrong length, or empty
                let n = r.byte() % 4
                d.normalization = Normalization(mean: Array(repeating: 0.5, count: n), std: Array(repeating: r.pick(floats), count: n))
            default:  // rename a conv (collisions, odd characters)
                let target = r.byte(), choice = r.byte()
                var k = 0
                mapConvs(&d) { c in
                    defer { k += 1 }
                    guard k == target % 16 else { return }
                    c.name = ["", "fc", "stem.conv", "a.weight", "__metadata__", "x\u{0}y", "x.num_batches_tracked"][choice % 7]
                }
            }
        }

        // MARK: Weight edits

        /// One weight edit (ops 16–21): `a` picks the tensor, `b` the element, `v` the value.
        static func editWeights(_ c: inout Container, op: Int, _ a: Int, _ b: Int, _ v: Int) {
            guard !c.entries.isEmpty else { return }
            let t = a % c.entries.count
            let count = c.entries[t].bytes.count / 4
            guard count > 0 else { return }
            func set(_ i: Int, _ x: Float) {
                withUnsafeBytes(of: x.bitPattern.littleEndian) { c.entries[t].bytes.replaceSubrange((4 * i)..<(4 * i + 4), with: $0) }
            }
            func get(_ i: Int) -> Float {
                Float(bitPattern: UInt32(c.entries[t].bytes[4 * i]) | UInt32(c.entries[t].bytes[4 * i + 1]) << 8
                      | UInt32(c.entries[t].bytes[4 * i + 2]) << 16 | UInt32(c.entries[t].bytes[4 * i + 3]) << 24)
            }
            switch op {
            case 0: set(b % count, weights[v % weights.count])
            case 1: for i in 0..<count { set(i, weights[v % weights.count]) }
            case 2: for i in 0..<count { set(i, get(i) * [1e30, -1e30, 1e-30, 3e38, -1, 0][v % 6]) }
            case 3:  // a BatchNorm statistic of the whole model (running_mean −3e38, running_var 0 or negative)
                let stats = c.entries.indices.filter { c.entries[$0].name.hasSuffix("running_mean") || c.entries[$0].name.hasSuffix("running_var") }
                guard !stats.isEmpty else { return }
                let s = stats[b % stats.count]
                for i in 0..<(c.entries[s].bytes.count / 4) {
                    withUnsafeBytes(of: weights[v % weights.count].bitPattern.littleEndian) {
                        c.entries[s].bytes.replaceSubrange((4 * i)..<(4 * i + 4), with: $0)
                    }
                }
            case 4: set(b % count, Float(bitPattern: UInt32(truncatingIfNeeded: b &* 65_599 &+ v &* 2_654_435_761)))
            default: for i in 0..<count { set(i, Float(i % 3) * weights[v % weights.count]) }
            }
        }

        // MARK: Container and JSON-text edits

        /// One container edit (ops 22–31): dtype, shape, offsets, names, metadata, JSON number tokens.
        static func editContainer(_ c: inout Container, op: Int, _ a: Int, _ b: Int, _ v: Int) {
            let t = c.entries.isEmpty ? nil : a % c.entries.count
            switch op {
            case 0: if let t { c.entries[t].dtype = ["F16", "BF16", "F64", "I64", "U8", "F4", "f32", "", "BOOL"][v % 9] }
            case 1: if let t { c.entries[t].shape.append([1, 0, 2][v % 3]) }
            case 2: if let t, !c.entries[t].shape.isEmpty { c.entries[t].shape[b % c.entries[t].shape.count] = ints[v % ints.count] }
            case 3: if let t { c.entries[t].offsetShift = [1, -1, 4, -4, 8, 1 << 20][v % 6] }
            case 4: if let t { c.entries[t].bytes.removeLast(min(c.entries[t].bytes.count, [1, 4, 8][v % 3])) }
            case 5:  // drop, rename, or duplicate under an ignored name
                guard let t else { return }
                switch v % 3 {
                case 0: c.entries.remove(at: t)
                case 1: c.entries[t].name += ["x", ".num_batches_tracked", "\u{0}", ""][b % 4]
                default: var e = c.entries[t]; e.name += ".num_batches_tracked"; e.dtype = "I64"; c.entries.append(e)
                }
            case 6:  // metadata values
                let key = [Checkpoint.MetadataKey.formatVersion, Checkpoint.MetadataKey.training, Checkpoint.MetadataKey.format, "note"][a % 4]
                c.metadata[key] = ["2", "", "1 ", "{\"epoch\":1,\"epochs\":2,\"temperature\":\"nan\"}",
                                   "{\"epoch\":-1,\"epochs\":9223372036854775807,\"temperature\":1e-45,\"entropy\":{\"x\":\"inf\"}}",
                                   "{\"epoch\":1,\"epochs\":1,\"temperature\":1,\"testAccuracy\":3e38}", "[]"][v % 7]
            case 7: c.metadata.removeValue(forKey: Checkpoint.MetadataKey.architecture)
            default:  // replace the n-th number in the architecture JSON with a token (exactness, ranges, types)
                guard let text = c.metadata[Checkpoint.MetadataKey.architecture] else { return }
                c.metadata[Checkpoint.MetadataKey.architecture] = replacingNumber(in: text, index: b, with: tokens[v % tokens.count])
            }
        }

        /// `text` with its `index`-th JSON number (mod the count; strings skipped) replaced by `token`.
        static func replacingNumber(in text: String, index: Int, with token: String) -> String {
            let u = Array(text.utf8)
            var ranges: [Range<Int>] = []
            var i = 0, inString = false
            while i < u.count {
                let ch = u[i]
                if inString {
                    if ch == UInt8(ascii: "\\") { i += 2; continue }
                    if ch == UInt8(ascii: "\"") { inString = false }
                    i += 1
                } else if ch == UInt8(ascii: "\"") {
                    inString = true; i += 1
                } else if ch == UInt8(ascii: "-") || (ch >= UInt8(ascii: "0") && ch <= UInt8(ascii: "9")) {
                    let start = i
                    while i < u.count, "0123456789+-.eE".utf8.contains(u[i]) { i += 1 }
                    ranges.append(start..<i)
                } else {
                    i += 1
                }
            }
            guard !ranges.isEmpty else { return text }
            let range = ranges[index % ranges.count]
            return String(decoding: u[..<range.lowerBound] + Array(token.utf8) + u[range.upperBound...], as: UTF8.self)
        }
    }
}
