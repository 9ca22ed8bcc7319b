import Foundation
import Testing
import DyConvEngine
@testable import DyConvData

/// The CIFAR-10/100 binary batch reader against batches written here byte by byte.
///
/// Oracle: the format as documented with the dataset (Krizhevsky, "The CIFAR-10 dataset",
/// binary version): each record is the label byte (CIFAR-100: the coarse label byte, then the
/// fine one), then 3072 pixel bytes: 1024 red, 1024 green, 1024 blue, each plane row-major 32×32.
/// The pixel written for (record r, channel c, row y, column x) is `pixel(r, c, y, x)`, so a
/// reader that swaps planes, rows, records or label bytes reads different values.
@Suite struct CIFARTests {
    static func pixel(_ r: Int, _ c: Int, _ y: Int, _ x: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: r * 71 + c * 101 + y * 7 + x * 3)
    }

    /// A batch file's bytes: one record per label tuple (1 byte for CIFAR-10, 2 for CIFAR-100).
    static func batch(_ labels: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (r, label) in labels.enumerated() {
            bytes += label
            for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { bytes.append(pixel(r, c, y, x)) } } }
        }
        return bytes
    }

    @Test func cifar10RecordsArePlanarRGB() throws {
        let d = try CIFAR.parse(Self.batch([[3], [0], [9]]), name: "test_batch.bin", variant: .cifar10)
        #expect(d.count == 3 && d.channels == 3 && d.height == 32 && d.width == 32)
        #expect(d.labels == [3, 0, 9])
        #expect(d.classNames == (0..<10).map(String.init))
        for r in 0..<3 {
            let image = Array(d.image(r))
            for (c, y, x) in [(0, 0, 0), (0, 0, 31), (1, 5, 7), (2, 31, 31), (2, 17, 2)] {
                #expect(image[c * 1024 + y * 32 + x] == Self.pixel(r, c, y, x), "record \(r) c\(c) y\(y) x\(x)")
            }
        }
    }

    @Test func cifar100UsesTheFineLabel() throws {
        let d = try CIFAR.parse(Self.batch([[19, 99], [0, 4], [7, 0]]), name: "test.bin", variant: .cifar100)
        #expect(d.labels == [99, 4, 0])
        #expect(d.classNames.count == 100)
        #expect(Array(d.image(1))[1024 + 32 + 1] == Self.pixel(1, 1, 1, 1))
    }

    @Test func malformedBatchesAreOneLineErrors() throws {
        let two = Self.batch([[1], [2]])
        expectDataError(.truncated, containing: ["b.bin", "not a whole number", "3073 bytes", "2 records and 5 bytes over"]) {
            _ = try CIFAR.parse(two + [1, 2, 3, 4, 5], name: "b.bin", variant: .cifar10)
        }
        expectDataError(.truncated, containing: ["0 records and 100 bytes over"]) {
            _ = try CIFAR.parse(Array(two.prefix(100)), name: "b.bin", variant: .cifar10)
        }
        expectDataError(.badDimensions, containing: ["is empty"]) {
            _ = try CIFAR.parse([], name: "b.bin", variant: .cifar10)
        }
        expectDataError(.labelOutOfRange, containing: ["record 1", "label 10", "0...9"]) {
            _ = try CIFAR.parse(Self.batch([[1], [10]]), name: "b.bin", variant: .cifar10)
        }
        expectDataError(.labelOutOfRange, containing: ["record 0", "coarse label 20"]) {
            _ = try CIFAR.parse(Self.batch([[20, 1]]), name: "test.bin", variant: .cifar100)
        }
        expectDataError(.labelOutOfRange, containing: ["label 100", "0...99"]) {
            _ = try CIFAR.parse(Self.batch([[0, 100]]), name: "test.bin", variant: .cifar100)
        }
        // A CIFAR-10 batch read as CIFAR-100: 2 × 3073 bytes is not a multiple of 3074.
        expectDataError(.truncated, containing: ["CIFAR-100 records of 3074 bytes"]) {
            _ = try CIFAR.parse(two, name: "test.bin", variant: .cifar100)
        }
        expectDataError(.countMismatch, containing: ["3 class names given", "CIFAR-10 has 10"]) {
            _ = try CIFAR.parse(two, name: "b.bin", variant: .cifar10, classNames: ["a", "b", "c"])
        }
    }

    @Test func filesAreConcatenatedInOrderWithTheirClassNames() throws {
        let dir = try TemporaryDirectory()
        let a = try dir.write(Self.batch([[1], [2]]), to: "data_batch_1.bin")
        let b = try dir.write(Self.batch([[7]]), to: "data_batch_2.bin")
        let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        // The real batches.meta.txt: one name per line, then blank lines.
        let meta = try dir.write(Array((names.joined(separator: "\n") + "\n\n\n").utf8), to: "batches.meta.txt")
        let classNames = try CIFAR.readClassNames(path: meta, variant: .cifar10)
        #expect(classNames == names)
        let d = try CIFAR.load(paths: [a, b], variant: .cifar10, classNames: classNames)
        #expect(d.labels == [1, 2, 7] && d.classNames == names)
        // Record 0 of the second file: pixel(0, …), after the two images of the first.
        #expect(Array(d.image(2))[0] == Self.pixel(0, 0, 0, 0) && Array(d.image(1))[0] == Self.pixel(1, 0, 0, 0))
        let short = try dir.write(Array("a\nb\n".utf8), to: "fine_label_names.txt")
        expectDataError(.countMismatch, containing: ["fine_label_names.txt", "2 class names", "CIFAR-100 has 100"]) {
            _ = try CIFAR.readClassNames(path: short, variant: .cifar100)
        }
        expectDataError(.notFound, containing: ["missing.bin"]) {
            _ = try CIFAR.load(paths: [a, dir.file("missing.bin")], variant: .cifar10)
        }
        expectDataError(.truncated, containing: ["bad.bin"]) {
            let bad = try dir.write([1, 2, 3], to: "bad.bin")
            _ = try CIFAR.load(paths: [a, bad], variant: .cifar10)
        }
    }

    @Test func fileNamesTellTheVariant() {
        #expect(CIFAR.variant(ofFileName: "test_batch.bin") == .cifar10)
        #expect(CIFAR.variant(ofFileName: "data_batch_3.bin") == .cifar10)
        #expect(CIFAR.variant(ofFileName: "test.bin") == .cifar100)
        #expect(CIFAR.variant(ofFileName: "train.bin") == .cifar100)
        #expect(CIFAR.variant(ofFileName: "batches.meta.txt") == nil)
    }
}
