// libFuzzer entry point of the image target; the harness is
// Tests/DyConvDataTests/ImageFuzzInput.swift (shared with ImageFuzzRegressionTests).
import Foundation

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    // Before anything reads Limits.memoryBudget: a declared size the budget allows must decode
    // within libFuzzer's -rss_limit_mb=2048.
    setenv("DYCONV_MEMORY_LIMIT_MB", "512", 0)
    // DYCONV_FUZZ_WRITE_SEEDS=DIR: write the seed corpus from the test fixtures and exit (Fuzz/README.md).
    if let dir = ProcessInfo.processInfo.environment["DYCONV_FUZZ_WRITE_SEEDS"] {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for seed in ImageFuzzInput.seeds(fixtures: "Tests/DyConvDataTests/Fixtures/images") {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(seed.name)", contents: Data(seed.bytes))
        }
        exit(0)
    }
    return 0
}

let debug = ProcessInfo.processInfo.environment["DYCONV_FUZZ_DEBUG"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let outcome = ImageFuzzInput.run(bytes)
    if debug { print("outcome: \(outcome)") }
    return 0
}
