#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive lock on a lock file, held by one process at a time (`flock(2)`), so that two
/// processes never write the same files: two `dyconv train --out m.safetensors` started by
/// accident (two terminals, a queue restarted while its last run still trains) would otherwise
/// overwrite each other's training state every epoch and leave a run that is neither.
///
/// The kernel releases the lock when the process ends, however it ends (SIGKILL included), so a
/// killed holder never blocks the next run. The file holds the holder's process id, for the
/// message that names it. `release()` deletes the file; a killed holder leaves it behind, empty
/// of meaning, and the next `acquire` reuses it.
///
/// Deleting a lock file races with a process that opened it just before: that process would lock
/// the deleted file while a third locks a new one. `acquire` therefore checks, once it holds the
/// lock, that the path still names the file it locked (same device and inode), and starts over if
/// not.
///
///     guard let lock = try FileLock.acquire("m.safetensors.lock") else { /* held elsewhere */ }
///     defer { lock.release() }
package final class FileLock {
    /// The lock file.
    package let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the lock on `path` (creating the file), without waiting.
    ///
    /// - Returns: the held lock, or `.failure(HeldElsewhere)` when another process holds it.
    /// - Throws: `FileError(.writeFailed)` when the file cannot be created or locked ("cannot
    ///   create the lock file: permission denied").
    package static func acquire(_ path: String) throws(FileError) -> Result<FileLock, HeldElsewhere> {
        // Each pass opens the file at `path`; a pass only fails to settle when the holder deleted
        // the file between our open and our lock, which a few passes outlast.
        for _ in 0..<16 {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let code = errno
                throw FileError(.writeFailed, path: path, code: code, "cannot create the lock file: \(Files.errnoText(code))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                defer { close(fd) }
                if code == EWOULDBLOCK || code == EAGAIN {
                    return .failure(HeldElsewhere(path: path, pid: holderPID(fd)))
                }
                throw FileError(.writeFailed, path: path, code: code, "cannot lock: \(Files.errnoText(code))")
            }
            var held = stat(), named = stat()
            guard fstat(fd, &held) == 0, stat(path, &named) == 0,
                  held.st_dev == named.st_dev, held.st_ino == named.st_ino else {
                close(fd)   // the file we locked was deleted or replaced: take the one at `path` now
                continue
            }
            let text = Array("\(getpid())\n".utf8)
            if ftruncate(fd, 0) == 0 {
                _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            }
            return .success(FileLock(path: path, descriptor: fd))
        }
        throw FileError(.writeFailed, path: path, "cannot lock: the lock file keeps being replaced")
    }

    /// Another process holds the lock.
    package struct HeldElsewhere: Error, Sendable, Equatable {
        /// The lock file.
        package let path: String
        /// The holder's process id as written in the file (nil when it does not read as one).
        package let pid: Int32?
    }

    /// The process id a lock file holds: at most 32 bytes of decimal text (the file is
    /// untrusted: anything else reads as nil).
    private static func holderPID(_ fd: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let digits = bytes[..<n].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard let pid = Int32(String(decoding: digits, as: UTF8.self)), pid > 0 else { return nil }
        return pid
    }

    /// Deletes the lock file and lets the lock go (idempotent). The file is deleted while the
    /// lock is still held, so no other process can have taken it in between.
    package func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }
}
