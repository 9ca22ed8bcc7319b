import DyConvData
import Foundation
import Testing

/// Replays the image fuzz target's committed inputs without libFuzzer, through the same harness
/// (`ImageFuzzInput.run`): the seed corpus `Fuzz/corpus/image/` and the findings
/// `Fuzz/regressions/image/` whose fix has merged (`pending/` is skipped). Oracle: the process
/// survives every input (the harness traps on anything but a one-line `DataError` or a decoded
/// image that fits every target), and the seeds built from the fixtures decode.
@Suite("Image fuzz regressions")
struct ImageFuzzRegressionTests {
    static func inputs(_ kind: String) -> [(name: String, bytes: [UInt8])] {
        FuzzRegressionTests.inputs(kind, target: "image")
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        let fixtures = try ImageFixtures.path("")
        return ImageFuzzInput.seeds(fixtures: String(fixtures.dropLast()))
    }

    @Test("every seed decodes in every layout (the CMYK JPEG is refused)")
    func seedsDecode() throws {
        let seeds = try Self.seeds()
        #expect(seeds.count >= 40)
        for seed in seeds {
            let outcome = ImageFuzzInput.run(seed.bytes)
            if seed.name.hasSuffix("cmyk.jpg") {
                #expect(outcome == .rejected("fuzz: CMYK JPEG is not supported; save it as RGB (e.g. convert in.jpg -colorspace sRGB out.jpg)"))
            } else if case .rejected(let why) = outcome {
                Issue.record("seed \(seed.name): \(why)")
            }
        }
    }

    @Test("the seed corpus is committed")
    func corpusIsCommitted() throws {
        let committed = Set(Self.inputs("corpus").map(\.name))
        for seed in try Self.seeds() { #expect(committed.contains(seed.name), "Fuzz/corpus/image/\(seed.name) is missing") }
    }

    @Test("corpus and regressions do not crash")
    func corpusAndRegressionsDoNotCrash() {
        let corpus = Self.inputs("corpus")
        #expect(!corpus.isEmpty, "no seed corpus found")
        for input in corpus + Self.inputs("regressions") { _ = ImageFuzzInput.run(input.bytes) }
    }
}
