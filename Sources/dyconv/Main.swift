import ArgumentParser
import DyConvData
import DyConvEngine
import DyConvImport
import DyConvTraining
import Foundation

/// `dyconv`: train, evaluate, inspect and benchmark dynamic-convolution models.
@main
struct Dyconv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dyconv",
        abstract: "Train, evaluate, inspect and benchmark Dynamic Convolution models.",
        discussion: """
            Checkpoints are safetensors files with the architecture in their metadata \
            (see docs/CHECKPOINT.md). The bundled ones are in assets/. Images come from \
            Fashion-MNIST (--data DIR, default /usr/share/datasets/fashion-mnist) or the \
            1000-image sample bundled in assets/.
            """,
        subcommands: [InspectCommand.self, EvalCommand.self, BenchCommand.self, TrainCommand.self,
                      DescribeCommand.self, CompactCommand.self, ImportCommand.self, ReportCommand.self])

    /// Parses and runs; every failure becomes one line on stderr and a non-zero exit.
    static func main() {
        do {
            var command = try parseAsRoot(try CommandLineInput.arguments())
            // The DYCONV_* knobs (docs/ENVIRONMENT.md) are checked once, before any work.
            try EnvironmentSetting.validateAll()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }   // --help, --version
            let message: String
            if error is CheckpointError || error is ModelDescriptionError || error is CLIError || error is DataError
                || error is TrainingError || error is MemoryLimitError || error is EnvironmentError
                || error is ImportError {
                // dyconv's own messages are one line, but may quote a path or name with a newline.
                message = visibleControlCharacters(String(describing: error))
            } else {
                // ArgumentParser's message, without the help lines it may append.
                let text = Self.message(for: error)
                message = text.split(separator: "\n").first.map(String.init) ?? text
            }
            FileHandle.standardError.write(Data("dyconv: error: \(message)\n".utf8))
            // 64 (EX_USAGE) for a bad command line, 1 for anything else: never a signal's 128 + n.
            Foundation.exit(code == .validationFailure || error is EnvironmentError ? 64 : 1)
        }
    }
}

/// `text` with every control character written out ("\\n", "\\u{1B}"), so that it prints as one line
/// and cannot drive the terminal.
func visibleControlCharacters(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.properties.generalCategory == .control {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out
}

/// A usage or runtime error of the CLI, printed as one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// The command line as ArgumentParser should see it.
///
/// Two things ArgumentParser gets wrong for dyconv, fixed before it parses:
/// - A negative number after an option (`--index -1`, `--tau -1`, `--lr -0.1`) looks like a
///   short option to it, so the user reads "Missing value for '--index'". dyconv has no short
///   options that are numbers, so such a word is joined to the option before it
///   (`--index=-1`; for an array option, `--index 0 -1` becomes `--index 0 --index=-1`) and the
///   command's own range check then names the flag.
/// - On Linux, `CommandLine.arguments` repairs bytes that are not UTF-8 to U+FFFD, so a path
///   with such bytes would be reported as "no such file". dyconv's paths and values are UTF-8;
///   any other argument is refused, saying so.
enum CommandLineInput {
    /// The arguments after the program name; throws when one is not valid UTF-8.
    static func arguments() throws -> [String] {
        var raw: [String] = []
        for i in 0..<Int(CommandLine.argc) where i > 0 {   // argc may be 0 (execve with an empty argv)
            guard let pointer = CommandLine.unsafeArgv[i] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                                            count: strlen(pointer))
            guard let text = String(validating: bytes, as: UTF8.self) else {
                let repaired = String(decoding: bytes, as: UTF8.self)
                throw CLIError("argument \(String(reflecting: repaired)) is not valid UTF-8 (dyconv takes UTF-8 paths and values)")
            }
            raw.append(text)
        }
        return joiningNegativeNumbers(raw)
    }

    /// Joins every negative number that follows an option, or the values of an option, to that
    /// option: `["--index", "-1", "0", "-2"]` → `["--index=-1", "0", "--index=-2"]`. Stops at `--`.
    static func joiningNegativeNumbers(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var option: String?   // the last `--name` that may still be taking values
        for (i, a) in arguments.enumerated() {
            if a == "--" { out += arguments[i...]; break }
            if isNegativeNumber(a), let option {
                // Right after the option: `--tau -1` → `--tau=-1` (ArgumentParser keeps collecting
                // an array's further values after it); after other values: one more `--index=-1`.
                if out.last == option { out[out.count - 1] = "\(option)=\(a)" } else { out.append("\(option)=\(a)") }
                continue
            }
            if a.hasPrefix("--") { option = a.contains("=") ? nil : a }
            else if a.hasPrefix("-") { option = nil }
            out.append(a)
        }
        return out
    }

    /// "-1", "-0.1", "-1e-40", "-inf": a word starting with one "-" that reads as a number.
    static func isNegativeNumber(_ word: String) -> Bool {
        word.hasPrefix("-") && !word.hasPrefix("--") && Double(word) != nil
    }
}
