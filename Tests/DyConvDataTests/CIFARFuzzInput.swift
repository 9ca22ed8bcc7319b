import DyConvData
import DyConvEngine
import Foundation

/// The CIFAR fuzz target's harness: one fuzz input → CIFAR-10/100 batch bytes (and a class-names
/// file) → the readers `dyconv --data DIR` uses: `CIFAR.parse`, `CIFAR.load` on disk, and the
/// whole `DatasetDiscovery.load(directory:input:)` with label matching and the fit to a model
/// input of another shape → a normalised batch and the class name of the last label.
///
/// Shared by the libFuzzer entry point (`Fuzz/cifar/Entry.swift`) and `CIFARFuzzRegressionTests`.
/// Throwing is a correct outcome; a trap, a sanitizer report, a hang or memory beyond the
/// fuzzer's limit is a finding.
///
/// Input layout. Byte 0: bit 0 the variant (CIFAR-10, CIFAR-100), bits 1–2 the mode, bit 3 a
/// class-names file is written (discovery and disk modes), bit 4 the discovered images are fitted
/// to 1×8×8 (else 3×32×32, taken as they are). The rest is:
/// - mode 0, *raw*: the batch's bytes, parsed in memory by `CIFAR.parse`;
/// - mode 1, *disk*: a 2-byte big-endian length, the names file's text, then the batch file,
///   read by `CIFAR.load(paths:)` (the names through `CIFAR.readClassNames`);
/// - mode 2, *discovery*: as *disk*, but the files go into a folder under their standard names
///   and the folder is opened by `DatasetDiscovery` (which also sniffs them for IDX);
/// - mode 3, *structured*: a program (`Structured.batch`) that builds whole records from a few
///   bytes (count, label bytes, pixel pattern), then damages the size, read by discovery.
public enum CIFARFuzzInput {
    public enum Outcome: Equatable, Sendable {
        case rejected(String)
        /// Loaded; `images` is the number of images.
        case loaded(images: Int)
    }

