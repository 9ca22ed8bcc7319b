// libFuzzer entry point of the checkpoint target; the harness is
// Tests/DyConvEngineTests/CheckpointFuzzInput.swift (shared with FuzzRegressionTests).
import Foundation

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    CheckpointFuzzInput.configureEnvironment()
    // DYCONV_FUZZ_WRITE_SEEDS=DIR: write the seed corpus and exit (Fuzz/README.md).
    if let dir = ProcessInfo.processInfo.environment["DYCONV_FUZZ_WRITE_SEEDS"] {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for seed in CheckpointFuzzInput.seeds() {
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
    let outcome = CheckpointFuzzInput.run(bytes)
    // DYCONV_FUZZ_DEBUG=1: print what each input did (triage of a finding replayed by file name).
    if debug { print("outcome: \(outcome)\narchitecture: \(CheckpointFuzzInput.architecture(bytes).prefix(4000))") }
    return 0
}
