/// The naming contract of training snapshots, shared by the trainer that writes them and
/// the visualizer that lists them.
///
/// A run writes the model after epoch E to `DIR/epoch-EEE.safetensors` (three digits at
/// least: `epoch-003`, `epoch-1000`). The visualizer looks for the snapshots of a checkpoint
/// `X.safetensors` in `X-snapshots/` (`dyconv train --out X.safetensors --snapshots
/// X-snapshots`), and takes every `epoch-<digits>.safetensors` there, by epoch.
public enum Snapshots {
    /// The display name of a checkpoint file, as the visualizer's header and the report name it:
    /// `runs/X.safetensors` → `X` (no folder, no extension).
    public static func displayName(of checkpoint: String) -> String {
        let file = Files.baseName(of: checkpoint)
        return file.hasSuffix(fileExtension) ? String(file.dropLast(fileExtension.count)) : file
    }

    /// The snapshot folder of a checkpoint: `X.safetensors` → `X-snapshots`.
    public static func directory(for checkpoint: String) -> String {
        let base = checkpoint.hasSuffix(fileExtension) ? String(checkpoint.dropLast(fileExtension.count)) : checkpoint
        return base + "-snapshots"
    }

    /// The file name of the snapshot after `epoch`: `epoch-003.safetensors`.
    public static func fileName(epoch: Int) -> String {
        precondition(epoch >= 0, "a snapshot's epoch is not negative")
        let digits = String(epoch)
        return prefix + String(repeating: "0", count: max(3 - digits.count, 0)) + digits + fileExtension
    }

    /// The path of the snapshot after `epoch` in `directory`.
    public static func path(epoch: Int, in directory: String) -> String {
        Files.join(directory, fileName(epoch: epoch))
    }

    /// The epoch a snapshot file name stands for (`epoch-003.safetensors` → 3), or nil when
    /// the name is not `epoch-<digits>.safetensors` (at most 9 digits, so the number fits).
    public static func epoch(fileName name: String) -> Int? {
        guard name.hasPrefix(prefix), name.hasSuffix(fileExtension) else { return nil }
        let digits = name.utf8.dropFirst(prefix.utf8.count).dropLast(fileExtension.utf8.count)
        guard (1...9).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }

    /// The snapshot files of a checkpoint (in `directory(for:)`), by epoch; empty when the
    /// folder is missing or unreadable. Other files in the folder are ignored.
    public static func list(for checkpoint: String) -> [(epoch: Int, path: String)] {
        let dir = directory(for: checkpoint)
        guard let names = Files.entries(of: dir) else { return [] }
        return names.compactMap { name in epoch(fileName: name).map { ($0, Files.join(dir, name)) } }
            .sorted { ($0.epoch, $0.path) < ($1.epoch, $1.path) }
    }

    static let prefix = "epoch-"
    static let fileExtension = ".safetensors"
}
