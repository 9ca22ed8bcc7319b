import CZlibSystem
import DyConvData

// Gzip compression, for tests and fuzz seeds only: dyconv itself never writes gzip.

extension Gzip {
    /// The output chunk handed to zlib.
    static let compressionChunk = 1 << 18

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

        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: Gzip.compressionChunk)
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
                    stream.pointee.avail_out = UInt32(Gzip.compressionChunk)
                    code = deflate(stream, last ? Z_FINISH : Z_NO_FLUSH)
                    precondition(code != Z_STREAM_ERROR, "Gzip.compress: zlib stream state corrupted")
                    let produced = Gzip.compressionChunk - Int(stream.pointee.avail_out)
                    result.append(contentsOf: UnsafeBufferPointer(start: output, count: produced))
                } while stream.pointee.avail_out == 0 || (last && code != Z_STREAM_END)
                start = end
            } while start < all.count
        }
        return result
    }
}
