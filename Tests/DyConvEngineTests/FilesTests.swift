import Foundation
import XCTest
@testable import DyConvEngine

/// The file layer against real files in a temporary directory. Oracles: Foundation's own file
/// APIs (an independent reader and lister), the C library's `strerror`, and the rules written in
/// `Files.writeAtomically`'s doc comment.
final class FilesTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "dyconv-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        chmod(directory, 0o755)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func listing(_ folder: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder ?? directory)) ?? []).sorted()
    }

    func foundationBytes(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// Runs `body`, which must throw a `FileError` of `kind` naming `file` whose reason contains `fragments`.
    func assertFileError(_ kind: FileError.Kind, file: String, contains fragments: [String],
                         line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("no error thrown", line: line)
        } catch let error as FileError {
            XCTAssertEqual(error.kind, kind, "\(error)", line: line)
            XCTAssertEqual(error.path, file, line: line)
            XCTAssertFalse(error.description.contains("\n"), line: line)
            for fragment in fragments {
                XCTAssertTrue(error.reason.contains(fragment), "'\(error.reason)' lacks '\(fragment)'", line: line)
            }
        } catch {
            XCTFail("not a FileError: \(error)", line: line)
        }
    }

    // MARK: - Atomic writes

    /// Oracle: Foundation reads back the bytes; the directory holds the target and nothing else.
    func testAtomicWriteWritesTheBytesAndLeavesNoTemporary() throws {
        let bytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Files.writeAtomically(bytes, to: path("a.bin"))
        XCTAssertEqual(foundationBytes(path("a.bin")), bytes)
        // Replacing an existing file, in several appends.
        try Files.writeAtomically(path: path("a.bin")) { append in
            try [UInt8]([1, 2, 3]).withUnsafeBytes { try append($0) }
            try [UInt8]([]).withUnsafeBytes { try append($0) }
            try [UInt8]([4]).withUnsafeBytes { try append($0) }
        }
        XCTAssertEqual(foundationBytes(path("a.bin")), [1, 2, 3, 4])
        XCTAssertEqual(listing(), ["a.bin"])
    }

    /// The body fails half-way: the old file keeps its bytes, the temporary is removed, and the
    /// body's own error comes out unchanged.
    func testFailedBodyKeepsTheExistingTarget() throws {
        struct Stop: Error {}
        try Files.writeAtomically([9, 9, 9], to: path("keep.bin"))
        XCTAssertThrowsError(try Files.writeAtomically(path: path("keep.bin")) { append in
            try [UInt8](repeating: 1, count: 4096).withUnsafeBytes { try append($0) }
            throw Stop()
        }) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertEqual(foundationBytes(path("keep.bin")), [9, 9, 9])
        XCTAssertEqual(listing(), ["keep.bin"])
    }

    /// The rename fails (the target is a non-empty directory): the temporary is removed.
    func testFailedRenameRemovesTheTemporary() throws {
        try FileManager.default.createDirectory(atPath: path("target/inner"), withIntermediateDirectories: true)
        assertFileError(.writeFailed, file: path("target"), contains: ["cannot replace the file: "]) {
            try Files.writeAtomically([1], to: path("target"))
        }
        XCTAssertEqual(listing(), ["target"])
    }

    /// A missing parent, and a parent that is a file. Oracle: nothing is created anywhere.
    func testMissingOrFileParentIsRefused() throws {
        let missing = path("no-such-dir/x.bin")
        assertFileError(.writeFailed, file: missing, contains: ["cannot write: directory '\(path("no-such-dir"))' does not exist"]) {
            try Files.writeAtomically([1], to: missing)
        }
        try Files.writeAtomically([1], to: path("plain"))
        assertFileError(.writeFailed, file: path("plain/x.bin"), contains: ["cannot write: '\(path("plain"))' is not a directory"]) {
            try Files.writeAtomically([1], to: path("plain/x.bin"))
        }
        XCTAssertEqual(listing(), ["plain"])
    }

    /// A directory that refuses new files. As root permissions do not apply, so /proc/self (which
    /// refuses new entries to everyone) stands in, without an existing target.
    func testReadOnlyDirectoryRefusesAndKeepsTheTarget() throws {
        if getuid() == 0 {
            let target = "/proc/self/x.bin"
            assertFileError(.writeFailed, file: target, contains: ["cannot create '\(target).tmp-\(getpid())': "]) {
                try Files.writeAtomically([1], to: target)
            }
            return
        }
        try Files.writeAtomically([7, 7], to: path("old.bin"))
        XCTAssertEqual(chmod(directory, 0o555), 0)
        assertFileError(.writeFailed, file: path("old.bin"), contains: ["cannot create '", "permission denied"]) {
            try Files.writeAtomically([1, 2, 3], to: path("old.bin"))
        }
        XCTAssertEqual(foundationBytes(path("old.bin")), [7, 7])
        XCTAssertEqual(listing(), ["old.bin"])
    }

    /// Oracle: the rule in the doc comment, `<path>.tmp-<pid>`, and its inverse.
    func testTemporaryNamesRoundTrip() {
        XCTAssertEqual(Files.temporaryPath(for: "/a/m.safetensors", pid: 42), "/a/m.safetensors.tmp-42")
        XCTAssertEqual(Files.temporaryOwner(ofName: "m.safetensors.state.tmp-42")?.target, "m.safetensors.state")
        XCTAssertEqual(Files.temporaryOwner(ofName: "m.safetensors.state.tmp-42")?.pid, 42)
        XCTAssertEqual(Files.temporaryOwner(ofName: "a.tmp-1.tmp-7")?.target, "a.tmp-1")
        for name in ["m.safetensors", "m.tmp-", "m.tmp-0", "m.tmp--3", "m.tmp-12x", "m.tmp-99999999999"] {
            XCTAssertNil(Files.temporaryOwner(ofName: name), name)
        }
    }

    // MARK: - Reading

    /// Oracle: the bytes Foundation wrote.
    func testReadAllReadsWhatWasWritten() throws {
        let bytes = [UInt8]((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        XCTAssertTrue(FileManager.default.createFile(atPath: path("r.bin"), contents: Data(bytes)))
        XCTAssertEqual(try Files.readAll(path: path("r.bin")), bytes)
        XCTAssertTrue(FileManager.default.createFile(atPath: path("empty"), contents: Data()))
        XCTAssertEqual(try Files.readAll(path: path("empty")), [])
    }

    /// Each refusal is one line naming the file; a FIFO is refused without blocking on it.
    func testReadAllRefusals() throws {
        assertFileError(.notFound, file: path("absent"), contains: ["no such file"]) { _ = try Files.readAll(path: path("absent")) }
        assertFileError(.unreadable, file: directory, contains: ["is a directory"]) { _ = try Files.readAll(path: directory) }
        XCTAssertEqual(mkfifo(path("fifo"), 0o644), 0)
        assertFileError(.unreadable, file: path("fifo"), contains: ["is not a regular file"]) { _ = try Files.readAll(path: path("fifo")) }
        try Files.writeAtomically([1], to: path("plain"))
        assertFileError(.unreadable, file: path("plain/x"), contains: ["cannot open: not a directory"]) {
            _ = try Files.readAll(path: path("plain/x"))
        }
        // A size whose product with `alive` overflows is refused before any allocation.
        try Files.writeAtomically([1, 2], to: path("two"))
        assertFileError(.tooLarge, file: path("two"), contains: ["more memory than can be counted"]) {
            _ = try Files.readAll(path: path("two"), alive: Int.max)
        }
    }

    /// Oracle: the chunks concatenate to Foundation's bytes; a device has no size.
    func testInputFileStreamsInChunks() throws {
        let bytes = [UInt8]((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        XCTAssertTrue(FileManager.default.createFile(atPath: path("s.bin"), contents: Data(bytes)))
        let file = try Files.InputFile(path: path("s.bin"))
        XCTAssertEqual(file.size, bytes.count)
        var collected: [UInt8] = []
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 333)
        defer { buffer.deallocate() }
        while true {
            let n = try file.read(into: buffer, capacity: 333)
            if n == 0 { break }
            collected.append(contentsOf: UnsafeBufferPointer(start: buffer, count: n))
        }
        XCTAssertEqual(collected, bytes)
        XCTAssertNil(try Files.InputFile(path: "/dev/null").size)
        assertFileError(.unreadable, file: directory, contains: ["is a directory"]) { _ = try Files.InputFile(path: directory) }
    }

    // MARK: - Locks

    /// Oracle: flock(2) — a second open file description cannot take an exclusive lock that one
    /// already holds (the same rule keeps a second process out), and a released lock can be
    /// taken again. Foundation reads the pid the holder wrote.
    func testLockIsExclusiveNamesItsHolderAndIsDeletedOnRelease() throws {
        let file = path("m.safetensors.lock")
        guard case .acquired(let first) = try FileLock.acquire(file) else { return XCTFail("first acquire refused") }
        XCTAssertEqual(foundationBytes(file), Array("\(getpid())\n".utf8))
        guard case .heldElsewhere(let pid) = try FileLock.acquire(file) else { return XCTFail("a second holder was let in") }
        XCTAssertEqual(pid, getpid())
        first.release()
        first.release()   // idempotent
        XCTAssertEqual(listing(), [])
        guard case .acquired(let again) = try FileLock.acquire(file) else { return XCTFail("a released lock stayed held") }
        again.release()
        XCTAssertEqual(listing(), [])
    }

    /// A lock file left by a killed holder (the kernel dropped its lock; the file stays) is
    /// reused, empty or holding a pid; a held file whose content is no pid names no holder.
    func testLockReusesALeftoverFileAndReadsNoPidFromGarbage() throws {
        let file = path("run.lock")
        for leftover in ["", "4242\n", "17"] {
            try Files.writeAtomically(Array(leftover.utf8), to: file)
            guard case .acquired(let lock) = try FileLock.acquire(file) else { return XCTFail("leftover '\(leftover)' blocked the lock") }
            XCTAssertEqual(foundationBytes(file), Array("\(getpid())\n".utf8))
            lock.release()
        }
        // Another holder (our own second descriptor) that wrote something else than a pid.
        try Files.writeAtomically(Array("x12".utf8), to: file)
        let fd = open(file, O_RDWR | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        guard case .heldElsewhere(let pid) = try FileLock.acquire(file) else { return XCTFail("a held lock was taken") }
        XCTAssertNil(pid)
    }

    /// A file that dyconv did not make is never truncated or deleted (`--out Cargo` must not
    /// eat `Cargo.lock`): one with other content, a symlink, a folder. Oracle: Foundation reads
    /// the bytes back unchanged; the error is one line naming the path.
    func testLockRefusesAndKeepsFilesThatAreNotLockFiles() throws {
        let text = path("Cargo.lock")
        let content = Array("# This file is automatically generated\nversion = 3\n".utf8)
        try Files.writeAtomically(content, to: text)
        assertFileError(.writeFailed, file: text, contains: ["holds something else, not a lock file"]) {
            _ = try FileLock.acquire(text)
        }
        XCTAssertEqual(foundationBytes(text), content)
        let link = path("link.lock")
        XCTAssertEqual(symlink(text, link), 0)
        assertFileError(.writeFailed, file: link, contains: ["symbolic link, not a lock file"]) { _ = try FileLock.acquire(link) }
        XCTAssertEqual(foundationBytes(text), content)
        let folder = path("folder.lock")
        try Files.createDirectories(folder)
        assertFileError(.writeFailed, file: folder, contains: ["cannot open the lock file"]) { _ = try FileLock.acquire(folder) }
    }

    /// A lock whose folder is missing is a `FileError` naming the lock file, in one line.
    func testLockInAMissingFolderIsOneLineError() {
        let file = path("missing/run.lock")
        assertFileError(.writeFailed, file: file, contains: ["cannot open the lock file", "no such file or directory"]) {
            _ = try FileLock.acquire(file)
        }
    }

    /// `release` deletes the path only while it names the locked file: a file put there after
    /// ours was removed (by `rm`, `git clean`) is someone else's.
    func testReleaseKeepsAFileThatReplacedTheLock() throws {
        let file = path("run.lock")
        guard case .acquired(let lock) = try FileLock.acquire(file) else { return XCTFail("acquire refused") }
        XCTAssertEqual(unlink(file), 0)
        try Files.writeAtomically(Array("other".utf8), to: file)
        lock.release()
        XCTAssertEqual(foundationBytes(file), Array("other".utf8))
    }

    // MARK: - Paths and errno text

    /// Oracle: POSIX `dirname`/`basename` semantics, written out.
    func testPathHelpers() {
        let cases: [(String, String, String)] = [
            ("a/b/c", "a/b", "c"), ("c", ".", "c"), ("/c", "/", "c"),
            ("a/b/", "a", "b"), ("a//", ".", "a"),
        ]
        for (path, parent, base) in cases {
            XCTAssertEqual(Files.parent(of: path), parent, path)
            XCTAssertEqual(Files.baseName(of: path), base, path)
        }
        XCTAssertEqual(Files.join("a", "b"), "a/b")
        XCTAssertEqual(Files.join("a/", "b"), "a/b")
        XCTAssertEqual(Files.join("", "b"), "b")
    }

    /// Oracle: Foundation's listing and existence checks.
    func testDirectoriesAndKinds() throws {
        try Files.createDirectories(path("x/y/z"))
        try Files.createDirectories(path("x/y/z"))  // existing: no error
        XCTAssertTrue(Files.isDirectory(path("x/y/z")))
        try Files.writeAtomically([1], to: path("x/f"))
        XCTAssertEqual(Files.entries(of: path("x"))?.sorted(), listing(path("x")))
        XCTAssertNil(Files.entries(of: path("none")))
        XCTAssertEqual(Files.kind(of: path("x/f")), .regularFile)
        XCTAssertEqual(Files.kind(of: path("none")), .missing)
        XCTAssertEqual(Files.kind(of: "/dev/null"), .other)
        XCTAssertEqual(Files.kind(of: path("x/f/g")), .error(ENOTDIR))
        XCTAssertTrue(Files.exists(path("x/f")))
        XCTAssertFalse(Files.exists(path("none")))
        assertFileError(.writeFailed, file: path("x/f/sub"), contains: ["not a directory"]) {
            try Files.createDirectories(path("x/f/sub"))
        }
    }

    /// Oracle: strerror's text, lower-cased at the start only.
    func testErrnoText() {
        XCTAssertEqual(Files.errnoText(EACCES), "permission denied")
        XCTAssertEqual(Files.errnoText(ENOENT), "no such file or directory")
        XCTAssertEqual(Files.errnoText(ELOOP), "too many levels of symbolic links")
        XCTAssertEqual(Files.errnoText(ENOSPC), "no space left on device")
    }
}
