import ArgumentParser
import DyConvEngine
import Foundation

/// `dyconv describe`: the architecture JSON and size of a family or checkpoint.
struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Print a model family's or checkpoint's architecture (JSON with --json) and its size.")

    @Argument(help: "A family name (\(Families.available.joined(separator: ", "))) or a checkpoint path.")
    var model: String

    @Flag(name: .long, help: "Print the architecture JSON (the checkpoint's dyconv.architecture).")
    var json = false

    func run() throws {
        let description: ModelDescription
        var training: TrainingRecord?
        if model.hasSuffix(".safetensors") || Files.exists(model) {
            let checkpoint = try Checkpoint.read(path: model)
            description = checkpoint.description
            training = checkpoint.training
        } else {
            description = try Families.named(model)
        }
        // The architecture JSON, compact like in the checkpoint, but through the CLI's encoder
        // (slashes unescaped: "T-shirt/top"; an encoding failure is an error line, not a trap).
        if json { print(try jsonText(description, pretty: false)); return }
        // Checked: a checkpoint's shapes are untrusted and describe does not build the model.
        let params = description.parameterCount
        print("\(description.family): input \(description.input.channels)×\(description.input.height)×\(description.input.width), "
              + "\(description.classes.count) classes")
        print("  parameters: \(params.map(String.init) ?? "more than can be counted"), multiply-adds per image: \(description.multiplyAdds())")
        print("  dynamic layers: \(description.dynamicConvolutions.count)")
        let nameWidth = max(28, description.dynamicConvolutions.map(\.name.count).max() ?? 0)   // aligned columns
        for c in description.dynamicConvolutions {
            print("    \(c.name.rightPad(nameWidth)) \(c.routing.rawValue) K=\(c.kernels) "
                  + "\(c.inChannels)→\(c.outChannels) \(c.kernel)×\(c.kernel)/\(c.stride)"
                  + (c.groups > 1 ? " groups \(c.groups)" : "")
                  + " τ=\(formatNumber(c.attention?.temperature ?? 1))")
        }
        if let t = training {
            print("  trained: epoch \(t.epoch)/\(t.epochs)" + (description.trainedTemperature.map { ", τ \(formatNumber($0))" } ?? "")
                  + (t.testAccuracy.map { ", test accuracy " + NumberText.percent(Double($0)) } ?? ""))
        }
    }
}
