import DyConvData
import DyConvEngine
import Foundation
#if canImport(DyConvTestSupport)
import DyConvTestSupport  // absent in the libFuzzer build, which compiles the support files in
#endif

/// The IDX fuzz target's harness: one fuzz input → one or two IDX files (raw or gzip) on disk →
/// the readers `dyconv --data` uses (`IDXFile.read`, `ImageDataset.load`) → a normalised batch.
///
/// Shared by the libFuzzer entry point (`Fuzz/idx/Entry.swift`) and `FuzzRegressionTests`.
/// Throwing is a correct outcome; a trap, a sanitizer report, a hang or memory beyond the
/// fuzzer's limit (a decompression bomb) is a finding. The files go through the real path
/// readers (not an in-memory shortcut) so the size checks that depend on the file are fuzzed too.
///
/// Input layout. Byte 0: bits 0–1 the mode, bit 2 names the files `.gz`, bits 3–4 the rank the
/// reader expects (any, 3, 1, 3). The rest is:
/// - mode 0, *raw*: the bytes of one file, read by `IDXFile.read`;
/// - mode 1, *pair*: a 2-byte big-endian length, the images file, then the labels file, loaded
///   together by `ImageDataset.load`;
/// - modes 2–3, *structured*: a program (`Structured.files`) that builds a valid image/label pair
///   from interesting dimensions, then damages the data and the gzip stream.
public enum IDXFuzzInput {
    public enum Outcome: Equatable, Sendable {
        case rejected(String)
        /// Loaded; `images` is the number of images (or elements of a single file).
        case loaded(images: Int)
    }

