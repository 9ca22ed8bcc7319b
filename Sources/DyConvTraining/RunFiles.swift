import DyConvEngine
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of one training run and the order they are written in, so that a run killed at
/// any instant can be resumed.
///
/// At the end of every epoch `saveEpoch` writes, each atomically by the rules of
/// `Files.writeAtomically` (`<file>.tmp-<pid>`, fsync, rename, directory fsync):
/// 1. the training state `FILE.state` (the exact weights, momentum and counters),
/// 2. the checkpoint `FILE`, derived from that state,
/// 3. the snapshot `DIR/epoch-NNN.safetensors` (with `--snapshots DIR`), in F16, for the
///    epochs `snapshotRetention` keeps.
///
/// The state is the authority and is written first: a kill after it and before the checkpoint
/// leaves a state one epoch ahead of the checkpoint, and `recover` (run on `--resume`) rewrites
/// the checkpoint and the snapshot from the state, which gives the same bytes the killed run
/// would have written. A kill before the state's rename leaves the previous epoch's consistent
/// pair. A kill inside a write leaves a `*.tmp-<pid>` file, which `removeStaleTemporaries` deletes
/// at the next start once that process is gone.
///
/// One process at a time: `lock()` holds `FILE.lock` for the whole run, so a second `dyconv train`
/// into the same checkpoint stops with one line instead of overwriting the first one's state.
public struct RunFiles: Sendable {
    /// The checkpoint (`--out`).
    public let checkpoint: String
    /// The folder of per-epoch snapshots (`--snapshots`), if any.
    public let snapshots: String?
    /// Every how many epochs a snapshot is kept once τ has annealed (`SnapshotRetention.every`).
    public var snapshotEvery = SnapshotRetention.defaultEvery
    /// How snapshot tensors are stored (`Checkpoint.write(path:dtype:)`); the checkpoint is F32.
    public var snapshotDType = TensorDType.f16
    /// Test hook: runs after the state is written and before the checkpoint (a test makes it
    /// throw, or the CLI kill the process, to simulate a crash between the two writes).
    public var afterStateWritten: (@Sendable () throws -> Void)?

    public init(checkpoint: String, snapshots: String? = nil) {
        self.checkpoint = checkpoint
        self.snapshots = snapshots
    }

    /// The folder holding the checkpoint (and its state).
    public var folder: String { Files.parent(of: checkpoint) }

    /// The exact training state beside the checkpoint.
    public var state: String { checkpoint + ".state" }

    /// The snapshot of `epoch` (`DIR/epoch-003.safetensors`); nil without a snapshot folder.
    public func snapshot(epoch: Int) -> String? {
        snapshots.map { Snapshots.path(epoch: epoch, in: $0) }
    }

    /// The snapshot the trainer's current epoch keeps, or nil (no folder, or an epoch the
    /// retention drops).
    func keptSnapshot(_ trainer: Trainer) -> String? {
        SnapshotRetention(config: trainer.config, every: snapshotEvery).keeps(epoch: trainer.epoch)
            ? snapshot(epoch: trainer.epoch) : nil
    }

    // MARK: - Before training

    /// Checks, before any training, that every file of the run can be written: the checkpoint
    /// is not a folder and its folder accepts a new file; the snapshot folder exists or can be
    /// created and accepts a new file. Creates the snapshot folder.
    ///
    /// - Throws: `TrainingError` with one line, e.g. "cannot write checkpoint /x/m.safetensors:
    ///   permission denied".
    public func preflight() throws {
        if Files.isDirectory(checkpoint) {
            throw TrainingError("cannot write checkpoint \(checkpoint): it is a folder")
        }
        try Self.probe(folder: folder, for: "checkpoint \(checkpoint)")
        if let snapshots {
            switch Files.kind(of: snapshots) {
            case .directory:
                break
            case .missing, .error:
                do { try Files.createDirectories(snapshots) } catch {
                    throw TrainingError("cannot create snapshot folder \(snapshots): \(error.reason)")
                }
            case .regularFile, .other:
                throw TrainingError("cannot write snapshots into \(snapshots): it is not a folder")
            }
            try Self.probe(folder: snapshots, for: "snapshots into \(snapshots)")
        }
    }

    /// The lock file that keeps a second process from training into the same checkpoint.
    public var lockFile: String { checkpoint + ".lock" }

    /// Takes the run's lock (`FileLock` on `lockFile`) for as long as the returned lock lives;
    /// call after `preflight`, which has checked that the folder accepts a new file.
    ///
    /// - Parameter warn: receives one line when the file system cannot lock (an NFS mount without
    ///   a lock daemon); the run then goes on unlocked (nil), as it did before there was a lock.
    /// - Throws: `TrainingError` with one line when another process holds it ("another dyconv
    ///   train (pid 4242) is writing /x/m.safetensors; wait for it to finish, or stop it with
    ///   kill -TERM 4242 (it saves its state)"), or when the lock file cannot be made or is not one.
    package func lock(warn: (String) -> Void) throws -> FileLock? {
        let outcome: FileLock.Outcome
        do { outcome = try FileLock.acquire(lockFile) } catch {
            throw TrainingError("cannot lock \(checkpoint) with \(lockFile): \(Self.reasonText(error))")
        }
        switch outcome {
        case .acquired(let lock):
            return lock
        case .heldElsewhere(let pid?):
            throw TrainingError("another dyconv train (pid \(pid)) is writing \(checkpoint); wait for it to finish, "
                                + "or stop it with kill -TERM \(pid) (it saves its state)")
        case .heldElsewhere(nil):
            throw TrainingError("another process is writing \(checkpoint) (it holds \(lockFile)); wait for it to finish")
        case .unsupported(let reason):
            warn("cannot lock \(checkpoint) (\(reason): this file system has no locks); a second dyconv train into it "
                 + "would not be stopped")
            return nil
        }
    }

