// libFuzzer entry point of the CIFAR target; the harness is
// Tests/DyConvDataTests/CIFARFuzzInput.swift (shared with CIFARFuzzRegressionTests).
import Foundation

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    // DYCONV_FUZZ_WRITE_SEEDS=DIR: write the seed corpus and exit (Fuzz/README.md).
    if let dir = ProcessInfo.processInfo.environment["DYCONV_FUZZ_WRITE_SEEDS"] {
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for seed in CIFARFuzzInput.seeds() {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(seed.name)", contents: Data(seed.bytes))
        }
        exit(0)
    }
    atexit { CIFARFuzzInput.removeFolder() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = CIFARFuzzInput.run(bytes)
    return 0
}
