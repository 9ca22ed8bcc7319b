#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Path queries and the few directory operations dyconv needs, without Foundation.

extension Files {
    /// What a path names, after following symlinks.
    package enum PathKind: Equatable, Sendable {
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
    package static func kind(of path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            return code == ENOENT ? .missing : .error(code)
        }
        return kind(mode: info.st_mode)
    }

    /// The kind a `stat` mode describes.
    static func kind(mode: mode_t) -> PathKind {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regularFile
        default: return .other
        }
    }

    /// `true` when `path` names an existing directory (symlinks followed).
    package static func isDirectory(_ path: String) -> Bool { kind(of: path) == .directory }

    /// `true` when `path` names an existing regular file (symlinks followed).
    package static func isRegularFile(_ path: String) -> Bool { kind(of: path) == .regularFile }

    /// `true` when something exists at `path` (symlinks followed).
    package static func exists(_ path: String) -> Bool {
        switch kind(of: path) {
        case .directory, .regularFile, .other: return true
        case .missing, .error: return false
        }
    }

    /// The canonical absolute path (symlinks resolved), or `nil` if it does not exist.
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The process's current working directory.
    package static func currentDirectory() -> String? {
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// The value of an environment variable, if set and non-empty.
    package static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }

    /// The directory holding `path`: "." for a bare name, "/" for "/" and top-level entries;
    /// trailing slashes are ignored.
    package static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last path component (trailing slashes ignored).
    package static func baseName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// Joins two path pieces with exactly one separator.
    package static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The names in a directory (without "." and ".."), or nil when it cannot be listed.
    package static func entries(of directory: String) -> [String]? {
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates `path` and any missing parents (like `mkdir -p`), mode 0755 before the umask.
    ///
    /// - Throws: `FileError(.writeFailed)` naming the folder that could not be made, with the
    ///   errno text as its reason ("permission denied").
    package static func createDirectories(_ path: String) throws(FileError) {
        if isDirectory(path) { return }
        let up = parent(of: path)
        // Only a missing parent is made; any other trouble with it shows in this mkdir's errno.
        if up != path && kind(of: up) == .missing { try createDirectories(up) }
        if mkdir(path, 0o755) != 0 {
            let code = errno
            // Another process may have made it meanwhile.
            if code == EEXIST && isDirectory(path) { return }
            throw FileError(.writeFailed, path: path, code: code, errnoText(code))
        }
    }
}
