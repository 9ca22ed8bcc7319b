import CZlibSystem
import DyConvEngine

/// Gzip (RFC 1952) decompression on top of zlib (tests compress with `Gzip.compress` in
/// Tests/DyConvTestSupport).
///
/// Decompression auto-detects gzip and zlib headers (`windowBits` 15 + 32),
/// accepts concatenated gzip members (as `gunzip` does) and tolerates zero
/// padding after the last member; anything else after the stream, a damaged
/// stream, a CRC mismatch or a stream that stops early is a `DataError` of kind
/// `.corruptGzip`. Work happens in fixed-size chunks, and the output goes to a
/// `ByteSink` that bounds it: a stream never expands past what its reader expects.
public enum Gzip {
    /// The size of the input and output chunks handed to zlib.
    static let chunkSize = 1 << 18

    /// Decompresses an in-memory gzip (or zlib) stream; `name` is used in error messages.
    ///
    /// - Parameter limit: the most decompressed bytes accepted (default `Limits.memoryBudget`);
    ///   inflating stops at the first byte beyond it with a `.tooLarge` error, so a decompression
    ///   bomb costs at most `limit` bytes of memory.
    public static func decompress(_ bytes: [UInt8], name: String = "<memory>",
                                  limit: Int = Limits.memoryBudget) throws -> [UInt8] {
        var sink = BoundedBuffer(limit: limit, name: name)
        try bytes.withUnsafeBufferPointer { all in
            try sink.begin(sourceSize: all.count, compressed: true)
            try ByteSource.inflate(all, name: name, into: &sink)
        }
        return sink.bytes
    }

    /// The most bytes `compressedSize` bytes of gzip data can expand to: deflate's maximum ratio
    /// is 1032:1 (a 258-byte match coded in 2 bits), plus slack for headers and tiny inputs.
    /// Saturates at `Int.max` instead of overflowing.
    static func maximumExpansion(ofCompressedSize compressedSize: Int) -> Int {
        CheckedSize.sum(CheckedSize.product(Swift.max(0, compressedSize), 1032), 1 << 16) ?? Int.max
    }
}

/// Incremental gzip/zlib decompressor: feed input chunks into a `ByteSink`, then `finish()`.
///
/// The output goes through one fixed chunk and each `inflate` call may fill at most
/// `sink.wanted` bytes of it, so the decompressed size is bounded by what the sink expects,
/// whatever the stream claims. The `z_stream` lives at a fixed heap address because zlib keeps
/// a pointer back to it.
final class Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private let outputChunk: UnsafeMutablePointer<UInt8>
    private let name: String
    private var memberEnded = false
    private var members = 0
    private var paddingSeen = false
    private var fedBytes = 0

    /// Creates an inflater; `name` appears in error messages.
    init(name: String) throws {
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
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        outputChunk.deallocate()
    }

    /// Decompresses one chunk of input (at most 4 GiB) into `sink`.
    func feed<S: ByteSink>(_ input: UnsafeBufferPointer<UInt8>, into sink: inout S) throws {
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
            // Never more room than the sink still wants: a bomb stops one byte past its claim.
            let room = Swift.min(Gzip.chunkSize, Swift.max(1, sink.wanted))
            stream.pointee.next_out = outputChunk
            stream.pointee.avail_out = UInt32(room)
            let status = inflate(stream, Z_NO_FLUSH)
            let produced = room - Int(stream.pointee.avail_out)
            if produced > 0 {
                try sink.append(UnsafeBufferPointer(start: outputChunk, count: produced))
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

    /// Checks that the stream ended cleanly (at least one complete member).
    func finish() throws {
        if fedBytes == 0 { throw corrupt("file is empty, not a gzip stream") }
        if !memberEnded {
            throw corrupt("gzip stream ends early after \(fedBytes) compressed bytes (file truncated?)")
        }
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
