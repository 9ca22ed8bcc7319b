#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Files {
    /// The temporary file `writeAtomically` writes before renaming it over `path`:
    /// `<path>.tmp-<pid>`, in the same directory (a rename is atomic only within one file system).
    package static func temporaryPath(for path: String, pid: Int32 = getpid()) -> String {
        "\(path).tmp-\(pid)"
    }

    /// The target name and process id of a temporary file name (`m.safetensors.tmp-123` →
    /// (`m.safetensors`, 123)); nil for any other name.
    package static func temporaryOwner(ofName name: String) -> (target: String, pid: Int32)? {
        guard let marker = name.range(of: ".tmp-", options: .backwards),
              let pid = Int32(name[marker.upperBound...]), pid > 0 else { return nil }
        return (String(name[..<marker.lowerBound]), pid)
    }

    /// Writes `path` atomically: readers see the old file or the complete new one, never a
    /// part, and a failed write leaves the old file as it was.
    ///
    /// The rules, in order:
    /// 1. The directory of `path` must exist ("cannot write: directory 'D' does not exist").
    /// 2. The bytes go to `temporaryPath(for: path)` = `<path>.tmp-<pid>` in that directory,
    ///    created with mode 0644 (before the umask), truncating a leftover of the same name.
    /// 3. The temporary file is fsynced, then closed: its data is on disk before it gets the
    ///    real name, so a power loss cannot leave a renamed but empty file.
    /// 4. It is renamed over `path` (atomic on POSIX file systems).
    /// 5. The directory is fsynced so that the rename itself survives a power loss. A failure
    ///    here is not reported: the new file is complete and in place.
    ///
    /// On any failure in 2–4 the temporary file is removed and the error names `path` (not the
    /// temporary). A process killed during 2–4 leaves the temporary behind; the next training
    /// run sweeps those of dead processes (`temporaryOwner(ofName:)`, `RunFiles.removeStaleTemporaries`).
    ///
    /// - Parameter body: receives `append`, which writes bytes to the temporary file (all of
    ///   them, retrying short writes and EINTR).
    /// - Throws: whatever `body` throws, or `FileError(.writeFailed)` naming `path`, with reasons "cannot write: directory
    ///   'D' does not exist", "cannot write: 'D' is not a directory", "cannot create 'T': …",
    ///   "write failed: …", "fsync failed: …", "close failed: …", "cannot replace the file: …".
    package static func writeAtomically(
        path: String,
        _ body: (_ append: (UnsafeRawBufferPointer) throws(FileError) -> Void) throws -> Void
    ) throws {
        func failure(_ reason: String, _ code: Int32? = nil) -> FileError {
            FileError(.writeFailed, path: path, code: code, reason)
        }
        let directory = parent(of: path)
        switch kind(of: directory) {
        case .directory: break
        case .missing: throw failure("cannot write: directory '\(directory)' does not exist", ENOENT)
        case .error(let code) where code == ENOTDIR: throw failure("cannot write: directory '\(directory)' does not exist", code)
        case .error(let code): throw failure("cannot write: cannot reach directory '\(directory)': \(errnoText(code))", code)
        case .regularFile, .other: throw failure("cannot write: '\(directory)' is not a directory", ENOTDIR)
        }
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let code = errno
            throw failure("cannot create '\(temporary)': \(errnoText(code))", code)
        }
        var isOpen = true
        do {
            try body { (chunk: UnsafeRawBufferPointer) throws(FileError) in
                guard var p = chunk.baseAddress else { return }
                var remaining = chunk.count
                while remaining > 0 {
                    // Linux writes at most 0x7ffff000 bytes per call; ask for 1 GiB at a time.
                    let n = write(fd, p, Swift.min(remaining, 1 << 30))
                    if n > 0 {
                        p += n
                        remaining -= n
                    } else if n < 0 && errno == EINTR {
                        continue
                    } else {
                        let code = n < 0 ? errno : ENOSPC
                        throw failure("write failed: \(errnoText(code))", code)
                    }
                }
            }
            guard fsync(fd) == 0 else {
                let code = errno
                throw failure("fsync failed: \(errnoText(code))", code)
            }
            isOpen = false
            guard close(fd) == 0 else {
                let code = errno
                throw failure("close failed: \(errnoText(code))", code)
            }
            guard rename(temporary, path) == 0 else {
                let code = errno
                throw failure("cannot replace the file: \(errnoText(code))", code)
            }
        } catch {
            if isOpen { close(fd) }
            unlink(temporary)
            throw error
        }
        let dirfd = open(directory, O_RDONLY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Writes `bytes` to `path` atomically, by the rules of `writeAtomically(path:_:)`.
    package static func writeAtomically(_ bytes: [UInt8], to path: String) throws(FileError) {
        do {
            try writeAtomically(path: path) { append in try bytes.withUnsafeBytes { try append($0) } }
        } catch let error as FileError {
            throw error
        } catch {
            // Only `append` throws in the body above, and it throws `FileError`s.
            throw FileError(.writeFailed, path: path, "\(error)")
        }
    }
}
