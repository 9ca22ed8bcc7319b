import DyConvEngine

/// A consumer of bytes that says, before every chunk, how many more it will take.
///
/// Producers (the file reader, the gzip inflater) never hand a sink more than `wanted` bytes
/// per call, so a sink that bounds `wanted` by what it expects bounds the whole pipeline: a
/// decompression bomb is stopped after at most one byte more than the sink asked for.
protocol ByteSink {
    /// The most bytes the next `append` may carry (at least 1; one more than the sink still
    /// expects, so that excess data is seen and refused instead of silently dropped).
    var wanted: Int { get }
    /// Called once before the first byte: the source's size in bytes if known (a regular file,
    /// an in-memory buffer), and whether it is gzip-compressed (then the size is the compressed one).
    mutating func begin(sourceSize: Int?, compressed: Bool) throws
    /// Takes at most `wanted` bytes; throws when they disagree with what the sink expects.
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) throws
}

/// A sink that collects everything up to `limit` bytes and refuses the first byte beyond.
struct BoundedBuffer: ByteSink {
    /// The most bytes the buffer holds.
    let limit: Int
    /// Used in the error message.
    let name: String
    private(set) var bytes: [UInt8] = []

    init(limit: Int, name: String) {
        self.limit = Swift.max(0, limit)
        self.name = name
    }

    var wanted: Int { Swift.min(limit - bytes.count, Int.max - 1) + 1 }  // no overflow for limit == .max

    mutating func begin(sourceSize: Int?, compressed: Bool) throws {
        // A capacity hint only, bounded by what the source can expand to and by the limit.
        guard let sourceSize else { return }
        let expanded = compressed ? Gzip.maximumExpansion(ofCompressedSize: sourceSize) : sourceSize
        bytes.reserveCapacity(Swift.min(expanded, limit, 1 << 26))
    }

    mutating func append(_ chunk: UnsafeBufferPointer<UInt8>) throws {
        guard chunk.count <= limit - bytes.count else {
            throw DataError(.tooLarge, file: name,
                            "data is larger than the limit of \(Limits.formatBytes(limit)); reading stopped there")
        }
        bytes.append(contentsOf: chunk)
    }
}

/// Feeds bytes from memory or from a file into a `ByteSink`, inflating gzip on the way.
///
/// One rule decides what is gzip everywhere: the magic 1f 8b, or a name ending in `.gz`
/// (so a damaged `.gz` file is reported as a damaged gzip stream, not as a bad IDX magic).
enum ByteSource {
    /// Whether data starting with `prefix`, called `name`, is to be read as gzip.
    static func isGzip(prefix: UnsafeBufferPointer<UInt8>, name: String) -> Bool {
        (prefix.count >= 2 && prefix[0] == 0x1F && prefix[1] == 0x8B) || name.hasSuffix(".gz")
    }

    /// Feeds an in-memory buffer (raw or gzip) into `sink`.
    static func feed<S: ByteSink>(_ bytes: [UInt8], name: String, into sink: inout S) throws {
        try bytes.withUnsafeBufferPointer { all in
            let compressed = isGzip(prefix: all, name: name)
            try sink.begin(sourceSize: all.count, compressed: compressed)
            if compressed {
                try inflate(all, name: name, into: &sink)
            } else {
                var start = 0
                while start < all.count {
                    let end = start + Swift.min(Swift.max(1, sink.wanted), all.count - start)
                    try sink.append(UnsafeBufferPointer(rebasing: all[start..<end]))
                    start = end
                }
            }
        }
    }

    /// Inflates a whole in-memory gzip (or zlib) stream into `sink` and checks that it ends cleanly.
    static func inflate<S: ByteSink>(_ all: UnsafeBufferPointer<UInt8>, name: String, into sink: inout S) throws {
        let inflater = try Inflater(name: name)
        var start = 0
        while start < all.count {
            // zlib counts input in UInt32.
            let end = Swift.min(all.count, start + (1 << 30))
            try inflater.feed(UnsafeBufferPointer(rebasing: all[start..<end]), into: &sink)
            start = end
        }
        try inflater.finish()
    }

    /// Feeds the file at `path` (raw or gzip) into `sink`, through one fixed-size read buffer.
    ///
    /// Raw files are read at most `sink.wanted` bytes at a time, so nothing past what the sink
    /// expects (plus one byte) is ever read; gzip files are inflated chunk by chunk and the
    /// inflater asks the sink the same way.
    static func feed<S: ByteSink>(file path: String, into sink: inout S) throws {
        do {
            try feedFile(path, into: &sink)
        } catch let error as FileError {
            throw DataError(error)
        }
    }

    /// `feed(file:into:)` with the file layer's errors as they come.
    private static func feedFile<S: ByteSink>(_ path: String, into sink: inout S) throws {
        let file = try Files.InputFile(path: path)
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: Files.readChunk)
        defer { chunk.deallocate() }
        // Two bytes are enough to tell gzip from raw; raw data then goes on at the sink's pace.
        var count = try file.read(into: chunk, capacity: 2)
        if count == 1 { count += try file.read(into: chunk + 1, capacity: 1) }
        let compressed = isGzip(prefix: UnsafeBufferPointer(start: chunk, count: count), name: path)
        try sink.begin(sourceSize: file.size, compressed: compressed)
        if compressed {
            let inflater = try Inflater(name: path)
            while count > 0 {
                try inflater.feed(UnsafeBufferPointer(start: chunk, count: count), into: &sink)
                count = try file.read(into: chunk, capacity: Files.readChunk)
            }
            try inflater.finish()
        } else {
            if count > 0 { try sink.append(UnsafeBufferPointer(start: chunk, count: count)) }
            while true {
                count = try file.read(into: chunk, capacity: Swift.min(Files.readChunk, Swift.max(1, sink.wanted)))
                if count == 0 { break }
                try sink.append(UnsafeBufferPointer(start: chunk, count: count))
            }
        }
    }
}
