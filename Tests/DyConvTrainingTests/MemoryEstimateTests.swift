import XCTest
import DyConvData
import DyConvEngine
@testable import DyConvTraining

/// Oracle: the float buffers a real trainer holds after one step, found by walking its object
/// graph with reflection (every `FloatBuffer` reachable from the trainer, counted once: the
/// parameters, momentum, gradients, inputs and every node's activations and scratch). The
/// estimate must cover them and stay within 3×, so that refusing with the estimate never
/// refuses a model that would fit by far.
final class MemoryEstimateTests: XCTestCase {
    /// Bytes of all distinct `FloatBuffer`s reachable from `root`.
    private func floatBufferBytes(_ root: Any) -> Int {
        var seen = Set<ObjectIdentifier>()
        var total = 0
        func visit(_ value: Any) {
            if let buffer = value as? FloatBuffer {
                if seen.insert(ObjectIdentifier(buffer)).inserted { total += 4 * max(buffer.count, 1) }
                return
            }
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .class {
                let id = ObjectIdentifier(value as AnyObject)
                guard seen.insert(id).inserted else { return }
            }
            var m: Mirror? = mirror
            while let current = m {
                for child in current.children { visit(child.value) }
                m = current.superclassMirror
            }
        }
        visit(root)
        return total
    }

    private func checkEstimate(_ config: TrainingConfig, description: ModelDescription, train: ImageDataset,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let estimate = try XCTUnwrap(Trainer.estimatedBytes(description: description, batchSize: config.batchSize,
                                                            threads: config.threads, trainImages: train.count))
        let trainer = try Trainer(config: config, description: description, train: train, test: train.prefix(4))
        trainer.step()
        let allocated = floatBufferBytes(trainer)
        print("\(description.family) batch \(config.batchSize) threads \(config.threads): estimate \(estimate) B, "
              + "float buffers \(allocated) B, ratio \(Double(estimate) / Double(allocated))")
        XCTAssertGreaterThan(allocated, 4 * trainer.layout.parameterCount * (2 + config.threads), file: file, line: line)
        XCTAssertGreaterThanOrEqual(estimate, allocated, "estimate below the real allocation", file: file, line: line)
        XCTAssertLessThanOrEqual(estimate, 3 * allocated, "estimate more than 3× the real allocation", file: file, line: line)
    }

    func testEstimateCoversTheRealAllocationOfDycnn() throws {
        let sample = try FashionMNIST.loadSample().prefix(64)
        for (model, threads, batch) in [("dycnn", 2, 32), ("dycnn-static", 1, 16), ("dycnn-condconv", 2, 8)] {
            var config = TrainingConfig()
            config.model = model
            config.widths = [8, 16, 32]
            config.batchSize = batch
            config.threads = threads
            try checkEstimate(config, description: try config.modelDescription(), train: sample)
        }
    }

    func testEstimateCoversTheRealAllocationOfTinyModel() throws {
        let data = try syntheticDataset(count: 40, seed: 3)
        try checkEstimate(tinyConfig(threads: 2, batch: 16), description: tinyModel(), train: data)
    }

    /// Issue #8, item 7: widths 4096 with K=64 passed validation and then aborted on a 38.65 GB
    /// allocation. Oracle: one error thrown before any allocation (the test would abort
    /// otherwise). That exact model is now refused by the engine's tensor-size limit (a weight of
    /// 9.7e9 elements); widths 512 with K=64 pass that limit and one image fits inference on a
    /// 24 GB machine, so the trainer's estimate refuses it, with the model, batch and figure in
    /// the message (on a smaller machine the engine's inference check may speak first: also a
    /// figure, also before allocating).
    func testHugeModelIsRefusedBeforeAllocating() throws {
        let sample = try FashionMNIST.loadSample().prefix(8)
        var config = TrainingConfig()
        config.widths = [4096, 4096, 4096]
        config.kernels = 64
        XCTAssertThrowsError(try Trainer(config: config, train: sample, test: sample)) { error in
            XCTAssertTrue("\(error)".contains("more than the limit"), "\(error)")
        }
        config.widths = [512, 512, 512]
        let inferenceFits = (try? config.modelDescription().validate()) != nil
        XCTAssertThrowsError(try Trainer(config: config, train: sample, test: sample)) { error in
            let text = "\(error)"
            if inferenceFits { XCTAssertTrue(text.hasPrefix("training dycnn 512/512/512 K=64 at batch 128 needs about "), text) }
            XCTAssertTrue(text.contains(" needs about ") && text.contains("; the limit is "), text)
        }
        XCTAssertThrowsError(try TrainingBenchmark.measure(config: config, train: sample, warmup: 0, steps: 1)) { error in
            XCTAssertTrue("\(error)".contains(" needs about "), "\(error)")
        }
        // Overflowing sizes are refused too (nil estimate), never trapped on.
        XCTAssertNil(Trainer.estimatedBytes(description: try config.modelDescription(), batchSize: Int.max, threads: 1))
    }

    /// Issue #8, item 7: `bench --train --train-batch 0` divided by the batch size before
    /// validating it (SIGFPE). Oracle: a TrainingError naming the batch size, no trap.
    func testBenchmarkValidatesBeforeDividing() throws {
        let sample = try FashionMNIST.loadSample().prefix(40)
        var config = TrainingConfig()
        config.widths = [4, 4, 8]
        for batch in [0, -1, 1, 1 << 40] {
            config.batchSize = batch
            XCTAssertThrowsError(try TrainingBenchmark.measure(config: config, train: sample, warmup: 0, steps: 1)) {
                XCTAssertTrue("\($0)".contains("batch size"), "\($0)")
            }
        }
        config.batchSize = 8
        for steps in [0, -5, Int.max] {
            XCTAssertThrowsError(try TrainingBenchmark.measure(config: config, train: sample, steps: steps)) {
                XCTAssertTrue("\($0)".contains("timed steps"), "\($0)")
            }
        }
        XCTAssertThrowsError(try TrainingBenchmark.measure(config: config, train: sample, warmup: Int.max, steps: 1))
    }
}
