import CZlibSystem
import DyConvEngine
import Foundation
import Testing
@testable import DyConvData
import DyConvTestSupport

/// Untrusted sizes in IDX and gzip files: every limit holds before memory is allocated.
///
/// Oracle: the reader's own count of the bytes it was handed (`IDXAssembler.received`), compared
/// with what the header declares — not timing, not RSS.
@Suite struct InputLimitTests {
    /// 16 images of 28×28: what the bomb's header declares (12 544 bytes + a 16-byte header).
    static let declaredImages: UInt32 = 16
    static let declaredData = 16 * 28 * 28
    static let headerSize = 16

    /// A gzip stream: a valid `[16, 28, 28]` images file followed by `zeroMiB` MiB of zeros, with a
    /// correct CRC and ISIZE — what `gzip` makes of such a file, built in memory in well under a second.
    ///
    /// Each 1 MiB block of zeros is deflated once after a full flush (which resets the window), so
    /// its compressed form is the same every time and is repeated instead of recomputed.
    static func bomb(zeroMiB: Int) -> [UInt8] {
        let content = idxBytes(magic: 0x803, dimensions: [declaredImages, 28, 28],
                               payload: (0..<declaredData).map { UInt8($0 % 251) })
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { deflateEnd(stream); stream.deinitialize(count: 1); stream.deallocate() }
        let status = deflateInit2_(stream, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK)
        var output = [UInt8](repeating: 0, count: 1 << 21)
        func run(_ input: [UInt8], _ flush: Int32) -> [UInt8] {
            var result: [UInt8] = []
            input.withUnsafeBufferPointer { inBuffer in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress)
                stream.pointee.avail_in = UInt32(inBuffer.count)
                repeat {
                    output.withUnsafeMutableBufferPointer { out in
                        stream.pointee.next_out = out.baseAddress
                        stream.pointee.avail_out = UInt32(out.count)
                        _ = deflate(stream, flush)
                        result += out.prefix(out.count - Int(stream.pointee.avail_out))
                    }
                } while stream.pointee.avail_out == 0
            }
            return result
        }
        var gz = run(content, Z_FULL_FLUSH)
        let block = run(zeros, Z_FULL_FLUSH)
        for _ in 0..<zeroMiB { gz += block }
        gz += run([], Z_FINISH)
        // zlib's trailer covers the one block it saw; rewrite CRC-32 and ISIZE for the whole content.
        var crc = content.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        let zeroCRC = zeros.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        for _ in 0..<zeroMiB { crc = crc32_combine(crc, zeroCRC, off_t(zeros.count)) }
        let size = UInt32(truncatingIfNeeded: content.count + zeroMiB << 20)
        let n = gz.count
        for i in 0..<4 {
            gz[n - 8 + i] = UInt8(truncatingIfNeeded: UInt32(crc) >> (8 * i))
            gz[n - 4 + i] = UInt8(truncatingIfNeeded: size >> (8 * i))
        }
        return gz
    }

    /// Issue #8 item 6: a 1 GiB gzip bomb (≈ 1 MB compressed) behind a 16-image header is refused
    /// after reading at most the declared size plus one byte — in memory and from a file.
    @Test func gzipBombStopsAtTheDeclaredSize() throws {
        let gz = Self.bomb(zeroMiB: 1024)
        #expect(gz.count < 2 << 20)
        let limit = Self.headerSize + Self.declaredData + 1

        var inMemory = IDXAssembler(name: "bomb.gz", expectedRank: 3)
        expectDataError(.trailingData, containing: ["bomb.gz", "decompresses to more than the 16×28×28 = 12544 bytes"]) {
            _ = try IDXFile.parse(gz, into: &inMemory)
        }
        #expect(inMemory.received <= limit, "read \(inMemory.received) bytes, the header declares \(limit - 1)")
        #expect(inMemory.data.capacity < 2 * Self.declaredData)

        let directory = try TemporaryDirectory()
        let path = try directory.write(gz, to: "t10k-images-idx3-ubyte.gz")
        var fromFile = IDXAssembler(name: path, expectedRank: 3)
        expectDataError(.trailingData, containing: [path, "decompresses to more than"]) {
            _ = try IDXFile.read(path: path, into: &fromFile)
        }
        #expect(fromFile.received <= limit, "read \(fromFile.received) bytes, the header declares \(limit - 1)")

        // The same bomb through the public entry points, and through Gzip.decompress's own limit.
        expectDataError(.trailingData, containing: [path]) { _ = try IDXFile.read(path: path, expectedRank: 3) }
        expectDataError(.tooLarge, containing: ["bomb", "limit of 1.0 MB"]) {
            _ = try Gzip.decompress(gz, name: "bomb", limit: 1_000_000)
        }
    }

    /// The bomb generator itself makes a valid stream: with enough room, the zeros come out.
    @Test func bombGeneratorIsAValidGzipStream() throws {
        let gz = Self.bomb(zeroMiB: 2)
        let plain = try Gzip.decompress(gz, limit: 3 << 20)
        #expect(plain.count == Self.headerSize + Self.declaredData + 2 << 20)
        #expect(plain.suffix(2 << 20).allSatisfy { $0 == 0 })
        // Extreme limits: no overflow in the arithmetic on them.
        #expect(try Gzip.decompress(gz, limit: .max) == plain)
        expectDataError(.tooLarge, containing: ["limit of 0 B"]) { _ = try Gzip.decompress(gz, limit: -1) }
    }

    /// Item 6: a raw file is never read whole; a 100 GB (sparse) file with a small header is refused
    /// from its size alone, after reading only the header.
    @Test func hugeRawFileIsRefusedFromItsHeader() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write(idxBytes(magic: 0x803, dimensions: [16, 28, 28], payload: []), to: "huge-idx3-ubyte")
        #expect(truncate(path, 100_000_000_000) == 0)
        var assembler = IDXAssembler(name: path, expectedRank: 3)
        expectDataError(.trailingData, containing: [path, "99999987440 unexpected bytes after the 16×28×28 = 12544 bytes"]) {
            _ = try IDXFile.read(path: path, into: &assembler)
        }
        #expect(assembler.received == Self.headerSize)
        #expect(assembler.data.capacity == 0)
    }

    /// Item 2: dimensions are bounded before anything is allocated — overflow, image side, memory
    /// budget, and what the compressed size can hold.
    @Test func headerLimitsHoldBeforeAllocation() throws {
        // 255 dimensions of 2³²−1: the element count overflows Int.
        let rank255 = idxBytes(magic: 0x08FF, dimensions: [UInt32](repeating: .max, count: 255), payload: [])
        expectDataError(.badDimensions, containing: ["r255", "too large"]) { _ = try IDXFile.parse(rank255, name: "r255") }
        // Rank 0 is not an IDX file.
        expectDataError(.badMagic, containing: ["r0", "bad magic 0x00000800"]) { _ = try IDXFile.parse([0, 0, 8, 0], name: "r0") }
        // One side above Limits.maxImageSide.
        let wide = idxBytes(magic: 0x803, dimensions: [1, 1, UInt32(Limits.maxImageSide + 1)], payload: [])
        expectDataError(.badDimensions, containing: ["wide", "1×16385 pixels", "16384"]) {
            _ = try IDXFile.parse(wide, name: "wide", expectedRank: 3)
        }
        // 65535 × 16384 × 16384 = 17.6 TB: more than any memory budget (at most 64 GiB).
        let big = idxBytes(magic: 0x803, dimensions: [65535, 16384, 16384], payload: [])
        expectDataError(.tooLarge, containing: ["big", "65535×16384×16384", "the limit is"]) {
            _ = try IDXFile.parse(big, name: "big", expectedRank: 3)
        }
        // Within the budget, but more than 30 bytes of gzip can expand to (1032:1 at most).
        let claim = Gzip.compress(idxBytes(magic: 0x801, dimensions: [50_000_000], payload: []))
        expectDataError(.truncated, containing: ["claim.gz", "more than \(claim.count) bytes of gzip can hold"]) {
            _ = try IDXFile.parse(claim, name: "claim.gz", expectedRank: 1)
        }
        // Raw, in memory: the declared size must match the buffer exactly.
        let short = idxBytes(magic: 0x801, dimensions: [10], payload: [1, 2])
        expectDataError(.truncated, containing: ["short", "header says 10 = 10 bytes of data, file has 2"]) {
            _ = try IDXFile.parse(short, name: "short")
        }
    }

    /// Item 7: the in-memory entry point gives what the file path gives, raw and gzip.
    @Test func parseFromBytesMatchesReadingTheFile() throws {
        let images = try IDXFile.read(path: Sample.imagesPath(), expectedRank: 3)
        let gz = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Sample.imagesPath())))
        #expect(try IDXFile.parse(gz, name: "sample", expectedRank: 3) == images)
        #expect(try IDXFile.parse(images.encoded(), name: "sample", expectedRank: 3) == images)
        expectDataError(.corruptGzip, containing: ["cut", "ends early"]) {
            _ = try IDXFile.parse(Array(gz.prefix(gz.count / 2)), name: "cut")
        }
    }

    /// A labels file whose count disagrees with the images is refused from its header, before its
    /// data is read.
    @Test func labelCountIsCheckedFromTheHeader() throws {
        let directory = try TemporaryDirectory()
        let images = try directory.write(idxBytes(magic: 0x803, dimensions: [2, 1, 1], payload: [0, 0]), to: "i")
        let labels = try directory.write(idxBytes(magic: 0x801, dimensions: [5], payload: [0, 0, 0, 0, 0]), to: "l")
        expectDataError(.countMismatch, containing: [labels, "5 labels", "2 images"]) {
            _ = try ImageDataset.load(imagesPath: images, labelsPath: labels)
        }
    }

    /// Item 4: an images file with no images is refused when loading.
    @Test func emptyImagesFileIsRefused() throws {
        let directory = try TemporaryDirectory()
        let images = try directory.write(idxBytes(magic: 0x803, dimensions: [0, 28, 28], payload: []), to: "i")
        let labels = try directory.write(idxBytes(magic: 0x801, dimensions: [0], payload: []), to: "l")
        expectDataError(.badDimensions, containing: [images, "holds no images"]) {
            _ = try ImageDataset.load(imagesPath: images, labelsPath: labels)
        }
    }

    /// A cheap in-process mutation run over the in-memory entry point: every mutated header or
    /// stream ends in a valid file or a one-line `DataError`, never a trap (a trap ends the run).
    @Test func mutatedFilesNeverTrap() throws {
        var generator = SplitMix(seed: 8)
        let raw = idxBytes(magic: 0x803, dimensions: [3, 4, 5], payload: (0..<60).map { UInt8($0) })
        let seeds = [raw, Gzip.compress(raw), idxBytes(magic: 0x801, dimensions: [4], payload: [1, 2, 3, 4])]
        var outcomes: [String: Int] = [:]
        for run in 0..<10_000 {
            var bytes = seeds[run % seeds.count]
            for _ in 0...(generator.next() % 4) {
                let at = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 4 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes[at] = [0x00, 0xFF, 0x7F, 0x80][Int(generator.next() % 4)]
                case 2: bytes.removeSubrange(at...)
                default: bytes.insert(contentsOf: [UInt8](repeating: 0xFF, count: Int(generator.next() % 9)), at: at)
                }
                if bytes.isEmpty { break }
            }
            do {
                _ = try IDXFile.parse(bytes, name: "m")
                outcomes["ok", default: 0] += 1
            } catch let error as DataError {
                #expect(!error.description.contains("\n"))
                outcomes[error.kind.rawValue, default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 10_000)
        #expect(outcomes.count >= 5, "\(outcomes)")
    }
}
