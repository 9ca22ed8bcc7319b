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
        if model.hasSuffix(".safetensors") || FileManager.default.fileExists(atPath: model) {
            let checkpoint = try Checkpoint.read(path: model)
            description = checkpoint.description
            training = checkpoint.training
        } else {
            description = try Families.named(model)
        }
        if json { print(description.jsonString()); return }
        let params = description.parameterShapes().reduce(0) { $0 + $1.shape.reduce(1, *) }
        print("\(description.family): input \(description.input.channels)×\(description.input.height)×\(description.input.width), "
              + "\(description.classes.count) classes")
        print("  parameters: \(params), multiply-adds per image: \(description.multiplyAdds())")
        print("  dynamic layers: \(description.dynamicConvolutions.count)")
        for c in description.dynamicConvolutions {
            print("    \(c.name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(c.routing.rawValue) K=\(c.kernels) "
                  + "\(c.inChannels)→\(c.outChannels) \(c.kernel)×\(c.kernel)/\(c.stride)"
                  + (c.groups > 1 ? " groups \(c.groups)" : "")
                  + " τ=\(formatNumber(c.attention?.temperature ?? 1))")
        }
        if let t = training {
            print("  trained: epoch \(t.epoch)/\(t.epochs), τ \(formatNumber(t.temperature))"
                  + (t.testAccuracy.map { String(format: ", test accuracy %.2f%%", 100 * $0) } ?? ""))
        }
    }
}
