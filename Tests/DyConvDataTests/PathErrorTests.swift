import Foundation
import Testing
import DyConvEngine
@testable import DyConvData

/// Issue #8: `--data` pointing at a symlink loop said "no such directory". Every path that cannot
/// be examined gets the operating system's reason in one line, naming the path.
///
/// Oracle: the errno each situation produces (ELOOP, ENOTDIR, EACCES), spelled as strerror does.
@Suite struct PathErrorTests {
    @Test func symlinkLoopIsReportedAsSuch() throws {
        let directory = try TemporaryDirectory()
        let a = directory.file("a"), b = directory.file("b")
        try FileManager.default.createSymbolicLink(atPath: a, withDestinationPath: b)
        try FileManager.default.createSymbolicLink(atPath: b, withDestinationPath: a)
        expectDataError(.io, containing: [a, "too many levels of symbolic links"]) {
            _ = try FashionMNIST.load(.test, directory: a)
        }
        #expect(!FashionMNIST.isAvailable(.test, directory: a))
        // A loop in place of one of the files inside a good directory, and as a file to read.
        let data = directory.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
        let images = data + "/t10k-images-idx3-ubyte"
        try FileManager.default.createSymbolicLink(atPath: images, withDestinationPath: images)
        expectDataError(.io, containing: [images, "too many levels of symbolic links"]) {
            _ = try FashionMNIST.load(.test, directory: data)
        }
        expectDataError(.io, containing: [images, "cannot open: too many levels of symbolic links"]) {
            _ = try IDXFile.read(path: images)
        }
    }

    @Test func pathThroughAFileIsNotADirectory() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write([1, 2, 3], to: "plain")
        expectDataError(.io, containing: [file + "/inner", "not a directory"]) {
            _ = try FashionMNIST.load(.test, directory: file + "/inner")
        }
        expectDataError(.notFound, containing: [file, "is a file, expected the directory"]) {
            _ = try FashionMNIST.load(.test, directory: file)
        }
        expectDataError(.io, containing: [file + "/x", "cannot open: not a directory"]) {
            _ = try IDXFile.read(path: file + "/x")
        }
        // Missing stays "no such directory".
        expectDataError(.notFound, containing: [directory.file("absent"), "no such directory"]) {
            _ = try FashionMNIST.load(.test, directory: directory.file("absent"))
        }
    }

    /// Root reads anything, so the permission case is checked through its message text, and
    /// through a real unreadable directory when the tests do not run as root.
    @Test func permissionDenied() throws {
        #expect(Files.errnoText(EACCES) == "permission denied")
        #expect(Files.errnoText(ELOOP) == "too many levels of symbolic links")
        #expect(Files.errnoText(ENOTDIR) == "not a directory")
        guard getuid() != 0 else { return }
        let directory = try TemporaryDirectory()
        let locked = directory.file("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        try directory.write([0], to: "locked/t10k-images-idx3-ubyte")
        #expect(chmod(locked, 0) == 0)
        defer { chmod(locked, 0o755) }
        expectDataError(.io, containing: [locked + "/t10k-images-idx3-ubyte", "permission denied"]) {
            _ = try FashionMNIST.load(.test, directory: locked)
        }
    }
}
