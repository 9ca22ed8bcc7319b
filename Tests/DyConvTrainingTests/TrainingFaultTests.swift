import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

#if canImport(Glibc)
import Glibc
#endif

/// The training faults of issue #8: a crash between the state and the checkpoint, stale
/// temporary files, unwritable targets, raw Foundation error text, resuming with another
/// --epochs, divergence, out-of-range settings.
final class TrainingFaultTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyconv-faults-\(getpid())-\(name.hashValue)")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private struct SimulatedCrash: Error {}

    /// A crash after the state of epoch 2 and before its checkpoint (the test hook throws where a
    /// kill would stop the process). Oracle: an uninterrupted run with the same seed — resuming
    /// rewrites the checkpoint and snapshot of epoch 2 from the state, and the finished files
    /// are byte-identical to the straight run's.
    func testCrashBetweenStateAndCheckpointIsRecoveredOnResume() throws {
        let data = try syntheticDataset(count: 22, seed: 8)
        let test = try syntheticDataset(count: 10, seed: 9)
        let config = tinyConfig(threads: 2, epochs: 3, batch: 8)

        // Every epoch keeps its snapshot (the retention would drop epoch 2 of this 3-epoch run).
        var straightFiles = RunFiles(checkpoint: dir.appendingPathComponent("straight.safetensors").path,
                                     snapshots: dir.appendingPathComponent("straight-snapshots").path)
        straightFiles.snapshotEvery = 1
        try straightFiles.preflight()
        let straight = try Trainer(config: config, description: tinyModel(), train: data, test: test)
        while !straight.isFinished { straight.runEpoch(); try straightFiles.saveEpoch(straight) }

        var files = RunFiles(checkpoint: dir.appendingPathComponent("run.safetensors").path,
                             snapshots: dir.appendingPathComponent("snapshots").path)
        files.snapshotEvery = 1
        try files.preflight()
        var first: Trainer? = try Trainer(config: config, description: tinyModel(), train: data, test: test)
        first!.runEpoch()
        try files.saveEpoch(first!)
        first!.runEpoch()
        files.afterStateWritten = { throw SimulatedCrash() }
        XCTAssertThrowsError(try files.saveEpoch(first!)) { XCTAssertTrue($0 is SimulatedCrash) }
        first = nil
        files.afterStateWritten = nil
        // The state is at epoch 2, the checkpoint still at epoch 1, snapshot 2 missing.
        XCTAssertEqual(try Checkpoint.read(path: files.checkpoint).training?.epoch, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: files.snapshot(epoch: 2)!))

        let resumed = try Trainer.resume(path: files.state, train: data, test: test)
        XCTAssertEqual(resumed.epoch, 2)
        XCTAssertTrue(try files.recover(resumed))
        XCTAssertEqual(try Checkpoint.read(path: files.checkpoint).training?.epoch, 2)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: files.snapshot(epoch: 2)!)),
                       try Data(contentsOf: URL(fileURLWithPath: straightFiles.snapshot(epoch: 2)!)),
                       "the recovered snapshot must be the one the killed run would have written")
        XCTAssertFalse(try files.recover(resumed), "a consistent pair is left alone")
        // A state behind its checkpoint (the order of older versions) leaves the checkpoint alone.
        let behind = RunFiles(checkpoint: straightFiles.checkpoint)
        let stale = try Trainer(config: config, description: tinyModel(), train: data, test: test)
        stale.runEpoch()
        let before = try Data(contentsOf: URL(fileURLWithPath: behind.checkpoint))
        XCTAssertFalse(try behind.recover(stale))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: behind.checkpoint)), before)
        while !resumed.isFinished { resumed.runEpoch(); try files.saveEpoch(resumed) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: files.checkpoint)),
                       try Data(contentsOf: URL(fileURLWithPath: straightFiles.checkpoint)))
        XCTAssertEqual(resumed.tensors(), straight.tensors())
    }

    /// A crash inside a write leaves `<file>.tmp-<pid>`. Oracle: after `removeStaleTemporaries`
    /// exactly the temporaries of this run whose process is gone are deleted; a live process's
    /// temporary, another file's temporary and the user's files stay.
    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let files = RunFiles(checkpoint: dir.appendingPathComponent("m.safetensors").path,
                             snapshots: dir.appendingPathComponent("snaps").path)
        try files.preflight()
        let dead = deadPid()
        let stale = ["m.safetensors.tmp-\(dead)", "m.safetensors.state.tmp-\(dead)", ".m.safetensors.state.tmp-\(dead)",
                     "snaps/epoch-003.safetensors.tmp-\(dead)"]
        let kept = ["m.safetensors.tmp-\(getpid())", "other.safetensors.tmp-\(dead)", "m.safetensors",
                    "m.safetensors.state", "snaps/epoch-003.safetensors", "snaps/notes.txt.tmp-\(dead)"]
        for name in stale + kept {
            XCTAssertTrue(FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data([1])))
        }
        let removed = files.removeStaleTemporaries().map { ($0 as NSString).lastPathComponent }.sorted()
        XCTAssertEqual(removed, stale.map { ($0 as NSString).lastPathComponent }.sorted())
        for name in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name) }
        for name in kept { XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), name) }
    }

    /// The id of a process that has exited.
    private func deadPid() -> Int32 {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
        defer { free(argv[0]) }
        XCTAssertEqual(posix_spawn(&pid, "/bin/true", nil, nil, argv, nil), 0)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return pid
    }

    /// Two trainers into one checkpoint (session 18 of issue #12 lost an epoch that way: one
    /// run's state write failed under the other). Oracle: flock(2) — a second lock on the run's
    /// lock file is refused while the first is held, with one line naming the holder's pid and
    /// the checkpoint; once released, the run can be locked again and no lock file is left.
    func testSecondTrainerIntoTheSameCheckpointIsRefused() throws {
        let files = RunFiles(checkpoint: dir.appendingPathComponent("m.safetensors").path)
        try files.preflight()
        var warnings: [String] = []
        let first = try files.lock { warnings.append($0) }
        XCTAssertNotNil(first)
        XCTAssertThrowsError(try files.lock { warnings.append($0) }) {
            XCTAssertEqual("\($0)", "another dyconv train (pid \(getpid())) is writing \(files.checkpoint); wait for it to "
                           + "finish, or stop it with kill -TERM \(getpid()) (it saves its state)")
        }
        // Another checkpoint in the same folder is a separate run.
        let other = try RunFiles(checkpoint: dir.appendingPathComponent("n.safetensors").path).lock { warnings.append($0) }
        XCTAssertNotNil(other)
        other?.release()
        first?.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: files.lockFile))
        try files.lock { warnings.append($0) }?.release()
        XCTAssertEqual(warnings, [])   // this file system locks
        let missing = RunFiles(checkpoint: dir.appendingPathComponent("no/m.safetensors").path)
        XCTAssertThrowsError(try missing.lock { warnings.append($0) }) {
            XCTAssertEqual("\($0)", "cannot lock \(missing.checkpoint) with \(missing.lockFile): cannot open the lock file: "
                           + "no such file or directory")
        }
    }

    /// Oracle: one-line messages naming the file, found before any training.
    func testPreflightRefusesUnwritableTargets() throws {
        let folderAsFile = RunFiles(checkpoint: dir.path)
        XCTAssertThrowsError(try folderAsFile.preflight()) { XCTAssertTrue("\($0)".contains("it is a folder"), "\($0)") }
        let missing = RunFiles(checkpoint: dir.appendingPathComponent("no/such/m.safetensors").path)
        XCTAssertThrowsError(try missing.preflight()) {
            XCTAssertEqual("\($0)", "cannot write checkpoint \(missing.checkpoint): directory '\(missing.folder)' does not exist")
        }
        let file = dir.appendingPathComponent("plain")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: Data()))
        let snapshotsOnFile = RunFiles(checkpoint: dir.appendingPathComponent("m.safetensors").path, snapshots: file.path)
        XCTAssertThrowsError(try snapshotsOnFile.preflight()) { XCTAssertTrue("\($0)".contains("not a folder"), "\($0)") }
        let snapshotsUnder = RunFiles(checkpoint: dir.appendingPathComponent("m.safetensors").path,
                                      snapshots: file.appendingPathComponent("sub").path)
        XCTAssertThrowsError(try snapshotsUnder.preflight()) {
            XCTAssertTrue("\($0)".hasPrefix("cannot create snapshot folder \(file.path)/sub: "), "\($0)")
            XCTAssertFalse("\($0)".contains("Error Domain"), "\($0)")
        }
    }

    /// `--snapshots` errors printed Foundation's "Error Domain=NSCocoaErrorDomain Code=513".
    /// Oracle: strerror's text in lower case, as the issue asks. (The snapshot folder is now made
    /// by the file layer, not FileManager, so a real failure of it stands where an NSError was.)
    func testFileErrorsReadAsOneShortReason() throws {
        let file = dir.appendingPathComponent("plain").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        XCTAssertThrowsError(try Files.createDirectories(file + "/snaps")) {
            XCTAssertEqual(RunFiles.reasonText($0), "not a directory")
        }
        let checkpoint = CheckpointError(.writeFailed, path: "/x/e.safetensors", "cannot create '/x/e.safetensors.tmp-12': Permission denied")
        XCTAssertEqual(RunFiles.reasonText(checkpoint), "permission denied")
        let full = FileError(.writeFailed, path: "/x/e.safetensors", code: ENOSPC, "write failed: \(Files.errnoText(ENOSPC))")
        XCTAssertEqual(RunFiles.reasonText(full), "write failed: no space left on device")
    }

    /// A snapshot that cannot be written after the preflight (its folder vanished). Oracle: the
    /// issue's wording, "cannot write snapshot DIR/epoch-001.safetensors: REASON", on one line.
    func testSnapshotWriteErrorIsOneLine() throws {
        let data = try syntheticDataset(count: 8, seed: 2)
        let trainer = try Trainer(config: tinyConfig(threads: 1, epochs: 1, batch: 4), description: tinyModel(),
                                  train: data, test: data)
        trainer.runEpoch()
        let files = RunFiles(checkpoint: dir.appendingPathComponent("m.safetensors").path,
                             snapshots: dir.appendingPathComponent("snaps").path)
        try files.preflight()
        try FileManager.default.removeItem(atPath: files.snapshots!)
        XCTAssertThrowsError(try files.saveEpoch(trainer)) { error in
            let path = files.snapshot(epoch: 1)!
            XCTAssertEqual("\(error)", "cannot write snapshot \(path): directory '\(files.snapshots!)' does not exist")
        }
    }

    /// `--epochs` given with `--resume` used to be ignored. Oracle: the resumed trainer's total
    /// (extend, end now, refuse fewer than done).
    func testResumeWithNewEpochCount() throws {
        let data = try syntheticDataset(count: 16, seed: 4)
        let trainer = try Trainer(config: tinyConfig(threads: 1, epochs: 2, batch: 8), description: tinyModel(),
                                  train: data, test: data)
        trainer.runEpoch()
        trainer.runEpoch()
        let path = dir.appendingPathComponent("r.state").path
        try trainer.saveState(path: path)
        let same = try Trainer.resume(path: path, train: data, test: data)
        XCTAssertTrue(same.isFinished)
        let longer = try Trainer.resume(path: path, train: data, test: data, epochs: 3)
        XCTAssertFalse(longer.isFinished)
        XCTAssertEqual(longer.config.epochs, 3)
        longer.runEpoch()
        XCTAssertTrue(longer.isFinished)
        XCTAssertThrowsError(try Trainer.resume(path: path, train: data, test: data, epochs: 1)) {
            XCTAssertTrue("\($0)".contains("already trained 2 epochs"), "\($0)")
        }
    }

    /// `--lr 1e30` trained a whole epoch on NaN. Oracle: a TrainingError at the first
    /// non-finite step loss, naming epoch and step, within a few steps.
    func testDivergenceStopsAtTheFirstNonFiniteLoss() throws {
        let data = try syntheticDataset(count: 64, seed: 5)
        var config = tinyConfig(threads: 2, epochs: 1, batch: 8)
        config.learningRate = 1e30
        let trainer = try Trainer(config: config, description: tinyModel(), train: data, test: data)
        var finite: [Float] = []
        do {
            while let s = try trainer.checkedStep() { finite.append(s.loss) }
            XCTFail("a learning rate of 1e30 must diverge")
        } catch let error as TrainingError {
            XCTAssertTrue(error.message.hasPrefix("training diverged at epoch 1 step \(finite.count + 1): the loss is "), error.message)
            XCTAssertTrue(error.message.contains("lower learning rate"), error.message)
        }
        XCTAssertTrue(finite.allSatisfy(\.isFinite))
        XCTAssertLessThan(finite.count, 8, "must stop at the first non-finite loss, not at the end of the epoch")
    }

    /// Oracle: `validate()` refuses every out-of-range setting with a TrainingError (τ below the
    /// engine's range used to pass and turn the softmax into NaN).
    func testConfigRefusesOutOfRangeSettings() {
        let cases: [(String, (inout TrainingConfig) -> Void)] = [
            ("epochs 0", { $0.epochs = 0 }), ("epochs huge", { $0.epochs = Int.max }),
            ("widths 0", { $0.widths = [0, 4, 8] }), ("widths huge", { $0.widths = [4, 4, 1 << 40] }),
            ("widths two", { $0.widths = [4, 4] }), ("kernels 0", { $0.kernels = 0 }), ("kernels 65", { $0.kernels = 65 }),
            ("blocks 0", { $0.blocks = 0 }), ("blocks 17", { $0.blocks = 17 }),
            ("batch 1", { $0.batchSize = 1 }), ("batch huge", { $0.batchSize = 1 << 20 }),
            ("lr 0", { $0.learningRate = 0 }), ("lr nan", { $0.learningRate = .nan }), ("lr inf", { $0.learningRate = .infinity }),
            ("momentum 1", { $0.momentum = 1 }), ("momentum -0.1", { $0.momentum = -0.1 }),
            ("wd -1", { $0.weightDecay = -1 }), ("att lr -1", { $0.attentionLRMultiplier = -1 }),
            ("warmup = epochs", { $0.warmupEpochs = 30 }), ("tau 1e-38", { $0.temperatureStart = 1e-38 }),
            ("tau end 1e6", { $0.temperatureEnd = 1e6 }), ("tau epochs -1", { $0.temperatureEpochs = -1 }),
            ("tau epochs inf", { $0.temperatureEpochs = .infinity }), ("shift 9", { $0.shift = 9 }),
            ("shift -1", { $0.shift = -1 }), ("threads 0", { $0.threads = 0 }), ("threads 65", { $0.threads = 65 }),
        ]
        for (name, change) in cases {
            var c = TrainingConfig()
            change(&c)
            XCTAssertThrowsError(try c.validate(), name) { XCTAssertTrue($0 is TrainingError, name) }
        }
        XCTAssertNoThrow(try TrainingConfig().validate())
    }
}
