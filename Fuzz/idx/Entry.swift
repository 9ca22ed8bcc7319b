// libFuzzer entry point of the IDX target; the harness is
// Tests/DyConvDataTests/IDXFuzzInput.swift (shared with FuzzRegressionTests).
import Foundation

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    // DYCONV_FUZZ_WRITE_SEEDS=DIR: write the seed corpus and exit (Fuzz/README.md).
    if let dir = ProcessInfo.processInfo.environment["DYCONV_FUZZ_WRITE_SEEDS"] {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for seed in IDXFuzzInput.seeds() {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(seed.name)", contents: Data(seed.bytes))
        }
        exit(0)
    }
    atexit { IDXFuzzInput.removeFolder() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = IDXFuzzInput.run(bytes)
    return 0
}
