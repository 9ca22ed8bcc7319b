import DyConvEngine

/// An error reading or validating a dataset file, with a one-line message naming the file.
///
/// `description` is the message a command-line tool should print, for example
/// `t10k-images-idx3-ubyte.gz: truncated: header says 10000×28×28 = 7840000 bytes of data, file has 1234`.
/// `kind` lets callers (and tests) branch on the failure without parsing text.
public struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The category of failure.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The file or directory does not exist.
        case notFound
        /// The operating system refused an open, read, write or rename.
        case io
        /// The first four bytes are not an IDX magic number of the expected kind, or an image
        /// file is not PNG, JPEG or PPM/PGM.
        case badMagic
        /// A valid IDX element type other than unsigned byte (0x08), or a valid image of a kind
        /// dyconv does not read (CMYK JPEG, PBM bitmap).
        case unsupportedType
        /// The number of dimensions, or a dimension's size, is not acceptable.
        case badDimensions
        /// The file holds fewer bytes than its header promises.
        case truncated
        /// The file holds more bytes than its header promises.
        case trailingData
        /// The images file and the labels file disagree on the number of samples.
        case countMismatch
        /// A label is not a valid class index.
        case labelOutOfRange
        /// The data would need more memory than `Limits.memoryBudget` (or another explicit limit) allows.
        case tooLarge
        /// The gzip (deflate) stream is damaged or incomplete.
        case corruptGzip
        /// The bundled assets folder could not be located.
        case assetsNotFound
        /// An argument passed to the data API is inconsistent (e.g. pixel count vs. shape).
        case invalidArgument
        /// An image file's data is damaged: a decoder error (bad CRC, invalid Huffman code), a
        /// malformed PPM/PGM header, a sample above its maxval.
        case corruptImage
    }

    /// The category of failure.
    public let kind: Kind
    /// The file (path as given by the caller) or thing the error is about; may be empty.
    public let file: String
    /// What went wrong, without the file name.
    public let message: String

    /// Creates an error about `file`.
    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    /// `"<file>: <message>"` on one line.
    public var description: String {
        let line = file.isEmpty ? message : "\(file): \(message)"
        return line.replacingNewlines()
    }
}

extension DataError {
    /// The file layer's error as a data error: same file, same reason.
    package init(_ error: FileError) {
        let kind: Kind
        switch error.kind {
        case .notFound: kind = .notFound
        case .tooLarge: kind = .tooLarge
        case .unreadable, .writeFailed: kind = .io
        }
        self.init(kind, file: error.path, error.reason)
    }
}

extension String {
    /// The string with line breaks replaced by spaces, so error messages stay on one line.
    fileprivate func replacingNewlines() -> String {
        guard contains(where: { $0.isNewline }) else { return self }
        return String(map { $0.isNewline ? " " : $0 })
    }
}
