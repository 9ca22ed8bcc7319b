import DyConvEngine

/// The project's own PyTorch layout (tools/dyconv_torch.py `DyConvModel`): a state_dict whose
/// names already are dyconv names. The state_dict does not say which network it is, so the
/// preset recognises the two families dyconv builds with a classifier and plain names:
/// - `dycnn` (Families.dycnn): `stem.conv` 3×3 static, three stages `layer{1,2,3}.{0,1}.conv` +
///   `.bn` (stride 2 at the first conv of stages 2 and 3), `fc`;
/// - `dy-resnet` (Families.resnet18 and deeper): torchvision's BasicBlock ResNet, `conv1` static,
///   the number of blocks per stage counted from the names.
/// A convolution is dynamic when its weight is a kernel bank (rank 5); the tensors cannot tell
/// softmax from sigmoid routing, so that is `--routing` (softmax by default). Anything else (a
/// MobileNetV2, other widths of stem) goes through `--from mapping.json` with its architecture.
enum DyconvLayoutPreset {
    static let preset = ImportPreset(
        name: "dyconv",
        summary: "tools/dyconv_torch.py state_dicts (dyconv names): the dycnn and dy-resnet layouts, inferred from the names",
        defaultTemperature: 1
    ) { (b: inout ModelBuilder, options: ImportOptions) throws(ImportError) -> [LayerSpec] in
        let convs = ResNetLayout.Convs(layout: .dyconv, requireDynamic: false, routing: options.routing ?? .softmax,
                                       temperature: options.temperature ?? 1)
        if b.reader.has("stem.conv.weight") { return try dycnn(&b, convs) }
        if b.reader.has("conv1.weight") && b.reader.has("layer1.0.conv1.weight") {
            return try ResNetLayout.basic(&b, blocks: blockCounts(b.reader), convs: convs)
        }
        throw ImportError(.missingTensor, file: b.file,
            "is neither dyconv layout this preset recognises: no 'stem.conv.weight' (dycnn) and no 'conv1.weight' with 'layer1.0.conv1.weight' (dy-resnet); describe the network with --from mapping.json (docs/IMPORT.md)")
    }

    /// Blocks per stage of a dy-resnet: how many `layer{s}.{i}.conv1.weight` exist from i = 0 on.
    static func blockCounts(_ reader: StateDictReader) -> [Int] {
        (1...4).map { stage in
            var count = 0
            while count < Limits.maxLayers && reader.has("layer\(stage).\(count).conv1.weight") { count += 1 }
            return count
        }
    }

    /// Families.dycnn's layers, widths from the tensors.
    static func dycnn(_ b: inout ModelBuilder, _ convs: ResNetLayout.Convs) throws(ImportError) -> [LayerSpec] {
        let stem = try b.conv("stem.conv", inChannels: b.options.input.channels, stride: 1, padding: 1, bias: nil)
        try ResNetLayout.expectKernel(stem, 3, b.file)
        var layers: [LayerSpec] = [
            .conv(stem), .batchNorm(try b.batchNorm("stem.bn", channels: stem.outChannels)), .activation(.relu),
        ]
        var inC = stem.outChannels
        for stage in 0..<3 {
            for block in 0..<2 {
                let name = "layer\(stage + 1).\(block)"
                let stride = (stage > 0 && block == 0) ? 2 : 1
                let conv = try ResNetLayout.blockConv(&b, "\(name).conv", inChannels: inC, kernel: 3, stride: stride,
                                                      padding: 1, convs)
                layers += [.conv(conv), .batchNorm(try b.batchNorm("\(name).bn", channels: conv.outChannels)), .activation(.relu)]
                inC = conv.outChannels
            }
        }
        layers.append(.globalAvgPool)
        layers.append(.linear(try b.linear("fc", inFeatures: inC, bias: true)))
        return layers
    }
}
