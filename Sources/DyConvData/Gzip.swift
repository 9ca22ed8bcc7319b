import CZlib

/// Gzip (RFC 1952) decompression and compression on top of zlib.
///
/// Decompression auto-detects gzip and zlib headers (`windowBits` 15 + 32),
/// accepts concatenated gzip members (as `gunzip` does) and tolerates zero
/// padding after the last member; anything else after the stream, a damaged
/// stream, a CRC mismatch or a stream that stops early is a `DataError` of kind
/// `.corruptGzip`. Work happens in fixed-size chunks; output is appended per
/// chunk, never per byte.
public enum Gzip {
    /// The size of the input and output chunks handed to zlib.
    static let chunkSize = 1 << 18

    /// Decompresses an in-memory gzip (or zlib) stream; `name` is used in error messages.
    public static func decompress(_ bytes: [UInt8], name: String = "<memory>") throws -> [UInt8] {
        let inflater = try Inflater(name: name, capacityHint: capacityHint(for: bytes))
        try bytes.withUnsafeBufferPointer { all in
            var start = 0
            while start < all.count {
                let end = Swift.min(all.count, start + (1 << 30))
                try inflater.feed(UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end
            }
        }
        return try inflater.finish()
    }

    /// Compresses `bytes` into a single gzip member with mtime 0 and no file name (reproducible output).
    ///
    /// `level` is the zlib level, 0 (store) through 9 (smallest); values outside are clamped.
    public static func compress(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        let clamped = Int32(Swift.max(0, Swift.min(9, level)))
        // 15 + 16: a 32 KiB window with a gzip wrapper; zlib writes mtime 0 and no name by default.
        let status = deflateInit2_(stream, clamped, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        // deflateInit2 fails only on invalid parameters (fixed here) or out of memory.
        precondition(status == Z_OK, "Gzip.compress: deflateInit2 failed with zlib status \(status)")
        defer { deflateEnd(stream) }

        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        defer { output.deallocate() }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count / 2 + 64)
        bytes.withUnsafeBufferPointer { all in
            var start = 0
            repeat {
                let end = Swift.min(all.count, start + (1 << 30))
                let last = end == all.count
                stream.pointee.next_in = all.baseAddress.map { UnsafeMutablePointer(mutating: $0 + start) }
                stream.pointee.avail_in = UInt32(end - start)
                var code: Int32
                repeat {
                    stream.pointee.next_out = output
                    stream.pointee.avail_out = UInt32(chunkSize)
                    code = deflate(stream, last ? Z_FINISH : Z_NO_FLUSH)
                    precondition(code != Z_STREAM_ERROR, "Gzip.compress: zlib stream state corrupted")
                    let produced = chunkSize - Int(stream.pointee.avail_out)
                    result.append(contentsOf: UnsafeBufferPointer(start: output, count: produced))
                } while stream.pointee.avail_out == 0 || (last && code != Z_STREAM_END)
                start = end
            } while start < all.count
        }
        return result
    }

    /// A capacity hint from the gzip trailer's ISIZE (uncompressed size mod 2³²), bounded by deflate's maximum ratio.
    static func capacityHint(for bytes: [UInt8]) -> Int {
        guard bytes.count >= 18 else { return 0 }
        let n = bytes.count
        let isize = UInt32(bytes[n - 4]) | UInt32(bytes[n - 3]) << 8 | UInt32(bytes[n - 2]) << 16 | UInt32(bytes[n - 1]) << 24
        return boundedHint(Int(isize), compressedSize: n)
    }

    /// Limits an untrusted size hint to what `compressedSize` bytes of deflate data can possibly expand to.
    static func boundedHint(_ hint: Int, compressedSize: Int) -> Int {
        Swift.min(hint, compressedSize.multipliedReportingOverflow(by: 1032).partialValue + (1 << 16))
    }
}

/// Incremental gzip/zlib decompressor: feed input chunks, then `finish()` to get the bytes.
///
/// The `z_stream` lives at a fixed heap address because zlib keeps a pointer back to it.
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let outputChunk: UnsafeMutablePointer<UInt8>
    private var output: [UInt8] = []
    private let name: String
    private var memberEnded = false
    private var members = 0
    private var paddingSeen = false
    private var fedBytes = 0

