// libFuzzer entry point of the torch target; the harness is
// Tests/DyConvTorchTests/TorchFuzzInput.swift (shared with TorchFuzzRegressionTests).
import Foundation

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    setenv("DYCONV_MEMORY_LIMIT_MB", "512", 0)
    return 0
}

let debug = ProcessInfo.processInfo.environment["DYCONV_FUZZ_DEBUG"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let outcome = TorchFuzzInput.run(bytes)
    if debug { print("outcome: \(outcome)") }
    return 0
}
