/// What a checkpoint's header says, read without its tensor data: the architecture, the
/// training record and the other metadata.
///
/// `Checkpoint.readMetadata(path:)` reads the 8-byte length and the header JSON only (a
/// snapshot list of 30 files costs 30 headers, not 30 models) and runs every check the
/// header alone allows: the whole safetensors header through the same parser as
/// `SafetensorsFile.read` (entries, dtypes, shapes, offsets tiling the file's data section),
/// then the dyconv metadata as `Checkpoint.read` checks it. What needs the data (tensor
/// names and shapes against the architecture, finite values) is checked when the
/// checkpoint itself is read.
public struct CheckpointMetadata: Sendable, Equatable {
    /// The network the file describes (validated).
    public var description: ModelDescription
    /// The training record, if the file carries one.
    public var training: TrainingRecord?
    /// Metadata besides the reserved keys, as in `Checkpoint.metadata`.
    public var metadata: [String: String]

    /// Creates the metadata of a checkpoint.
    public init(description: ModelDescription, training: TrainingRecord? = nil, metadata: [String: String] = [:]) {
        self.description = description
        self.training = training
        self.metadata = metadata
    }

    /// Interprets a safetensors file's `__metadata__`; `path` only names the file in errors.
    ///
    /// - Throws: `CheckpointError` as `Checkpoint.read(path:)` does for the metadata.
    init(fileMetadata: [String: String], path: String) throws(CheckpointError) {
        let m = try Checkpoint.interpretMetadata(fileMetadata, path: path)
        self.init(description: m.description, training: m.training, metadata: m.metadata)
    }
}

extension Checkpoint {
    /// Reads a checkpoint's header only: its architecture, training record and metadata.
    ///
    /// Reads at most 8 bytes plus the header length the file announces (itself bounded by
    /// `SafetensorsFile.maxHeaderLength` and the file's size); no tensor data.
    /// - Throws: `CheckpointError` naming `path`, with the message `read(path:)` gives for
    ///   the same fault in the header or the metadata.
    public static func readMetadata(path: String) throws(CheckpointError) -> CheckpointMetadata {
        func read(_ count: Int) throws(CheckpointError) -> (bytes: [UInt8], fileSize: Int) {
            do { return try Files.readPrefix(path: path, count: count, alive: 2) } catch { throw CheckpointError(error) }
        }
        let head = try read(8)
        var bytes = head.bytes
        // A length the decoder refuses anyway (past the limit or the file) is not read.
        if let n = SafetensorsFile.headerLength(bytes), n <= UInt64(SafetensorsFile.maxHeaderLength),
           n <= UInt64(max(head.fileSize - 8, 0)) {
            bytes = try read(8 + Int(n)).bytes
        }
        let file = try SafetensorsFile.decode(bytes, fileSize: head.fileSize, path: path, ignoring: { _ in true })
        return try CheckpointMetadata(fileMetadata: file.metadata, path: path)
    }
}

extension ModelDescription {
    /// The τ the dynamic layers run at when the caller sets none: the first attention
    /// layer's `attention.temperature`, the one place a checkpoint stores τ (the trainer gives
    /// every layer the τ of its last epoch); nil for a network without attention.
    public var trainedTemperature: Float? {
        dynamicConvolutions.lazy.compactMap(\.attention).first?.temperature
    }
}
