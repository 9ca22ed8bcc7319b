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
/// message that names it. `release()` deletes the file; a holder that did not get to release it
/// (SIGKILL, a second Ctrl-C, a crash) leaves it behind, unlocked, and the next `acquire` reuses it.
///
/// The lock only covers processes on this machine, and only on file systems with `flock` (not an
/// NFS mount without a lock daemon: `acquire` then says `.unsupported`).
///
/// A file at the lock's path that dyconv did not make is never touched: `acquire` opens it without
/// following symlinks and refuses anything but a regular file that is empty or holds a pid.
///
/// Deleting a lock file races with a process that opened it just before: that process would lock
/// the deleted file while a third locks a new one. `acquire` therefore checks, once it holds the
/// lock, that the path still names the file it locked (same device and inode), and starts over if
/// not; `release` deletes the path only while it still names the locked file.
///
///     switch try FileLock.acquire("m.safetensors.lock") {
///     case .acquired(let lock): defer { lock.release() } /* … write … */
///     case .heldElsewhere(let pid): print("held by \(pid.map(String.init) ?? "another process")")
///     case .unsupported(let reason): print("unlocked: \(reason)")
///     }
package final class FileLock {
    /// The lock file.
    package let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// What `acquire` found.
    package enum Outcome {
        /// The lock is ours until `release()` (or the process ends).
        case acquired(FileLock)
        /// Another open file holds it; the pid written in the file, when it reads as one.
        case heldElsewhere(pid: Int32?)
        /// The file system does not lock ("no locks available", "operation not supported").
        case unsupported(reason: String)
    }

    /// Takes the lock on `path` (creating the file), without waiting.
    ///
    /// - Throws: `FileError(.writeFailed)` naming `path` when the file cannot be opened ("cannot
    ///   open the lock file: permission denied"), is not a lock file ("it is a symbolic link, not
    ///   a lock file"; "it holds something else, not a lock file"), or the lock call fails otherwise.
    package static func acquire(_ path: String) throws(FileError) -> Outcome {
        func failure(_ reason: String, _ code: Int32? = nil) -> FileError {
            FileError(.writeFailed, path: path, code: code, reason)
        }
        // Each pass opens the file at `path`; a pass only fails to settle when the holder deleted
        // the file between our open and our lock, which a few passes outlast.
        for _ in 0..<16 {
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let code = errno
                if code == ELOOP { throw failure("it is a symbolic link, not a lock file; move it away", code) }
                throw failure("cannot open the lock file: \(Files.errnoText(code))", code)
            }
            var held = stat()
            guard fstat(fd, &held) == 0, Files.kind(mode: held.st_mode) == .regularFile else {
                close(fd)
                throw failure("it is not a regular file, not a lock file; move it away")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let code = errno
                defer { close(fd) }
                switch code {
                case EWOULDBLOCK, EAGAIN: return .heldElsewhere(pid: holderPID(fd))
                case ENOLCK, EOPNOTSUPP, EINVAL: return .unsupported(reason: Files.errnoText(code))
                default: throw failure("cannot lock: \(Files.errnoText(code))", code)
                }
            }
            guard names(path, theFileOf: fd) else {
                close(fd)   // the file we locked was deleted or replaced: take the one at `path` now
                continue
            }
            // Ours now; but a file of someone else's that happens to sit at this path stays as it is.
            guard held.st_size == 0 || holderPID(fd) != nil else {
                close(fd)
                throw failure("it holds something else, not a lock file; move it away")
            }
            let text = Array("\(getpid())\n".utf8)
            if ftruncate(fd, 0) == 0 {
                _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            }
            return .acquired(FileLock(path: path, descriptor: fd))
        }
        throw failure("cannot lock: the lock file keeps being replaced")
    }

    /// Whether `path` names the very file open as `fd` (same device and inode): not deleted, not
    /// replaced since it was opened.
    private static func names(_ path: String, theFileOf fd: Int32) -> Bool {
        var open = stat(), named = stat()
        return fstat(fd, &open) == 0 && stat(path, &named) == 0 && open.st_dev == named.st_dev && open.st_ino == named.st_ino
    }

    /// The process id a lock file holds: decimal digits and an optional newline, at most 32 bytes
    /// (the file is untrusted: anything else reads as nil).
    private static func holderPID(_ fd: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 33)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0, n <= 32 else { return nil }
        var text = bytes[..<n]
        if text.last == UInt8(ascii: "\n") { text = text.dropLast() }
        guard !text.isEmpty, text.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let pid = Int32(String(decoding: text, as: UTF8.self)), pid > 0 else { return nil }
        return pid
    }

    /// Deletes the lock file and lets the lock go (idempotent). The file is deleted while the
    /// lock is still held, so no other process can have taken it in between, and only while the
    /// path still names the file we locked (not one someone put there after removing ours).
    package func release() {
        guard descriptor >= 0 else { return }
        if Self.names(path, theFileOf: descriptor) { unlink(path) }
        close(descriptor)
        descriptor = -1
    }
}
