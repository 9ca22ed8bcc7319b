#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one file layer of dyconv: every target reads, writes and names files through it.
///
/// It is small on purpose and speaks POSIX directly, so that every failure keeps its errno and
/// becomes one line that names the file and the reason ("permission denied", "not a
/// directory"), never a Foundation "Error Domain=…" text.
///
/// - Reading: `readAll(path:alive:)` reads a whole regular file after checking that it fits the
///   memory budget (checkpoints, snapshots, training states); `InputFile` streams a file in
///   chunks into the caller's fixed buffer (dataset files, which are gzip-inflated on the way and
///   must never be read whole).
/// - Writing: `writeAtomically(path:_:)` is the only writer; its doc comment states the rules
///   (temporary name, fsync of the file before the rename and of the directory after it,
///   cleanup on failure). `RunFiles` relies on the temporary name to sweep a killed run's leftovers.
/// - Locks: `FileLock` keeps a second process from writing the same files (one training run per
///   checkpoint).
/// - Paths and the environment: `kind(of:)`, `parent(of:)`, `baseName(of:)`, `join`,
///   `realPath`, `currentDirectory`, `environment`, `createDirectories`, `entries(of:)`.
/// - Errors: `FileError` (kind, path, errno, reason); each target turns it into its own error
///   type (`CheckpointError`, `DataError`, `TrainingError`) with the reason text unchanged.
///   `errnoText` is the one errno-to-text mapping.
package enum Files {
    /// The C library's text for an errno value, starting lower-case to read inside a sentence:
    /// "permission denied", "too many levels of symbolic links", "not a directory".
    package static func errnoText(_ code: Int32 = errno) -> String {
        let text = String(cString: strerror(code))
        // "Permission denied" → "permission denied", but an acronym ("EOF …") stays as it is.
        guard let first = text.first, first.isUppercase,
              text.dropFirst().first.map({ !$0.isUppercase }) ?? true else { return text }
        return first.lowercased() + text.dropFirst()
    }
}

/// A file that cannot be read or written, as one line: `<path>: <reason>`.
///
/// `reason` never repeats the path; targets wrap it in their own error types and keep it as is.
package struct FileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The class of failure.
    package enum Kind: Sendable, Equatable {
        /// The file does not exist (ENOENT).
        case notFound
        /// It exists but cannot be read: a directory, a device where a regular file is needed,
        /// or the system refused the open, stat or read.
        case unreadable
        /// Reading it whole would need more memory than `Limits.memoryBudget`.
        case tooLarge
        /// The write failed: missing directory, refused create, write, fsync, close or rename.
        case writeFailed
    }

    /// The class of failure.
    package let kind: Kind
    /// The path as the caller gave it.
    package let path: String
    /// The errno behind the failure, if the system reported one.
    package let code: Int32?
    /// What went wrong, without the path: "cannot open: permission denied".
    package let reason: String

    package init(_ kind: Kind, path: String, code: Int32? = nil, _ reason: String) {
        self.kind = kind
        self.path = path
        self.code = code
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }
}
