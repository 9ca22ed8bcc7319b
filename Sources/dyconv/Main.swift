import ArgumentParser
import DyConvData
import DyConvEngine
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
                      DescribeCommand.self])

    /// Parses and runs; every failure becomes one line on stderr and a non-zero exit.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }   // --help, --version
            var message: String
            if error is CheckpointError || error is ModelDescriptionError || error is CLIError || error is DataError
                || error is TrainingError {
                message = String(describing: error)
            } else {
                message = Self.message(for: error)
            }
            message = message.split(separator: "\n").first.map(String.init) ?? message
            FileHandle.standardError.write(Data("dyconv: error: \(message)\n".utf8))
            Foundation.exit(code == .validationFailure ? 64 : 1)
        }
    }
}

/// A usage or runtime error of the CLI, printed as one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