    /// A private folder for the files of one process (on /dev/shm when there is one).
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(base)/dyconv-fuzz-cifar-\(getpid())"
    }()

    /// Removes the private folder (the libFuzzer entry point calls it at exit).
    public static func removeFolder() { try? FileManager.default.removeItem(atPath: folder) }

    /// Runs one fuzz input.
    public static func run(_ data: [UInt8]) -> Outcome {
        guard let first = data.first else { return .rejected("empty input") }
        let variant: CIFAR.Variant = first & 1 == 0 ? .cifar10 : .cifar100
        let body = Array(data.dropFirst())
        let input = first & 0x10 != 0 ? InputSpec(channels: 1, height: 8, width: 8) : nil
        do {
            switch (first >> 1) & 3 {
            case 0:
                return try check(CIFAR.parse(body, name: "batch", variant: variant))
            case 1:
                let (names, batch) = split(body)
                removeFolder()
                try write(batch, to: "\(folder)/batch.bin")
                var classNames: [String]?
                if first & 8 != 0 {
                    try write(names, to: "\(folder)/names.txt")
                    classNames = try CIFAR.readClassNames(path: "\(folder)/names.txt", variant: variant)
                }
                return try check(CIFAR.load(paths: ["\(folder)/batch.bin"], variant: variant, classNames: classNames))
            case 2:
                let (names, batch) = split(body)
                return try discover(batch: batch, names: first & 8 != 0 ? names : nil, variant: variant, input: input)
            default:
                let batch = Structured.batch(body, variant: variant)
                let names = (0..<variant.classCount).map { "class \($0)" }.joined(separator: "\n")
                return try discover(batch: batch, names: first & 8 != 0 ? Array(names.utf8) : nil, variant: variant, input: input)
            }
        } catch {
            return .rejected("\(error)")
        }
    }

    /// The seed inputs committed under `Fuzz/corpus/cifar/`, by file name.
    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        func record(_ labels: [UInt8], _ k: Int) -> [UInt8] { labels + (0..<CIFAR.imageBytes).map { UInt8(truncatingIfNeeded: $0 * 7 + k) } }
        let ten = record([3], 0) + record([9], 1)
        let hundred = record([4, 40], 0)
        let names10 = Array("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n".utf8)
        func lengthPrefixed(_ names: [UInt8], _ batch: [UInt8]) -> [UInt8] {
            [UInt8(names.count >> 8), UInt8(names.count & 255)] + names + batch
        }
        return [
            ("raw-cifar10", [0] + ten),
            ("raw-cifar100", [1] + hundred),
            ("disk-cifar10-names", [2 | 8] + lengthPrefixed(names10, ten)),
            ("discovery-cifar10-names", [4 | 8] + lengthPrefixed(names10, ten)),
            ("discovery-cifar100-fit", [5 | 0x10] + lengthPrefixed([], hundred)),
            ("structured-cifar10", [6 | 8, 3, 1, 2, 9, 0x55, 0]),
            ("structured-cifar100-fit", [7 | 0x10, 2, 19, 99, 0, 5, 0x21, 0]),
        ].map { (name: $0.0, bytes: $0.1) }
    }

    /// Writes the batch (and names) into a fresh folder under the variant's standard names and
    /// opens it as `dyconv --data` does, labels matched to a model's ten classes.
    static func discover(batch: [UInt8], names: [UInt8]?, variant: CIFAR.Variant, input: InputSpec?) throws -> Outcome {
        removeFolder()
        try write(batch, to: "\(folder)/\(variant.testFile)")
        if let names { try write(names, to: "\(folder)/\(variant.classNamesFile)") }
        let found = try DatasetDiscovery.load(directory: folder, input: input)
        let (dataset, _) = try found.matched(to: (0..<variant.classCount).map { "class \($0)" })
        return try check(dataset)
    }

    /// What the CLI does next: normalise a batch, read the last label's class name.
    static func check(_ dataset: ImageDataset) throws -> Outcome {
        if dataset.count > 0 {
            let norm = Normalization(mean: Array(repeating: 0.5, count: dataset.channels),
                                     std: Array(repeating: 0.25, count: dataset.channels))
            let x = dataset.batch(Array(0..<min(dataset.count, 2)), normalization: norm)
            if let labels = dataset.labels { _ = dataset.classNames[labels[dataset.count - 1]] }
            _ = x.count
        }
        return .loaded(images: dataset.count)
    }

    /// A 2-byte big-endian length, that many bytes, then the rest.
    static func split(_ body: [UInt8]) -> (head: [UInt8], rest: [UInt8]) {
        let length = body.count >= 2 ? Int(body[0]) << 8 | Int(body[1]) : 0
        let end = min(body.count, 2 + length)
        return (Array(body[min(2, end)..<end]), Array(body[end...]))
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// Structured mode: whole records from a short program, then a damaged size.
    enum Structured {
        /// Program: the record count (0–7), the label bytes of every record (`labelBytes` each,
        /// any value, so out-of-range labels are reached), a pixel seed, then a size change: 0 none,
        /// 1 drop the last byte, 2 add one byte, 3 cut half a record, other values none.
        static func batch(_ p: [UInt8], variant: CIFAR.Variant) -> [UInt8] {
            func at(_ i: Int) -> UInt8 { i < p.count ? p[i] : 0 }
            let records = Int(at(0) % 8)
            let labelBytes = variant.labelBytes
            let seed = at(1 + records * labelBytes)
            var bytes: [UInt8] = []
            for r in 0..<records {
                for b in 0..<labelBytes { bytes.append(at(1 + r * labelBytes + b)) }
                bytes += (0..<CIFAR.imageBytes).map { UInt8(truncatingIfNeeded: $0 &* Int(seed | 1) &+ r) }
            }
            switch at(2 + records * labelBytes) {
            case 1: bytes.removeLast(min(1, bytes.count))
            case 2: bytes.append(0)
            case 3: bytes.removeLast(min(variant.recordSize / 2, bytes.count))
            default: break
            }
            return bytes
        }
    }
}
