#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// The two ways dyconv reads a file: whole and bounded by the memory budget, or streamed.

extension Files {
    /// The size of each `read(2)` call of a streaming reader.
    package static let readChunk = 1 << 20

    /// Reads a whole regular file into memory in one pass.
    ///
    /// The size is checked before anything is allocated: `alive` × the file's size must fit
    /// `Limits.memoryBudget` (a checkpoint's bytes and the tensors decoded from them are alive
    /// together: `alive` 2). A file that shrinks while it is read is returned as far as it got;
    /// the caller's format checks then find it truncated.
    ///
    /// - Throws: `FileError` naming `path`: `.notFound` ("no such file"), `.unreadable` (a
    ///   directory, a device or FIFO, or a refused open/stat/read, with the errno text),
    ///   `.tooLarge` (the memory check's message).
    package static func readAll(path: String, alive: Int = 1) throws(FileError) -> [UInt8] {
        try readPrefix(path: path, count: nil, alive: alive).bytes
    }

    /// Reads the first `count` bytes of a regular file (all of it when `count` is nil or the
    /// file is shorter) with the file's size, by the rules of `readAll`; the memory check
    /// covers only what is read, so a header read never allocates more than the header.
    package static func readPrefix(path: String, count prefix: Int?,
                                   alive: Int = 1) throws(FileError) -> (bytes: [UInt8], fileSize: Int) {
        // Look before opening: opening a FIFO blocks until someone writes to it.
        switch kind(of: path) {
        case .missing: throw FileError(.notFound, path: path, code: ENOENT, "no such file")
        case .error(let code): throw FileError(.unreadable, path: path, code: code, "cannot open: \(errnoText(code))")
        case .directory: throw FileError(.unreadable, path: path, code: EISDIR, "is a directory, not a file")
        case .other: throw FileError(.unreadable, path: path, "is not a regular file")
        case .regularFile: break
        }
        let file = try InputFile(path: path)
        guard let fileSize = file.size else {
            throw FileError(.unreadable, path: path, "is not a regular file")
        }
        let size = Swift.min(fileSize, Swift.max(prefix ?? fileSize, 0))
        do {
            try Limits.checkMemory(CheckedSize.product(size, Swift.max(1, alive)),
                                   for: "reading this \(Limits.formatBytes(size)) file")
        } catch {
            throw FileError(.tooLarge, path: path, error.message)
        }
        var failure: FileError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                do throws(FileError) {
                    let n = try file.read(into: buffer.baseAddress! + done, capacity: size - done)
                    if n == 0 { break }  // the file shrank while we read it: keep what is there
                    done += n
                } catch {
                    failure = error
                    break
                }
            }
            initialized = done
        }
        if let failure { throw failure }
        return (bytes, fileSize)
    }

    /// A file open for reading in chunks; closed when the value is released.
    ///
    /// Nothing here reads a whole file: callers pull bytes into their own fixed-size buffer, so
    /// memory stays bounded by what they expect (the dataset reader feeds a gzip inflater and an
    /// IDX parser this way). Devices and FIFOs are accepted; their `size` is nil.
    package final class InputFile {
        /// The path as the caller gave it.
        package let path: String
        private let fd: Int32
        /// The size in bytes of a regular file; nil for devices, FIFOs and sockets (whose size means nothing).
        package let size: Int?

        /// Opens `path` for reading.
        ///
        /// - Throws: `FileError` naming `path`: `.notFound` ("no such file") or `.unreadable`
        ///   ("cannot open: <errno text>", "cannot stat: …", "is a directory, not a file").
        package init(path: String) throws(FileError) {
            self.path = path
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                let code = errno
                if code == ENOENT { throw FileError(.notFound, path: path, code: code, "no such file") }
                throw FileError(.unreadable, path: path, code: code, "cannot open: \(errnoText(code))")
            }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                let code = errno
                close(fd)
                throw FileError(.unreadable, path: path, code: code, "cannot stat: \(errnoText(code))")
            }
            switch Files.kind(mode: info.st_mode) {
            case .directory:
                close(fd)
                throw FileError(.unreadable, path: path, code: EISDIR, "is a directory, not a file")
            case .regularFile:
                size = Int(info.st_size)
            default:
                size = nil
            }
            self.fd = fd
        }

        deinit { close(fd) }

        /// One `read(2)` of at most `capacity` bytes, retried on EINTR; returns 0 at end of file.
        package func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws(FileError) -> Int {
            while true {
                let n = posixRead(fd, buffer, capacity)
                if n >= 0 { return n }
                let code = errno
                if code == EINTR { continue }
                throw FileError(.unreadable, path: path, code: code, "read failed: \(errnoText(code))")
            }
        }
    }
}

/// `read(2)`, reachable from a method that is itself called `read`.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
    read(fd, buffer, count)
}
