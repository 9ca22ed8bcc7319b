import DyConvEngine
import DyConvTorch
import Foundation
import ZIPFoundation

/// The torch fuzz target's harness: one fuzz input → a `.pth` file on disk → `TorchCheckpoint.read`.
///
/// Shared by the libFuzzer entry point (`Fuzz/torch/Entry.swift`, built by `Fuzz/build.sh`) and
/// `TorchFuzzRegressionTests`. Anything the reader throws is a correct outcome; a trap, a
/// sanitizer report, a hang or unbounded memory is a finding.
///
/// Byte mutation of a whole archive mostly breaks a CRC-32 and stops at the zip layer, so byte 0
/// selects a mode:
/// - bit 0 clear, *raw*: the rest is the file itself (zip, safetensors or anything else);
/// - bit 0 set, *structured*: the harness writes a valid zip (correct CRCs) from the rest:
///   a 2-byte little-endian length L and L bytes of `archive/data.pkl`, then records of a
///   2-byte length and the bytes of `archive/data/0`, `archive/data/1`, …; bits 1–2 of byte 0
///   pick the `archive/byteorder` entry (none, "little", "big", "lit"). The pickle's numbers and
///   globals are what the mutations then reach.
public enum TorchFuzzInput {
    /// What one input did.
    public enum Outcome: Equatable, Sendable {
        case rejected(String)
        case read(tensors: Int, skipped: Int)
    }

    /// The file each execution writes (one per process).
    static let path = NSTemporaryDirectory() + "/dyconv-torch-fuzz-\(getpid()).pth"

    /// Runs one input through the reader.
    public static func run(_ data: [UInt8]) -> Outcome {
        guard let first = data.first else { return .rejected("empty input") }
        let body = Array(data.dropFirst())
        try? FileManager.default.removeItem(atPath: path)
        if first & 1 == 0 {
            guard FileManager.default.createFile(atPath: path, contents: Data(body)) else { return .rejected("cannot write \(path)") }
        } else {
            do { try writeArchive(body, byteorder: Int(first >> 1) & 3) } catch { return .rejected("harness: \(error)") }
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let state = try TorchCheckpoint.read(path: path)
            // Touch every element, as a converter would.
            var sum: Float = 0
            for tensor in state.tensors.values { for x in tensor.data { sum += x } }
            _ = sum
            return .read(tensors: state.tensors.count, skipped: state.skipped.count)
        } catch {
            return .rejected(error.description)
        }
    }

    /// A structured input as the entries of a zip laid out as torch.save lays it out.
    static func writeArchive(_ body: [UInt8], byteorder: Int) throws {
        var entries: [(String, [UInt8])] = []
        var at = 0
        func record() -> [UInt8]? {
            guard at + 2 <= body.count else { return nil }
            let n = min(Int(body[at]) | Int(body[at + 1]) << 8, body.count - at - 2)
            defer { at += 2 + n }
            return Array(body[(at + 2)..<(at + 2 + n)])
        }
        entries.append(("archive/data.pkl", record() ?? []))
        if let order = [nil, "little", "big", "lit"][byteorder] { entries.append(("archive/byteorder", Array(order.utf8))) }
        var key = 0
        while let storage = record() { entries.append(("archive/data/\(key)", storage)); key += 1 }
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (name, bytes) in entries {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(bytes.count)) { position, size in
                Data(bytes[Int(position)..<(Int(position) + size)])
            }
        }
    }
}
