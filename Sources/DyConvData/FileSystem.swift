#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal POSIX file access for the data layer: chunked reads, atomic writes and path
/// queries, with one-line errors that name the file and the precise reason (errno).
enum FileSystem {
    /// The size of each `read(2)` call.
    static let readChunk = 1 << 20

    /// What a path names, after following symlinks.
    enum PathKind: Equatable {
        case directory
        case regularFile
        /// A device, FIFO or socket.
        case other
        /// Nothing (ENOENT).
        case missing
        /// `stat` failed for another reason: the errno (ELOOP, EACCES, ENOTDIR, ENAMETOOLONG, ...).
        case error(Int32)
    }

    /// What `path` names (symlinks followed), keeping the reason when `stat` fails.
    static func kind(of path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            return code == ENOENT ? .missing : .error(code)
        }
        switch UInt32(info.st_mode) & 0o170000 {
        case 0o040000: return .directory
        case 0o100000: return .regularFile
        default: return .other
        }
    }

    /// `true` when `path` names an existing directory (symlinks followed).
    static func isDirectory(_ path: String) -> Bool { kind(of: path) == .directory }

    /// `true` when `path` names an existing regular file (symlinks followed).
    static func isRegularFile(_ path: String) -> Bool { kind(of: path) == .regularFile }

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

    /// A file open for reading in chunks; closed when the value is released.
    ///
    /// Nothing here reads a whole file: callers pull bytes into their own fixed-size buffer
    /// (see `ByteSource.feed(file:into:)`), so memory stays bounded by what they expect.
    final class InputFile {
        let path: String
        private let fd: Int32
        /// The size in bytes of a regular file; nil for devices, FIFOs and sockets (whose size means nothing).
        let size: Int?

        /// Opens `path`; throws a one-line `DataError` naming it with the precise reason.
        init(path: String) throws {
            self.path = path
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                let code = errno
                if code == ENOENT { throw DataError(.notFound, file: path, "no such file") }
                throw DataError(.io, file: path, "cannot open: \(describe(code))")
            }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                let code = errno
                close(fd)
                throw DataError(.io, file: path, "cannot stat: \(describe(code))")
            }
            switch UInt32(info.st_mode) & 0o170000 {
            case 0o040000:
                close(fd)
                throw DataError(.io, file: path, "is a directory, expected a file")
            case 0o100000:
                size = Int(info.st_size)
            default:
                size = nil
            }
            self.fd = fd
        }

        deinit { close(fd) }

        /// One `read(2)` of at most `capacity` bytes, retried on EINTR; returns 0 at end of file.
        func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
            while true {
                let n = posixRead(fd, buffer, capacity)
                if n >= 0 { return n }
                let code = errno
                if code == EINTR { continue }
                throw DataError(.io, file: path, "read failed: \(describe(code))")
            }
        }
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

    /// The C library's text for an errno value, starting lower-case to read inside a sentence:
    /// "too many levels of symbolic links", "permission denied", "not a directory".
    static func describe(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        guard let first = text.first, first.isUppercase,
              text.dropFirst().first.map({ !$0.isUppercase }) ?? true else { return text }
        return first.lowercased() + text.dropFirst()
    }
}

/// `read(2)`, reachable from a method that is itself called `read`.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
    read(fd, buffer, count)
}