    /// A private folder for the files of one process (on /dev/shm when there is one), created by `write`.
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(base)/dyconv-fuzz-idx-\(getpid())"
    }()

    /// Removes the private folder (the libFuzzer entry point calls it at exit).
    public static func removeFolder() { try? FileManager.default.removeItem(atPath: folder) }

    /// Known findings to step around (`DYCONV_FUZZ_AVOID=bomb`), so an exploratory run on a tree
    /// without their fixes goes on finding new ones: `bomb` turns off the structured mode's 2.5 GB
    /// stream. Empty by default (`make fuzz`).
    static let avoid: Set<String> = Set((ProcessInfo.processInfo.environment["DYCONV_FUZZ_AVOID"] ?? "")
        .split(separator: ",").map(String.init))

    /// Runs one fuzz input.
    public static func run(_ data: [UInt8]) -> Outcome {
        guard let first = data.first else { return .rejected("empty input") }
        let gz = first & 4 != 0 ? ".gz" : ""
        let rank = [nil, 3, 1, 3][Int((first >> 3) & 3)]
        let body = Array(data.dropFirst())
        let images = "\(folder)/images-idx3-ubyte\(gz)", labels = "\(folder)/labels-idx1-ubyte\(gz)"
        do {
            switch first & 3 {
            case 0:
                try write(body, to: images)
                let file = try IDXFile.read(path: images, expectedRank: rank)
                return .loaded(images: file.dimensions.first ?? 0)
            case 1:
                let split = min(body.count, (body.count >= 2 ? Int(body[0]) << 8 | Int(body[1]) : 0) + 2)
                try write(Array(body[min(2, split)..<split]), to: images)
                try write(Array(body[split...]), to: labels)
                return try load(images, labels, classNames: first & 0x20 != 0 ? FashionMNIST.classNames : nil)
            default:
                let (imageBytes, labelBytes, names) = Structured.files(body)
                try write(imageBytes, to: images)
                try write(labelBytes, to: labels)
                return try load(images, labels, classNames: names)
            }
        } catch {
            return .rejected("\(error)")
        }
    }

    /// The seed inputs committed under `Fuzz/corpus/idx/`, by file name.
    public static func seeds() -> [(name: String, bytes: [UInt8])] {
        let images = try! IDXFile(dimensions: [3, 4, 5], data: (0..<60).map { UInt8($0 * 4) }).encoded()
        let labels = try! IDXFile(dimensions: [3], data: [0, 1, 9]).encoded()
        let pair = [UInt8(images.count >> 8), UInt8(images.count & 255)] + images + labels
        return [
            ("raw-images", [0] + images),
            ("raw-labels", [0x10] + labels),
            ("raw-images-gz", [4] + Gzip.compress(images)),
            ("pair", [1] + pair),
            ("pair-fashion-names", [0x21] + pair),
            ("structured-plain", [2, 0x83, 0x84, 0x85, 0]),
            ("structured-gzip", [6, 0x90, 0x9C, 0x9C, 3]),
        ].map { (name: $0.0, bytes: $0.1) }
    }

    static func load(_ images: String, _ labels: String, classNames: [String]?) throws -> Outcome {
        let dataset = try ImageDataset.load(imagesPath: images, labelsPath: labels, classNames: classNames)
        // What the CLI does next: normalise a batch, read labels and names.
        if dataset.count > 0 {
            let norm = Normalization(mean: Array(repeating: 0.5, count: dataset.channels),
                                     std: Array(repeating: 0.25, count: dataset.channels))
            let x = dataset.batch(Array(0..<min(dataset.count, 2)), normalization: norm)
            _ = dataset.classNames[dataset.labels![dataset.count - 1]]
            _ = x.count
        }
        return .loaded(images: dataset.count)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// Structured mode: valid files from interesting dimensions, then damage.
    enum Structured {
        static let dims: [UInt32] = [0, 1, 2, 3, 4, 5, 7, 16, 28, 255, 256, 10_000, 60_000, 65_536, 1 << 24,
                                     0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF]

        /// 40 gzip members of 64 MiB of zeros each (2.5 GB inflated, 2.6 MB on disk): more than the
        /// fuzzer's 2 GB malloc limit, so a reader that inflates past the declared size is a finding.
        /// Built once: joining and writing it costs milliseconds, so only programs whose byte 4 is
        /// 0xB0 as well as flag bit 2 carry it (about 1 structured input in 500); the other bomb
        /// programs test the same bound with one member (64 MiB inflated) at full speed.
        static let zeroMember: [UInt8] = Gzip.compress([UInt8](repeating: 0, count: 64 << 20), level: 9)
        static let bomb: [UInt8] = Array(Array(repeating: zeroMember, count: 40).joined())

        /// Program: n, rows, cols (indices into `dims`, or small values with bit 7), a flags byte, then
        /// optional damage bytes. Flags: bit 0 gzip images, bit 1 gzip labels, bit 2 a bomb (the images
        /// stream goes on with 2.5 GB of zeros after the declared data), bits 3–4 truncation (none, the
        /// last byte, half, a byte into the gzip trailer), bit 5 data one byte too long, bit 6 ISIZE
        /// of the trailer lies, bit 7 labels out of range / label count mismatch.
        static func files(_ p: [UInt8]) -> (images: [UInt8], labels: [UInt8], names: [String]?) {
            func at(_ i: Int) -> Int { i < p.count ? Int(p[i]) : 0 }
            func dim(_ i: Int) -> UInt32 { at(i) & 0x80 != 0 ? UInt32(at(i) & 0x7F) : dims[at(i) % dims.count] }
            let n = dim(0), rows = dim(1), cols = dim(2), flags = at(3)
            // Data as declared when that is small; otherwise whatever 64 KiB the program can afford.
            let (rowsTimesN, o1) = UInt64(n).multipliedReportingOverflow(by: UInt64(rows))
            let (product, o2) = rowsTimesN.multipliedReportingOverflow(by: UInt64(cols))
            let declared = o1 || o2 ? UInt64.max : product
            var pixels = [UInt8](repeating: 0, count: Int(min(declared, 1 << 16)))
            for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 31 &+ at(4 + i % 8)) }
            if flags & 0x20 != 0 { pixels.append(1) }
            var images = header([n, rows, cols], type: 0x08) + pixels
            let labelCount = flags & 0x80 != 0 ? n &+ 1 : n
            var labels = header([labelCount], type: 0x08)
                + (0..<Int(min(UInt64(labelCount), 1 << 16))).map { UInt8(truncatingIfNeeded: $0 % (flags & 0x80 != 0 ? 256 : 10)) }
            if flags & 1 != 0 || flags & 4 != 0 {
                images = Gzip.compress(images)
                if flags & 4 != 0 && !avoid.contains("bomb") { images += at(4) == 0xB0 ? bomb : zeroMember }
                if flags & 0x40 != 0 { images.replaceSubrange((images.count - 4)..., with: [16, 0, 0, 0]) }
            }
            if flags & 2 != 0 { labels = Gzip.compress(labels) }
            switch (flags >> 3) & 3 {
            case 1: images.removeLast(min(1, images.count))
            case 2: images.removeLast(images.count / 2)
            case 3: images.removeLast(min(5, images.count))
            default: break
            }
            // Extra damage: (position, byte) pairs on the images file.
            var k = 8
            while k + 2 < p.count, !images.isEmpty {
                images[(at(k) << 8 | at(k + 1)) % images.count] = p[k + 2]
                k += 3
            }
            let names: [String]? = flags & 0x80 != 0 ? ["only"] : (at(5) % 3 == 0 ? nil : FashionMNIST.classNames)
            return (images, labels, names)
        }

        static func header(_ dimensions: [UInt32], type: UInt8) -> [UInt8] {
            var out: [UInt8] = [0, 0, type, UInt8(dimensions.count)]
            for d in dimensions { out += [UInt8(d >> 24), UInt8((d >> 16) & 255), UInt8((d >> 8) & 255), UInt8(d & 255)] }
            return out
        }
    }
}
