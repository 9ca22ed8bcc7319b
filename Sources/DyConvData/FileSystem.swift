#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal POSIX file access for the data layer: whole-file reads (gzip handled
/// transparently), atomic writes and path queries, with errors that name the file.
enum FileSystem {
    /// The size of each `read(2)` call.
    static let readChunk = 1 << 20

    /// `true` when `path` names an existing directory (symlinks followed).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && UInt32(info.st_mode) & 0o170000 == 0o040000
    }

    /// `true` when `path` names an existing regular file (symlinks followed).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && UInt32(info.st_mode) & 0o170000 == 0o100000
    }

    /// The canonical absolute path (symlinks resolved), or `nil` if it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The process's current working directory.
    static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// The value of an environment variable, if set and non-empty.
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }

    /// The parent directory of `path` ("/" for "/" and for top-level entries).
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last path component.
    static func baseName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// Joins two path pieces with exactly one separator.
    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Reads a whole file; gzip content (magic 1f 8b, or a `.gz` name) is decompressed while reading.
    static func readContents(of path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw DataError(.notFound, file: path, "no such file") }
            throw DataError(.io, file: path, "cannot open: \(describe(code))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError(.io, file: path, "cannot stat: \(describe(errno))") }
        if UInt32(info.st_mode) & 0o170000 == 0o040000 {
            throw DataError(.io, file: path, "is a directory, expected a file")
        }
        let fileSize = Int(info.st_size)

        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: readChunk)
        defer { chunk.deallocate() }
        let first = try readSome(fd, into: chunk, capacity: readChunk, path: path)
        let looksGzip = first >= 2 && chunk[0] == 0x1F && chunk[1] == 0x8B
        if looksGzip || path.hasSuffix(".gz") {
            let inflater = try Inflater(name: path, capacityHint: gzipSizeHint(fd: fd, fileSize: fileSize))
            var count = first
            while count > 0 {
                try inflater.feed(UnsafeBufferPointer(start: chunk, count: count))
                count = try readSome(fd, into: chunk, capacity: readChunk, path: path)
            }
            return try inflater.finish()
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Swift.max(fileSize, first))
        var count = first
        while count > 0 {
            bytes.append(contentsOf: UnsafeBufferPointer(start: chunk, count: count))
            count = try readSome(fd, into: chunk, capacity: readChunk, path: path)
        }
        return bytes
    }

    /// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, then rename.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let directory = parent(of: path)
        var template = Array(join(directory, ".\(baseName(of: path)).XXXXXX.tmp").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        if fd < 0 { throw DataError(.io, file: path, "cannot create a temporary file in \(directory): \(describe(errno))") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            try bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, Swift.min(raw.count - offset, 1 << 30))
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw DataError(.io, file: path, "write failed: \(describe(errno))")
                    }
                    offset += written
                }
            }
            if fchmod(fd, 0o644) != 0 { throw DataError(.io, file: path, "chmod failed: \(describe(errno))") }
            if fsync(fd) != 0 { throw DataError(.io, file: path, "fsync failed: \(describe(errno))") }
        }
        if rename(temporary, path) != 0 {
            throw DataError(.io, file: path, "cannot rename temporary file into place: \(describe(errno))")
        }
        committed = true
    }

    /// One `read(2)`, retried on EINTR; returns 0 at end of file.
    private static func readSome(_ fd: Int32, into buffer: UnsafeMutablePointer<UInt8>, capacity: Int,
                                 path: String) throws -> Int {
        while true {
            let n = read(fd, buffer, capacity)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw DataError(.io, file: path, "read failed: \(describe(errno))")
        }
    }

    /// The gzip trailer's ISIZE as an output-capacity hint (0 if unavailable); the file offset is unchanged.
    private static func gzipSizeHint(fd: Int32, fileSize: Int) -> Int {
        guard fileSize >= 18 else { return 0 }
        var trailer: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        let n = withUnsafeMutableBytes(of: &trailer) { pread(fd, $0.baseAddress, 4, off_t(fileSize - 4)) }
        guard n == 4 else { return 0 }
        let isize = UInt32(trailer.0) | UInt32(trailer.1) << 8 | UInt32(trailer.2) << 16 | UInt32(trailer.3) << 24
        return Gzip.boundedHint(Int(isize), compressedSize: fileSize)
    }

    /// The C library's text for an errno value.
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