    /// Writes and removes an empty file in `folder` with the real writer; throws "cannot write
    /// WHAT: REASON" when it fails.
    private static func probe(folder: String, for what: String) throws {
        let probe = Files.join(folder, ".dyconv-probe-\(getpid())")
        do { try Files.writeAtomically([], to: probe) } catch {
            throw TrainingError("cannot write \(what): \(reasonText(error))")
        }
        unlink(probe)
    }

    /// Deletes the temporary files (`<file>.tmp-<pid>`, also the older `.<file>.tmp-<pid>`) of
    /// this run's checkpoint, state and snapshots whose process no longer exists.
    ///
    /// - Returns: the paths removed.
    @discardableResult
    public func removeStaleTemporaries() -> [String] {
        var removed: [String] = []
        func sweep(_ folder: String, _ owns: (String) -> Bool) {
            guard let names = Files.entries(of: folder) else { return }
            for name in names.sorted() {
                guard let (target, pid) = Files.temporaryOwner(ofName: name), owns(target), !Self.isAlive(pid) else { continue }
                let path = Files.join(folder, name)
                if unlink(path) == 0 { removed.append(path) }
            }
        }
        let base = Files.baseName(of: checkpoint)
        let ours: Set<String> = [base, base + ".state", "." + base, "." + base + ".state"]
        sweep(folder) { ours.contains($0) }
        if let snapshots {
            sweep(snapshots) { $0.hasPrefix("epoch-") && $0.hasSuffix(".safetensors") }
        }
        return removed
    }

    /// Whether a process with this id exists (another user's process counts as alive).
    private static func isAlive(_ pid: Int32) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    // MARK: - Writing

    /// Writes the state, then the checkpoint, then the epoch's snapshot (see the type's comment).
    ///
    /// - Throws: `TrainingError` with one line naming the file that could not be written.
    public func saveEpoch(_ trainer: Trainer) throws {
        try trainer.saveState(path: state)
        try afterStateWritten?()
        try writeCheckpoint(trainer)
    }

    /// Writes the checkpoint and the epoch's snapshot (derived from the trainer's state).
    private func writeCheckpoint(_ trainer: Trainer, snapshotOnlyIfMissing: Bool = false) throws {
        let made = trainer.checkpoint()
        do { try made.write(path: checkpoint) } catch {
            throw TrainingError("cannot write checkpoint \(checkpoint): \(Self.reasonText(error))")
        }
        if let path = keptSnapshot(trainer), !(snapshotOnlyIfMissing && Files.exists(path)) {
            try writeSnapshot(made, path: path)
        }
    }

    /// Writes one snapshot as `snapshotDType`; "cannot write snapshot DIR/epoch-003.safetensors:
    /// permission denied".
    public func writeSnapshot(_ checkpoint: Checkpoint, path: String) throws {
        do { try checkpoint.write(path: path, dtype: snapshotDType) } catch {
            throw TrainingError("cannot write snapshot \(path): \(Self.reasonText(error))")
        }
    }

    /// Makes the checkpoint (and snapshot) agree with a resumed state at an epoch boundary: when
    /// the run was killed after writing the state of epoch E and before its checkpoint, the
    /// checkpoint still holds epoch E−1 (or is missing or unreadable) and is rewritten from the
    /// state.
    ///
    /// - Returns: whether the checkpoint was rewritten.
    @discardableResult
    public func recover(_ trainer: Trainer) throws -> Bool {
        guard trainer.iterationInEpoch == 0, trainer.epoch >= 1 else { return false }
        let current = try? Checkpoint.read(path: checkpoint)
        // A checkpoint ahead of the state (written by an older dyconv, checkpoint first) is left
        // as it is: training the next epoch rewrites it with the same bytes.
        if let record = current?.training, record.epoch >= trainer.epoch {
            // The pair is consistent; only a missing snapshot may need writing.
            if let path = keptSnapshot(trainer), !Files.exists(path) {
                try writeSnapshot(trainer.checkpoint(), path: path)
            }
            return false
        }
        try writeCheckpoint(trainer, snapshotOnlyIfMissing: true)
        return true
    }

    // MARK: - Error text

    /// The reason of a file error as one short lower-case line ("permission denied"), without
    /// the temporary file's name or a second "cannot write". Every file call of a run goes through
    /// the engine's file layer, so the errors here are `FileError`s and `CheckpointError`s whose
    /// reasons carry `Files.errnoText`; anything else is shown by its first line.
    public static func reasonText(_ error: any Error) -> String {
        let reason: String
        switch error {
        case let e as FileError: reason = e.reason
        case let e as CheckpointError: reason = e.reason
        case let e as TrainingError: return e.message
        default: return lowercasedFirst(String(describing: error).split(separator: "\n").first.map(String.init) ?? "")
        }
        // "cannot create '<temporary>': permission denied" → the errno text.
        if reason.hasPrefix("cannot create '"), let colon = reason.range(of: "': ") {
            return lowercasedFirst(String(reason[colon.upperBound...]))
        }
        // "cannot write: directory 'X' does not exist": the caller already says "cannot write".
        return reason.hasPrefix("cannot write: ") ? String(reason.dropFirst("cannot write: ".count)) : reason
    }

    private static func lowercasedFirst(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.lowercased() + s.dropFirst()
    }
}
