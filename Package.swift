// swift-tools-version:6.1
// dyconv: a Swift engine and terminal visualizer for Dynamic Convolution (Chen et al., CVPR 2020).
//
// Data flow, one target per concern, imports pointing one way only:
//   C system libraries (CBLAS, CZlibSystem, CNcursesw, CPNG, CJPEG; CImageCodecs wraps the last two)
//     → DyConvEngine (tensors, ops, layers, architectures, checkpoint, model + trace)
//     → DyConvTorch (PyTorch `torch.save` files read without Python; ZIPFoundation for the zip)
//     → DyConvImport (PyTorch state_dicts of public layouts → dyconv checkpoints: presets, mapping files)
//     → DyConvData (IDX / Fashion-MNIST, evaluation) → DyConvTraining (backward passes, trainer)
//   DyConvFigures (SVG writer, charts, the viridis scale; depends on nothing)
//   DyConvEngine + DyConvFigures → DyConvUI (pure view state + update + render to a cell grid)
//   DyConvData + DyConvTraining + DyConvFigures → DyConvReport (report.json, report.md, SVG figures)
//   DyConvData + DyConvUI → DyConvSession (checkpoints and snapshots, model cache, background evaluation)
//     → executables: `dyconv` (CLI: engine, data, training) and `dyconv-tui` (ncurses presenter: session, UI, engine)
import PackageDescription

// Release builds keep Swift's checks (bounds, overflow, preconditions) in every target: an
// out-of-range index from a malformed file must trap with a message, never corrupt memory.
// The hot loops run over unsafe pointers and OpenBLAS, so -Ounchecked bought nothing measurable
// (side-by-side figures in docs/RELIABILITY.md).
let optimize: [SwiftSetting] = [.unsafeFlags(["-wmo"], .when(configuration: .release))]

let package = Package(
    name: "dyconv",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "DyConvEngine", targets: ["DyConvEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
    ],
    targets: [
        // C system libraries.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Module CZlibSystem, not CZlib: ZIPFoundation's Linux zlib shim already claims `CZlib`,
        // and two modules of one name cannot be built together.
        .systemLibrary(name: "CZlibSystem", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CNcursesw", path: "Sources/CNcursesw", pkgConfig: "ncursesw",
                       providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg62-turbo-dev"])]),
        // PNG and JPEG decoding in C: both libraries report errors by longjmp, which must not
        // cross Swift frames, so the setjmp and every library call stay in these C functions.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"]),

        // Engine: tensors, ops, layers, architectures, checkpoint, model forward + trace.
        .target(name: "DyConvEngine", dependencies: ["CBLAS"], swiftSettings: optimize),
        // PyTorch checkpoints: `torch.save` zip archives through a restricted unpickler, no Python.
        .target(name: "DyConvTorch", dependencies: [
            "DyConvEngine", "CZlibSystem", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], exclude: ["README.md"], swiftSettings: optimize),
        // Import: a PyTorch state_dict of a known layout (preset) or a mapping file → a dyconv checkpoint.
        .target(name: "DyConvImport", dependencies: ["DyConvEngine", "DyConvTorch"],
                exclude: ["README.md"], swiftSettings: optimize),
        // Data: IDX files (raw or gzip), Fashion-MNIST, the bundled sample; image files (PNG, JPEG, PPM/PGM).
        .target(name: "DyConvData", dependencies: ["DyConvEngine", "CZlibSystem", "CImageCodecs"],
                exclude: ["README.md", "Images/README.md"], swiftSettings: optimize),
        // Training: backward passes, optimiser, temperature annealing, trainer loop.
        .target(name: "DyConvTraining", dependencies: ["DyConvEngine", "DyConvData"], swiftSettings: optimize),
        // Figures: a small deterministic SVG writer, axes and charts, and the one colour scale
        // (viridis) that the UI shares. Depends on nothing.
        .target(name: "DyConvFigures", exclude: ["README.md"], swiftSettings: optimize),
        // UI core: pure state, update(state, event), render(state) -> cell grid. No ncurses.
        .target(name: "DyConvUI", dependencies: ["DyConvEngine", "DyConvFigures"], exclude: ["README.md"], swiftSettings: optimize),
        // Session: performs the UI core's effects with real models, images and files; background evaluation.
        .target(name: "DyConvSession", dependencies: ["DyConvEngine", "DyConvData", "DyConvUI"],
                exclude: ["README.md"], swiftSettings: optimize),

        // Report: evaluates checkpoints (modes, τ sweep, snapshots), groups them by recipe, and
        // writes report.json, report.md and the SVG figures of the paper's claims.
        .target(name: "DyConvReport", dependencies: ["DyConvEngine", "DyConvData", "DyConvTraining", "DyConvFigures"],
                exclude: ["README.md"], swiftSettings: optimize),

        // Executables.
        .executableTarget(name: "dyconv", dependencies: [
            "DyConvEngine", "DyConvData", "DyConvTraining", "DyConvImport", "DyConvReport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimize),
        .executableTarget(name: "dyconv-tui", dependencies: [
            "DyConvEngine", "DyConvSession", "DyConvUI", "CNcursesw",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: optimize),

        // Tests: one test target per library target.
        // Test support, not shipped: what only tests and fuzz seeds need (writing IDX and gzip,
        // comparing tensors).
        .target(name: "DyConvTestSupport", dependencies: ["DyConvEngine", "DyConvData", "CZlibSystem"],
                path: "Tests/DyConvTestSupport"),
        .testTarget(name: "DyConvEngineTests", dependencies: ["DyConvEngine", "DyConvTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DyConvTorchTests", dependencies: [
            "DyConvTorch", "DyConvEngine", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DyConvImportTests", dependencies: ["DyConvImport", "DyConvTorch", "DyConvEngine", "DyConvData",
                                                            "DyConvTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DyConvDataTests", dependencies: ["DyConvData", "DyConvTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DyConvTrainingTests", dependencies: ["DyConvTraining", "DyConvTestSupport"]),
        .testTarget(name: "DyConvUITests", dependencies: ["DyConvUI"], exclude: ["__Snapshots__"]),
        .testTarget(name: "DyConvFiguresTests", dependencies: ["DyConvFigures"]),
        .testTarget(name: "DyConvReportTests", dependencies: ["DyConvReport", "DyConvFigures", "DyConvData", "DyConvEngine",
                                                            "DyConvTestSupport"]),
        .testTarget(name: "DyConvSessionTests", dependencies: ["DyConvSession", "DyConvUI", "DyConvData", "DyConvEngine"]),
    ]
)
