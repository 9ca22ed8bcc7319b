import Foundation
import XCTest
@testable import DyConvEngine

/// The header-only read (`Checkpoint.readMetadata`), τ stored once, and the snapshot naming contract.
final class CheckpointMetadataTests: CheckpointTestCase {
    /// Oracle: the full reader. On a valid file, and on truncated and mutated copies of it,
    /// `readMetadata` gives the same metadata when `read` succeeds or fails only on the tensors,
    /// and the same error when `read` fails in the header or the metadata.
    func testReadMetadataAgreesWithRead() throws {
        let valid = path("valid.safetensors")
        let checkpoint = CheckpointTestSupport.checkpoint()
        try checkpoint.write(path: valid)
        let meta = try Checkpoint.readMetadata(path: valid)
        XCTAssertEqual(meta, CheckpointMetadata(description: checkpoint.description, training: checkpoint.training,
                                                metadata: checkpoint.metadata))

        let bytes = CheckpointTestSupport.bytes(of: valid)
        var n = 0
        for k in 0..<8 { n |= Int(bytes[k]) << (8 * k) }
        var variants: [[UInt8]] = stride(from: 0, to: bytes.count, by: max(1, bytes.count / 300)).map { Array(bytes[..<$0]) }
        var rng = SeededGenerator(seed: 99)
        let digits = Array("0123456789-".utf8)
        for _ in 0..<600 {
            var b = bytes
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(8 + n))
                b[at] = rng.next() % 2 == 0 ? digits[Int(rng.next() % UInt64(digits.count))] : UInt8(truncatingIfNeeded: rng.next())
            }
            variants.append(b)
        }
        let tensorKinds: Set<CheckpointError.Kind> = [.missingTensor, .unexpectedTensor, .shapeMismatch, .nonFiniteValue]
        var counts = (agreeingErrors: 0, metadataOnly: 0)
        for (i, b) in variants.enumerated() {
            let file = path("variant-\(i).safetensors")
            CheckpointTestSupport.write(b, to: file)
            let full = Result { () throws(CheckpointError) in try Checkpoint.read(path: file) }
            let header = Result { () throws(CheckpointError) in try Checkpoint.readMetadata(path: file) }
            switch (full, header) {
            case (.success(let c), .success(let m)):
                XCTAssertEqual(m, CheckpointMetadata(description: c.description, training: c.training, metadata: c.metadata))
            case (.failure(let e), .success):
                XCTAssertTrue(tensorKinds.contains(e.kind) || e.kind == .unsupportedDType, "header read passed: \(e)")
                counts.metadataOnly += 1
            case (.failure(let e), .failure(let h)):
                // A dtype the full read refuses only stops it earlier than the header read.
                if e.kind != .unsupportedDType { XCTAssertEqual(h, e) }
                counts.agreeingErrors += 1
            case (.success, .failure(let h)):
                XCTFail("the header read refused a file the full read accepts: \(h)")
            }
            try? FileManager.default.removeItem(atPath: file)
        }
        XCTAssertGreaterThan(counts.agreeingErrors, 100, "the variants exercise the header checks")
    }

    /// No tensor data is read: a NaN in a tensor fails `read`, not `readMetadata`; a header
    /// length past the file is refused before anything but its 8 bytes is read.
    func testReadMetadataReadsNoTensorData() throws {
        try CheckpointTestSupport.checkpoint().write(path: path("ok.safetensors"))
        var file = try SafetensorsFile.read(path: path("ok.safetensors"))
        file.tensors["fc.bias"]!.data[1] = .infinity
        try file.write(path: path("inf.safetensors"))
        XCTAssertThrowsError(try Checkpoint.read(path: path("inf.safetensors"))) {
            XCTAssertEqual(($0 as? CheckpointError)?.kind, .nonFiniteValue)
        }
        XCTAssertEqual(try Checkpoint.readMetadata(path: path("inf.safetensors")).description,
                       CheckpointTestSupport.checkpoint().description)

        var huge = CheckpointTestSupport.bytes(of: path("ok.safetensors"))
        for k in 0..<8 { huge[k] = 0 }
        huge[4] = 1  // 4 GiB: past the limit
        CheckpointTestSupport.write(huge, to: path("huge.safetensors"))
        let full = Result { () throws(CheckpointError) in try Checkpoint.read(path: path("huge.safetensors")) }
        let header = Result { () throws(CheckpointError) in try Checkpoint.readMetadata(path: path("huge.safetensors")) }
        guard case .failure(let e) = full, case .failure(let h) = header else { return XCTFail("a 4 GiB header was accepted") }
        XCTAssertEqual(h, e)
        XCTAssertEqual(h.kind, .invalidHeader)
        XCTAssertThrowsError(try Checkpoint.readMetadata(path: path("missing.safetensors"))) {
            XCTAssertEqual(($0 as? CheckpointError)?.kind, .fileNotFound)
        }
    }

    /// τ is stored once, in the layers: the training record the writer stores has no
    /// `temperature`, and an older file whose record has one (here one that disagrees with the
    /// layers) reads with the layers' τ. Oracle: the record and architecture written.
    func testTemperatureIsStoredOnceInTheLayers() throws {
        let c = CheckpointTestSupport.checkpoint()
        let file = path("tau.safetensors")
        try c.write(path: file)
        var raw = try SafetensorsFile.read(path: file)
        let record = try XCTUnwrap(raw.metadata[Checkpoint.MetadataKey.training])
        let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any])
        XCTAssertNil(fields["temperature"], record)
        XCTAssertEqual(c.description.trainedTemperature, 30, "the first dynamic layer's τ")

        // An older file: the same record with "temperature": 21.5.
        XCTAssertTrue(record.hasPrefix("{"))
        raw.metadata[Checkpoint.MetadataKey.training] = #"{"temperature":21.5,"# + record.dropFirst()
        try raw.write(path: path("old.safetensors"))
        let old = try Checkpoint.read(path: path("old.safetensors"))
        XCTAssertEqual(old.training, c.training)
        XCTAssertEqual(old.description, c.description)
        XCTAssertEqual(old.description.trainedTemperature, 30)
        XCTAssertEqual(try Checkpoint.readMetadata(path: path("old.safetensors")).training, c.training)
        // Written back, the old field is gone.
        try old.write(path: path("rewritten.safetensors"))
        XCTAssertEqual(try SafetensorsFile.read(path: path("rewritten.safetensors")).metadata[Checkpoint.MetadataKey.training], record)
    }

    /// Oracle: the trainer's former formula `String(format: "epoch-%03d.safetensors", epoch)`
    /// and the visualizer's former folder rule (`X.safetensors` → `X-snapshots`).
    func testSnapshotNaming() throws {
        for epoch in [0, 1, 9, 10, 99, 100, 999, 1000, 12345] {
            let name = String(format: "epoch-%03d.safetensors", epoch)
            XCTAssertEqual(Snapshots.fileName(epoch: epoch), name)
            XCTAssertEqual(Snapshots.epoch(fileName: name), epoch)
            XCTAssertEqual(Snapshots.path(epoch: epoch, in: "/runs/a-snapshots"), "/runs/a-snapshots/" + name)
        }
        for name in ["epoch-.safetensors", "epoch-+5.safetensors", "epoch--1.safetensors", "epoch-0x1.safetensors",
                     "epoch-003.safetensors.tmp-42", "epoch-1234567890.safetensors", "Epoch-003.safetensors",
                     "epoch-003.st", "epoch-٣.safetensors"] {
            XCTAssertNil(Snapshots.epoch(fileName: name), name)
        }
        XCTAssertEqual(Snapshots.directory(for: "runs/m.safetensors"), "runs/m-snapshots")
        XCTAssertEqual(Snapshots.directory(for: "runs/m"), "runs/m-snapshots")

        let checkpoint = path("run.safetensors")
        let folder = Snapshots.directory(for: checkpoint)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["epoch-010.safetensors", "epoch-002.safetensors", "notes.txt", "epoch-001.safetensors.tmp-7", "epoch-000.safetensors"] {
            CheckpointTestSupport.write([], to: folder + "/" + name)
        }
        XCTAssertEqual(Snapshots.list(for: checkpoint).map(\.epoch), [0, 2, 10])
        XCTAssertEqual(Snapshots.list(for: checkpoint).map(\.path), [0, 2, 10].map { Snapshots.path(epoch: $0, in: folder) })
        XCTAssertEqual(Snapshots.list(for: path("none.safetensors")).count, 0)
    }
}