    /// Creates an inflater; `name` appears in error messages, `capacityHint` pre-sizes the output.
    init(name: String, capacityHint: Int) throws {
        self.name = name
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        outputChunk = UnsafeMutablePointer<UInt8>.allocate(capacity: Gzip.chunkSize)
        // 15 + 32: 32 KiB window, automatic gzip/zlib header detection.
        let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            outputChunk.deallocate()
            throw DataError(.io, file: name, "zlib inflateInit2 failed (status \(status))")
        }
        if capacityHint > 0 { output.reserveCapacity(capacityHint) }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        outputChunk.deallocate()
    }

    /// Decompresses one chunk of input (at most 4 GiB), appending to the output.
    func feed(_ input: UnsafeBufferPointer<UInt8>) throws {
        guard let base = input.baseAddress, input.count > 0 else { return }
        precondition(input.count <= Int(UInt32.max), "Inflater.feed: chunk larger than 4 GiB")
        fedBytes += input.count
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base)
        stream.pointee.avail_in = UInt32(input.count)
        while true {
            if memberEnded {
                let remaining = Int(stream.pointee.avail_in)
                if remaining == 0 { return }
                let rest = UnsafeBufferPointer(start: stream.pointee.next_in, count: remaining)
                if rest.allSatisfy({ $0 == 0 }) {
                    paddingSeen = true
                    stream.pointee.avail_in = 0
                    return
                }
                if paddingSeen {
                    throw corrupt("unexpected data after the zero padding that follows the gzip stream")
                }
                // Another gzip member follows (concatenated .gz files); decode it too.
                guard inflateReset(stream) == Z_OK else { throw corrupt("zlib inflateReset failed") }
                memberEnded = false
            }
            stream.pointee.next_out = outputChunk
            stream.pointee.avail_out = UInt32(Gzip.chunkSize)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = Gzip.chunkSize - Int(stream.pointee.avail_out)
            if produced > 0 {
                output.append(contentsOf: UnsafeBufferPointer(start: outputChunk, count: produced))
            }
            switch status {
            case Z_STREAM_END:
                memberEnded = true
                members += 1
            case Z_OK:
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return }
            case Z_BUF_ERROR:
                // No progress possible: zlib needs more input than this chunk holds.
                if stream.pointee.avail_in == 0 { return }
                throw corrupt("zlib made no progress (status Z_BUF_ERROR)")
            default:
                throw corrupt(zlibMessage(status))
            }
        }
    }

    /// Checks the stream ended cleanly and returns the decompressed bytes.
    func finish() throws -> [UInt8] {
        if fedBytes == 0 { throw corrupt("file is empty, not a gzip stream") }
        if !memberEnded {
            throw corrupt("gzip stream ends early after \(fedBytes) compressed bytes (file truncated?)")
        }
        let result = output
        output = []
        return result
    }

    private func zlibMessage(_ status: Int32) -> String {
        let detail = stream.pointee.msg.map { String(cString: $0) }
        let meaning: String
        switch status {
        case Z_DATA_ERROR: meaning = "invalid compressed data"
        case Z_NEED_DICT: meaning = "stream needs a preset dictionary"
        case Z_MEM_ERROR: meaning = "out of memory"
        case Z_STREAM_ERROR: meaning = "inconsistent stream state"
        default: meaning = "zlib status \(status)"
        }
        let position = members > 0 ? " in gzip member \(members + 1)" : ""
        return detail.map { "\(meaning)\(position): \($0)" } ?? "\(meaning)\(position)"
    }

    private func corrupt(_ message: String) -> DataError {
        DataError(.corruptGzip, file: name, "corrupt gzip stream: \(message)")
    }
}
