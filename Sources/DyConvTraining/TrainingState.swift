import DyConvData
import DyConvEngine
import Foundation

// The training state file: everything needed to continue a run bit-exactly.

extension Trainer {
    // MARK: - State files

    /// The JSON header of a state file.
    struct StateHeader: Codable {
        var format = "dyconv-training-state"
        var version = 1
        var config: TrainingConfig
        var description: ModelDescription
        var layout: ParameterLayout
        var counters: Counters
        var history: [EpochMetrics]
        var threads: Int
    }

    static let magic = Array("DYCONVTS".utf8)

    /// Writes everything needed to continue this run exactly (weights, BatchNorm statistics,
    /// momentum, counters, history) to `path`, atomically.
    ///
    /// - Throws: `TrainingError` naming the file when it cannot be written.
    public func saveState(path: String) throws {
        let header = StateHeader(config: config, description: description, layout: layout,
                                 counters: counters, history: history, threads: threads)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json: Data
        do { json = try encoder.encode(header) } catch {
            throw TrainingError("\(path): cannot encode the training state: \(error)")
        }
        var prefix = Trainer.magic
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(contentsOf: json)
        // The engine's atomic writer (`<path>.tmp-<pid>`, fsync, rename): the same temporary
        // names as checkpoints, so `RunFiles.removeStaleTemporaries` knows them all.
        do {
            try FileIO.writeAtomically(path: path) { append in
                try prefix.withUnsafeBytes { try append($0) }
                for buffer in [parameters, buffers, momentum] {
                    #if _endian(little)
                    try append(UnsafeRawBufferPointer(start: buffer.pointer, count: 4 * buffer.count))
                    #else
                    let bits = (0..<buffer.count).map { buffer.pointer[$0].bitPattern.littleEndian }
                    try bits.withUnsafeBytes { try append($0) }
                    #endif
                }
            }
        } catch let error as CheckpointError {
            throw TrainingError("\(path): cannot write the training state: \(RunFiles.reasonText(error))")
        }
    }

    /// Continues a run saved with `saveState`. With the same thread count the continuation is
    /// bit-identical to an uninterrupted run; `threads` overrides the saved count.
    ///
    /// - Throws: `TrainingError` naming the file for a missing, truncated or inconsistent state
    ///   file; `DataError` when a dataset does not fit the model.
    /// - Parameter epochs: a new total number of epochs (more extends the run, fewer ends it
    ///   sooner; not fewer than the epochs already trained). The learning-rate schedule follows
    ///   the new total from the next step on, so such a run differs from one started with it.
    public static func resume(path: String, train: ImageDataset, test: ImageDataset,
                              threads: Int? = nil, epochs: Int? = nil) throws -> Trainer {
        if let threads, !(1...64).contains(threads) {
            throw TrainingError("threads must be in 1...64, got \(threads)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TrainingError("\(path): cannot read the training state: \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
            throw TrainingError("\(path): not a dyconv training state file")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        guard length <= UInt64(bytes.count - 16) else { throw TrainingError("\(path): truncated training state header") }
        let headerEnd = 16 + Int(length)
        let header: StateHeader
        do { header = try JSONDecoder().decode(StateHeader.self, from: Data(bytes[16..<headerEnd])) } catch {
            throw TrainingError("\(path): training state header does not decode: \(error)")
        }
        guard header.format == "dyconv-training-state", header.version == 1 else {
            throw TrainingError("\(path): unsupported training state format \(header.format) v\(header.version)")
        }
        var config = header.config
        if let epochs {
            guard epochs >= header.counters.epoch else {
                throw TrainingError("\(path): the run already trained \(header.counters.epoch) epochs, more than the \(epochs) asked for")
            }
            config.epochs = epochs
        }
        do { try config.validate(checkingModel: false) } catch { throw TrainingError("\(path): \(error)") }
        do { try header.description.validate() } catch {
            throw TrainingError("\(path): stored model is invalid: \(error)")
        }
        guard ParameterLayout(header.description) == header.layout else {
            throw TrainingError("\(path): stored parameter layout does not match the stored model")
        }
        guard (1...64).contains(header.threads) else {
            throw TrainingError("\(path): stored thread count \(header.threads) is outside 1...64")
        }
        let layout = header.layout
        // Before the weights are copied out of the file (several times its size in memory).
        try Trainer.checkMemory(config: config, description: header.description, threads: threads ?? header.threads,
                                trainImages: train.count)
        let expected = headerEnd + 4 * (2 * layout.parameterCount + layout.bufferCount)
        guard bytes.count == expected else {
            throw TrainingError("\(path): expected \(expected) bytes, found \(bytes.count) (truncated or corrupt)")
        }
        try train.checkCompatible(with: header.description, name: "training set")
        try test.checkCompatible(with: header.description, name: "test set")
        let c = header.counters
        guard c.epoch >= 0, c.iterationInEpoch >= 0, c.globalIteration >= 0 else {
            throw TrainingError("\(path): negative counters in training state")
        }
        func floats(_ start: Int, _ count: Int) -> [Float] {
            bytes.withUnsafeBytes { raw in
                (0..<count).map { i in
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)))
                }
            }
        }
        let paramValues = floats(headerEnd, layout.parameterCount)
        let bufferValues = floats(headerEnd + 4 * layout.parameterCount, layout.bufferCount)
        let momentumValues = floats(headerEnd + 4 * (layout.parameterCount + layout.bufferCount), layout.parameterCount)
        guard paramValues.allSatisfy(\.isFinite), bufferValues.allSatisfy(\.isFinite),
              momentumValues.allSatisfy(\.isFinite) else {
            throw TrainingError("\(path): training state holds non-finite values")
        }
        var tensors: [String: Tensor] = [:]
        for e in layout.parameters { tensors[e.name] = Tensor(shape: e.shape, data: Array(paramValues[e.offset..<(e.offset + e.count)])) }
        for e in layout.buffers { tensors[e.name] = Tensor(shape: e.shape, data: Array(bufferValues[e.offset..<(e.offset + e.count)])) }
        let trainer = try Trainer(validated: config, description: header.description, train: train, test: test,
                                  parameters: tensors, threads: threads ?? header.threads)
        guard c.iterationInEpoch <= trainer.iterationsPerEpoch else {
            throw TrainingError("\(path): state is at step \(c.iterationInEpoch) of an epoch that has \(trainer.iterationsPerEpoch) steps with this training set")
        }
        trainer.momentum.load(momentumValues)
        trainer.counters = c
        trainer.history = header.history
        return trainer
    }
}
