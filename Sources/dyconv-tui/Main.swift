import ArgumentParser
import CNcursesw
import DyConvEngine
import DyConvSession
import DyConvUI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `dyconv-tui`: browse images and watch the per-layer attention of dynamic convolution live.
@main
struct DyConvTUI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dyconv-tui",
        abstract: "Terminal visualizer of Dynamic Convolution attention: per-layer π, simplex, τ, aggregation modes.",
        discussion: """
        Each key press runs the real forward pass on the current image and redraws. With no \
        CHECKPOINT, opens the bundled dycnn-dynamic, dycnn-condconv and dycnn-static checkpoints \
        from assets/ (Tab switches). Training snapshots of X.safetensors are read from \
        X-snapshots/epoch-NNN.safetensors (< > step through epochs). Press ? for the keys. \
        Images are drawn in 24-bit colour on a direct-colour terminal (terminfo RGB, or \
        COLORTERM=truecolor with a *-direct terminfo entry installed), else in the 256-colour \
        palette, else as grey glyphs. NO_COLOR=1 gives a monochrome rendering.
        """)

    @Argument(help: ArgumentHelp("Checkpoint files (.safetensors). Default: the bundled checkpoints in assets/.", valueName: "checkpoint"))
    var checkpoints: [String] = []

    @Option(name: .long, help: ArgumentHelp("Folder of images: IDX files (any names, raw or .gz), CIFAR-10/100 binary batches, an ImageFolder tree (one sub-folder per class) or a flat folder of images (unlabelled); resized and centre-cropped to the model's input. Default, as dyconv eval: the Fashion-MNIST test set in /usr/share/datasets/fashion-mnist when installed, else the 1000-image sample bundled in assets/ (the screen names which).", valueName: "dir"))
    var data: String?

    @Flag(name: .long, help: "Use the 1000-image sample bundled in assets/ instead of the full test set.")
    var sample = false

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Image files (PNG, JPEG, PPM/PGM), unlabelled; resized and centre-cropped to the model's input.", valueName: "file"))
    var image: [String] = []

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("With --data or --image: resize the shorter side to N before the centre crop, as torchvision's Resize(N) (e.g. 256 for a 224 input). Default: only images of another size, to the input's larger side.", valueName: "n"))
    var resize: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Index of the first image shown (0-based).", valueName: "n"))
    var index: Int?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Temperature τ for every dynamic layer at start (default: the trained τ).", valueName: "t"))
    var tau: Float?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Number of images (from the first) the dataset view evaluates (default: all).", valueName: "n"))
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp("Also open a model of this family with seeded random weights (repeatable), e.g. dycnn, dycnn-condconv, dycnn-static; without CHECKPOINT, no bundled checkpoint is opened.", valueName: "family"))
    var random: [String] = []

    @Option(name: .long, parsing: .unconditional, help: "Seed of the --random models.")
    var seed: UInt64 = 1

    /// Measurement of the "key → redraw ≤ forward + 5 ms": one line per key that led to
    /// a redraw, written when the program ends.
    @Option(name: .long, help: ArgumentHelp("Write per-key timings (key→redraw, forward, render, draw in ms) to this file on exit.",
                                            valueName: "file", visibility: .hidden))
    var timingLog: String?

    /// Parses and runs; a bad command line is one line on stderr and exit 64, a bad input
    /// file or value one line and exit 1 (printed by `run`), never ArgumentParser's usage block.
    ///
    /// The number options parse `.unconditional`ly: `--index -1` would otherwise read as a
    /// short option and say "Missing value for '--index'"; now the range check names the flag.
    static func main() {
        do {
            var command = try parseAsRoot()
            // The DYCONV_* knobs (docs/ENVIRONMENT.md) are checked once, before the terminal is touched.
            try EnvironmentSetting.validateAll()
            try command.run()
        } catch let code as ExitCode {
            exit(withError: code)
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }   // --help
            let text = message(for: error)
            printError(text.split(separator: "\n").first.map(String.init) ?? text)
            exit(withError: ExitCode(64))
        }
    }

    func run() throws {
        // Everything that can fail on user input is checked before the screen opens.
        var warnings: [String] = []
        let session: Session
        do {
            session = try Session.open(checkpointPaths: checkpoints, dataDirectory: data, imagePaths: image,
                                       useSample: sample, resizeShorterSide: resize, imageIndex: index,
                                       temperature: tau, limit: limit, randomFamilies: random, seed: seed,
                                       warnings: &warnings)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        for w in warnings { printError("warning: \(w)") }
        guard isatty(0) != 0, isatty(1) != 0 else {
            printError("needs an interactive terminal (stdin and stdout must be a TTY)")
            throw ExitCode.failure
        }
        // What the terminal and the locale can show, decided before the screen opens: a
        // terminal that cannot address the cursor (TERM=dumb) gets one line; a non-UTF-8
        // locale gets the ASCII rendering.
        let charset: Charset
        switch Terminal.probe().decide() {
        case .success(let c): charset = c
        case .failure(let error):
            printError(error.description)
            throw ExitCode.failure
        }

        let noColor = (getenv("NO_COLOR").map { String(cString: $0) } ?? "").isEmpty == false
        installSignalHandlers()
        let terminal: Terminal
        do {
            let colorterm = Files.environment("COLORTERM") ?? ""
            terminal = try Terminal(forceMonochrome: noColor, colorterm: colorterm)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        activeTerminalOpen = 1
        session.setCharset(charset)
        let timings = runLoop(session: session, terminal: terminal)

        // Leaving: background jobs are cancelled and joined (each stops after its current
        // batch), the terminal is restored, then the process ends with _exit. Exit handlers
        // never run (OpenBLAS's free its buffers, which crashed a job still inside a GEMM);
        // the bounded wait only keeps a stuck job from holding the terminal.
        let joined = session.shutdown(timeout: DyConvTUI.shutdownTimeout)
        terminal.close()
        activeTerminalOpen = 0
        if !joined { printError("warning: a background evaluation did not stop within \(Int(DyConvTUI.shutdownTimeout)) s") }
        if let path = timingLog {
            let text = "# key_to_redraw_ms forward_ms render_ms draw_ms\n" + timings.joined(separator: "\n") + "\n"
            do { try Files.writeAtomically(Array(text.utf8), to: path) } catch { printError("\(error)") }
        }
        fflush(nil)
        _exit(signalReceived != 0 ? 128 + signalReceived : 0)
    }

    /// Seconds `run` waits for background jobs to stop when quitting (one batch takes far less).
    static let shutdownTimeout: Double = 5

    /// Reads input, applies it, polls background jobs and redraws what changed, until quit.
    /// Returns, with `--timing-log`, one line per key that led to a redraw (at most 100,000).
    private func runLoop(session: Session, terminal: Terminal) -> [String] {
        session.setColorMode(terminal.colorMode)
        let size = terminal.size
        session.handle(.resize(width: size.width, height: size.height))
        session.chooseInitialSimplexView(width: size.width, height: size.height)
        session.start()
        var grid = CellGrid(width: 0, height: 0)
        render(session.state, into: &grid)
        terminal.draw(grid)
        var timings: [String] = []
        let clock = ContinuousClock()
        while signalReceived == 0 {
            var dirty = false
            var keyAt: ContinuousClock.Instant?
            var before: ForwardResult?
            if let event = terminal.readEvent(timeout: 50) {
                if case .key = event, timingLog != nil { keyAt = clock.now; before = session.state.current }
                if case .resize = event { terminal.invalidate() }
                guard session.handle(event) else { return timings }
                dirty = true
            }
            // A frame that answers input shows its effect alone; what background jobs posted
            // meanwhile is applied in the next frame (at most 50 ms later), so a burst of
            // recomputed points never delays the answer to a key.
            if !dirty, session.pollBackground() { dirty = true }
            if dirty {
                let renderAt = clock.now
                render(session.state, into: &grid)
                let drawAt = clock.now
                terminal.draw(grid)
                if let keyAt, timings.count < 100_000 {
                    let end = clock.now
                    // 0 when the key ran no forward pass (a layer selected, help shown).
                    let now = session.state.current
                    let forward = now != nil && now != before ? now!.milliseconds : 0
                    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
                    timings.append([ms(end - keyAt), forward, ms(drawAt - renderAt), ms(end - drawAt)]
                        .map { Format.fixed($0, 3) }.joined(separator: " "))
                }
            }
        }
        return timings
    }
}

/// Prints one line to stderr, prefixed with the program name.
func printError(_ message: String) {
    let line = "dyconv-tui: \(message)\n"
    var bytes = Array(line.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { break }
        offset += n
    }
}

// MARK: - Signals

/// The signal that asked us to stop (SIGINT, SIGTERM, SIGHUP), or 0.
nonisolated(unsafe) var signalReceived: Int32 = 0
/// 1 while curses owns the screen (crash handlers then restore it).
nonisolated(unsafe) var activeTerminalOpen: Int32 = 0

/// SIGINT / SIGTERM / SIGHUP set a flag the loop checks every frame (≤ 50 ms), so the
/// terminal is restored by the normal exit path; a second signal restores it at once and
/// exits. Crashes (SIGSEGV, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE) restore the terminal
/// and then die with the default action.
func installSignalHandlers() {
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig) { s in
            if signalReceived != 0 {
                if activeTerminalOpen != 0 { restoreMouseReporting(); endwin() }
                _exit(128 + s)
            }
            signalReceived = s
        }
    }
    for sig in [SIGSEGV, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE] {
        signal(sig) { s in
            if activeTerminalOpen != 0 { restoreMouseReporting(); endwin() }
            signal(s, SIG_DFL)
            raise(s)
        }
    }
}
