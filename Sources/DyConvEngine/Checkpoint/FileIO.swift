#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes with POSIX calls, reporting `CheckpointError`s.
package enum FileIO {
    /// The text of the current `errno`.
    package static func errnoText(_ code: Int32 = errno) -> String {
        String(cString: strerror(code))
    }

    /// The directory holding `path` (`.` for a bare file name).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// Reads a whole regular file into memory in one pass.
    ///
    /// - Throws: `CheckpointError` (`.fileNotFound` or `.unreadable`) naming `path`.
    static func readAll(path: String) throws(CheckpointError) -> [UInt8] {
        try readPrefix(path: path, count: nil).bytes
    }

    /// Reads the first `count` bytes of a regular file (all of it when `count` is nil, or
    /// the file is shorter) and returns them with the file's size; a header read never
    /// allocates more than the header.
    ///
    /// - Throws: `CheckpointError` (`.fileNotFound`, `.unreadable` or `.tooLarge`) naming `path`.
    static func readPrefix(path: String, count prefix: Int?) throws(CheckpointError) -> (bytes: [UInt8], fileSize: Int) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw CheckpointError(.fileNotFound, path: path, "no such file")
            }
            throw CheckpointError(.unreadable, path: path, "cannot access the file: \(errnoText(code))")
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR {
            throw CheckpointError(.unreadable, path: path, "is a directory, not a checkpoint file")
        }
        guard type == S_IFREG else {
            throw CheckpointError(.unreadable, path: path, "is not a regular file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CheckpointError(.unreadable, path: path, "cannot open the file: \(errnoText())")
        }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(.unreadable, path: path, "cannot stat the file: \(errnoText())")
        }
        let fileSize = Int(info.st_size)
        let size = min(fileSize, max(prefix ?? fileSize, 0))
        // The bytes and the tensors decoded from them are alive together: twice the file.
        do {
            try Limits.checkMemory(CheckedSize.product(size, 2), for: "reading this \(Limits.formatBytes(size)) file")
        } catch {
            throw CheckpointError(.tooLarge, path: path, String(describing: error))
        }
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n > 0 {
                    done += n
                } else if n == 0 {
                    break  // the file shrank while we read it: keep what is there
                } else if errno != EINTR {
                    failure = errno
                    break
                }
            }
            initialized = done
        }
        if failure != 0 {
            throw CheckpointError(.unreadable, path: path, "read failed: \(errnoText(failure))")
        }
        return (bytes, fileSize)
    }

    /// Writes a file atomically: `<path>.tmp-<pid>` in the same directory, fsync, rename.
    ///
    /// `body` receives a function that appends bytes to the temporary file. On
    /// any failure the temporary file is removed and an existing file at `path`
    /// is left untouched.
    /// - Throws: `CheckpointError(.writeFailed)` naming `path`, or whatever `body` throws.
    package static func writeAtomically(path: String,
                                _ body: (_ append: (UnsafeRawBufferPointer) throws(CheckpointError) -> Void) throws -> Void) throws {
        let directory = parentDirectory(of: path)
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw CheckpointError(.writeFailed, path: path, "cannot write: directory '\(directory)' does not exist")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw CheckpointError(.writeFailed, path: path, "cannot write: '\(directory)' is not a directory")
        }
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CheckpointError(.writeFailed, path: path, "cannot create '\(temporary)': \(errnoText())")
        }
        var isOpen = true
        do {
            try body { (chunk: UnsafeRawBufferPointer) throws(CheckpointError) in
                guard var p = chunk.baseAddress else { return }
                var remaining = chunk.count
                while remaining > 0 {
                    let n = write(fd, p, remaining)
                    if n > 0 {
                        p += n
                        remaining -= n
                    } else if n < 0 && errno == EINTR {
                        continue
                    } else {
                        throw CheckpointError(.writeFailed, path: path, "write failed: \(errnoText())")
                    }
                }
            }
            guard fsync(fd) == 0 else {
                throw CheckpointError(.writeFailed, path: path, "fsync failed: \(errnoText())")
            }
            isOpen = false
            guard close(fd) == 0 else {
                throw CheckpointError(.writeFailed, path: path, "close failed: \(errnoText())")
            }
            guard rename(temporary, path) == 0 else {
                throw CheckpointError(.writeFailed, path: path, "cannot replace the file: \(errnoText())")
            }
        } catch {
            if isOpen { close(fd) }
            unlink(temporary)
            throw error
        }
        // Make the rename itself durable; a failure here does not undo the write.
        let dirfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}
