import DyConvFigures

/// The report's figures, drawn from a `Report` alone (see ReportModel.swift).
public enum ReportFigures {
    /// Every figure whose inputs `report` has, in the order report.md shows them: each with its
    /// `FigureInfo` (file name, title, caption) and the SVG text.
    public static func render(_ report: Report) -> [(info: FigureInfo, svg: String)] {
        []  // Drawn in the next commit (DyConvFigures charts); the API is fixed here for the measuring side.
    }
}
