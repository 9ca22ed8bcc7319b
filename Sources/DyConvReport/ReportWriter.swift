import DyConvEngine

// Writes a measured `Report` to a folder: the figures (`ReportFigures.render`), report.md
// (`ReportMarkdown`) and report.json (key-sorted, pretty, non-finite numbers as null, through the
// project's one `jsonText`). Each file is written atomically (`Files.writeAtomically`: a temporary
// beside it, fsynced, renamed over it), so a reader never sees a half-written file and an
// interrupted run leaves the previous files whole. The figures are listed in `report.figures`
// before report.json is encoded, and report.json is written last: when it is there, all is.
//
//   try ReportWriter.write(report, to: "out", command: "dyconv report a.safetensors --out out")
//   → out/entropy-per-layer.svg …, out/report.md, out/report.json; returns the file names.

public enum ReportWriter {
    /// Creates `directory` if missing (with its parents), refuses a path that exists and is not a
    /// directory, and writes every file of `report` there. Returns the report as written (with its
    /// figures) and the names of the files, in writing order.
    @discardableResult
    public static func write(_ report: Report, to directory: String, command: String) throws -> (report: Report, files: [String]) {
        switch Files.kind(of: directory) {
        case .directory: break
        case .missing:
            do { try Files.createDirectories(directory) } catch { throw ReportError("--out \(directory): cannot create: \(error)") }
        case .regularFile, .other, .error:
            throw ReportError("--out \(directory): exists and is not a directory")
        }
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
        let json: String
        do { json = try jsonText(report) } catch { throw ReportError("report.json does not encode: \(error)") }
        try put("report.json", json + "\n")
        return (report, written)
    }
}
