import DyConvEngine
import Foundation

// Writes a measured `Report` to a folder: the figures (`ReportFigures.render`), report.md
// (`ReportMarkdown`) and report.json (key-sorted, pretty, non-finite numbers as null, through the
// project's one `jsonText`). Each file is written atomically (`Files.writeAtomically`: a temporary
// beside it, fsynced, renamed over it), so a reader never sees a half-written file and an
// interrupted run leaves the previous files whole. The figures are listed in `report.figures`
// before report.json is encoded, and report.json is written last: when it is there, all is.
// A figure of an earlier report in the same folder that this report did not draw (one of
// `figureFiles`) is removed before report.json is written, so the folder never shows a figure of
// checkpoints the report is not about. Nothing else in the folder is touched.
//
//   try ReportWriter.write(report, to: "out", command: "dyconv report a.safetensors --out out")
//   → out/entropy-per-layer.svg …, out/report.md, out/report.json; returns the file names.

public enum ReportWriter {
    /// Creates `directory` if missing (with its parents), refuses a path that exists and is not a
    /// directory, and writes every file of `report` there. Returns the report as written (with its
    /// figures) and the names of the files, in writing order.
    @discardableResult
    public static func write(_ report: Report, to directory: String, command: String) throws -> (report: Report, files: [String]) {
        try prepareFolder(directory)
        var report = report
        let figures = ReportFigures.render(report)
        report.figures = figures.map(\.info)
        var written: [String] = []
        func put(_ name: String, _ text: String) throws {
            do { try Files.writeAtomically(Array(text.utf8), to: Files.join(directory, name)) } catch {
                throw ReportError("\(Files.join(directory, name)): \(error)")
            }
            written.append(name)
        }
        for f in figures { try put(f.info.file, f.svg) }
        try put("report.md", ReportMarkdown.render(report, command: command))
        for name in figureFiles where !written.contains(name) {
            let path = Files.join(directory, name)
            guard Files.isRegularFile(path) else { continue }
            do { try FileManager.default.removeItem(atPath: path) } catch {
                throw ReportError("\(path): cannot remove this figure of an earlier report: \(error.localizedDescription)")
            }
        }
        let json: String
        do { json = try jsonText(report) } catch { throw ReportError("report.json does not encode: \(error)") }
        try put("report.json", json + "\n")
        return (report, written)
    }
}

extension ReportWriter {
    /// Every file name `ReportFigures.render` can write (a test checks that it writes no other).
    public static let figureFiles = [
        "entropy-per-layer.svg", "attention-by-class.svg", "accuracy-vs-tau.svg", "ablation.svg", "accuracy-vs-cost.svg",
        "k-sweep.svg", "tau-schedule.svg", "training-curves.svg",
    ]

    /// `checkFolder`, then creates the folder (and missing parents) if needed. The CLI calls it
    /// once the inputs are read and before evaluating, so a folder that cannot be made (under
    /// /proc, read-only) fails before the evaluation, and bad input leaves nothing behind.
    public static func prepareFolder(_ directory: String) throws {
        try checkFolder(directory)
        guard !Files.isDirectory(directory) else { return }
        do { try Files.createDirectories(directory) } catch {
            throw ReportError("--out \(directory): cannot create" + (error.path == directory ? "" : " \(error.path)") + ": \(error.reason)")
        }
    }

    /// Whether `directory` can be the output folder: an existing folder, or a missing one whose
    /// nearest existing ancestor is a folder. Otherwise one line naming what is in the way:
    /// "--out afile/sub: afile is not a directory". The CLI calls it before reading any checkpoint.
    public static func checkFolder(_ directory: String) throws {
        var path = directory
        while true {
            switch Files.kind(of: path) {
            case .directory:
                return
            case .regularFile, .other:
                throw ReportError("--out \(directory): " + (path == directory ? "exists and is not a directory" : "\(path) is not a directory"))
            case .missing, .error(ENOTDIR):
                // ENOTDIR: a file stands where a folder of the path should be; the walk up finds it.
                let up = Files.parent(of: path)
                if up == path { return }
                path = up
            case .error(let code):
                throw ReportError("--out \(directory): " + (path == directory ? "" : "\(path): ") + Files.errnoText(code))
            }
        }
    }
}
