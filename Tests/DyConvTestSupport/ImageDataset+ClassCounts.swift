import DyConvData

// Class counts of a dataset, for tests of the readers and the bundled sample.

extension ImageDataset {
    /// The number of images of each class, indexed by label (all 0 for unlabelled images).
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for label in labels ?? [] { counts[label] += 1 }
        return counts
    }
}
