/// Builders for the model families: `dycnn`, `dyresnet`, `dy-resnet18` and `dy-mobilenetv2`,
/// each with dynamic (softmax), CondConv (sigmoid) and static variants.
public enum Families {
    /// Fashion-MNIST class names, in label order.
    public static let fashionMNISTClasses = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    /// Fashion-MNIST pixel statistics of the training set ([0, 1] scale).
    public static let fashionMNISTNormalization = Normalization(mean: [0.2860], std: [0.3530])

    /// ImageNet statistics (torchvision convention).
    public static let imageNetNormalization = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Width of the attention branch's hidden layer: in/4 (the paper's reduction ratio), at least 4.
    public static func attentionHidden(_ inChannels: Int) -> Int { max(inChannels / 4, 4) }

    /// A conv spec with the given routing (static when `.static`).
    static func conv(_ name: String, _ inC: Int, _ outC: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
                     routing: Routing, kernels: Int, temperature: Float) -> ConvSpec {
        let dynamic = routing != .static
        return ConvSpec(name: name, inChannels: inC, outChannels: outC, kernel: kernel, stride: stride,
                        padding: kernel / 2, groups: groups, bias: false, routing: routing,
                        kernels: dynamic ? kernels : 1,
                        attention: dynamic ? AttentionSpec(hidden: attentionHidden(inC), temperature: temperature) : nil)
    }

    /// The small CNN for 28×28 grayscale images.
    ///
    /// A static 3×3 stem (conv + BN + ReLU), then three stages of two 3×3 convolutions with the
    /// given routing (stride 2 at the first conv of stages 2 and 3: 28 → 14 → 7), each followed by
    /// BN + ReLU, global average pooling and a linear classifier. Names: `stem.conv`, `stem.bn`,
    /// `layer{1,2,3}.{0,1}.conv` / `.bn`, `fc`.
    public static func dycnn(widths: [Int] = [16, 32, 64], routing: Routing = .softmax, kernels: Int = 4,
                             temperature: Float = 1, classes: [String] = fashionMNISTClasses) -> ModelDescription {
        precondition(widths.count == 3, "dycnn needs three widths")
        var layers: [LayerSpec] = [
            .conv(conv("stem.conv", 1, widths[0], kernel: 3, routing: .static, kernels: 1, temperature: 1)),
            .batchNorm(BatchNormSpec(name: "stem.bn", channels: widths[0])),
            .activation(.relu),
        ]
        var inC = widths[0]
        for (stage, width) in widths.enumerated() {
            for block in 0..<2 {
                let name = "layer\(stage + 1).\(block)"
                let stride = (stage > 0 && block == 0) ? 2 : 1
                layers.append(.conv(conv("\(name).conv", inC, width, kernel: 3, stride: stride,
                                         routing: routing, kernels: kernels, temperature: temperature)))
                layers.append(.batchNorm(BatchNormSpec(name: "\(name).bn", channels: width)))
                layers.append(.activation(.relu))
                inC = width
            }
        }
        layers.append(.globalAvgPool)
        layers.append(.linear(LinearSpec(name: "fc", inFeatures: inC, outFeatures: classes.count)))
        let family = routing == .softmax ? "dycnn" : (routing == .sigmoid ? "dycnn-condconv" : "dycnn-static")
        return ModelDescription(family: family, input: InputSpec(channels: 1, height: 28, width: 28),
                                normalization: fashionMNISTNormalization, classes: classes, layers: layers)
    }

    /// A CIFAR-style ResNet-(6n+2) for 28×28 grayscale images (He et al. 2016, §4.2), n = `blocks`.
    ///
    /// A static 3×3 stem (`conv1`, `bn1`, ReLU), then three stages of `blocks` BasicBlocks
    /// (`layer{1,2,3}.{b}.conv1` 3×3 – `bn1` – ReLU – `conv2` 3×3 – `bn2`, residual add, ReLU;
    /// stride 2 at the first block of stages 2 and 3: 28 → 14 → 7), global average pooling and
    /// `fc`. The blocks' 3×3 convolutions have the given routing; the projection shortcut of a
    /// block that changes the shape (`downsample.0` 1×1 + `downsample.1` BN) is static, so the
    /// dynamic layers are exactly the 3×3 convolutions, in depth order (2·3·`blocks` of them).
    /// The defaults (8/16/32, 3 blocks) are the ResNet-20 layout at half its CIFAR widths: 18 dynamic layers.
    public static func dyresnet(widths: [Int] = [8, 16, 32], blocks: Int = 3, routing: Routing = .softmax,
                                kernels: Int = 4, temperature: Float = 1,
                                classes: [String] = fashionMNISTClasses) -> ModelDescription {
        precondition(widths.count == 3, "dyresnet needs three widths")
        precondition(blocks >= 1, "dyresnet needs at least one block per stage")
        var layers: [LayerSpec] = [
            .conv(conv("conv1", 1, widths[0], kernel: 3, routing: .static, kernels: 1, temperature: 1)),
            .batchNorm(BatchNormSpec(name: "bn1", channels: widths[0])),
            .activation(.relu),
        ]
        let inC = appendBasicBlocks(to: &layers, inChannels: widths[0], widths: widths, blocks: blocks, routing: routing,
                                    shortcutRouting: .static, kernels: kernels, temperature: temperature)
        layers.append(.globalAvgPool)
        layers.append(.linear(LinearSpec(name: "fc", inFeatures: inC, outFeatures: classes.count)))
        let family = routing == .softmax ? "dyresnet" : (routing == .sigmoid ? "dyresnet-condconv" : "dyresnet-static")
        return ModelDescription(family: family, input: InputSpec(channels: 1, height: 28, width: 28),
                                normalization: fashionMNISTNormalization, classes: classes, layers: layers)
    }

    /// Appends the stages of torchvision-style BasicBlocks shared by `dyresnet` and `resnet18`:
    /// per stage (`layer1`, `layer2`, …) `blocks` blocks of 3×3 conv (`conv1`, stride 2 at the
    /// first block of every stage but the first) – BN – ReLU – 3×3 conv (`conv2`) – BN, a
    /// residual add with a 1×1 conv + BN projection (`downsample.0/1`) where the shape changes,
    /// then ReLU. The 3×3 convolutions get `routing`, the projection `shortcutRouting`.
    /// Returns the channels of the last stage.
    static func appendBasicBlocks(to layers: inout [LayerSpec], inChannels: Int, widths: [Int], blocks: Int,
                                  routing: Routing, shortcutRouting: Routing, kernels: Int,
                                  temperature: Float) -> Int {
        var inC = inChannels
        for (stage, width) in widths.enumerated() {
            for block in 0..<blocks {
                let name = "layer\(stage + 1).\(block)"
                let stride = (stage > 0 && block == 0) ? 2 : 1
                let main: [LayerSpec] = [
                    .conv(conv("\(name).conv1", inC, width, kernel: 3, stride: stride, routing: routing,
                               kernels: kernels, temperature: temperature)),
                    .batchNorm(BatchNormSpec(name: "\(name).bn1", channels: width)),
                    .activation(.relu),
                    .conv(conv("\(name).conv2", width, width, kernel: 3, routing: routing,
                               kernels: kernels, temperature: temperature)),
                    .batchNorm(BatchNormSpec(name: "\(name).bn2", channels: width)),
                ]
                var shortcut: [LayerSpec] = []
                if stride != 1 || inC != width {
                    shortcut = [
                        .conv(conv("\(name).downsample.0", inC, width, kernel: 1, stride: stride, routing: shortcutRouting,
                                   kernels: kernels, temperature: temperature)),
                        .batchNorm(BatchNormSpec(name: "\(name).downsample.1", channels: width)),
                    ]
                }
                layers.append(.residual(body: main, shortcut: shortcut))
                layers.append(.activation(.relu))
                inC = width
            }
        }
        return inC
    }

    /// ResNet-18 (torchvision layout and names) with every convolution except `conv1` dynamic.
    /// `widths`: the four stages' channels (the stem has the first); smaller ones make small
    /// test models.
    public static func resnet18(routing: Routing = .softmax, kernels: Int = 4, temperature: Float = 1,
                                classCount: Int = 1000, inputSize: Int = 224,
                                widths: [Int] = [64, 128, 256, 512]) -> ModelDescription {
        precondition(widths.count == 4, "resnet18 needs four widths")
        var layers: [LayerSpec] = [
            .conv(ConvSpec(name: "conv1", inChannels: 3, outChannels: widths[0], kernel: 7, stride: 2, padding: 3)),
            .batchNorm(BatchNormSpec(name: "bn1", channels: widths[0])),
            .activation(.relu),
            .maxPool(PoolSpec(kernel: 3, stride: 2, padding: 1)),
        ]
        let inC = appendBasicBlocks(to: &layers, inChannels: widths[0], widths: widths, blocks: 2, routing: routing,
                                    shortcutRouting: routing, kernels: kernels, temperature: temperature)
        layers.append(.globalAvgPool)
        layers.append(.linear(LinearSpec(name: "fc", inFeatures: inC, outFeatures: classCount)))
        return ModelDescription(family: prefixed("resnet18", routing),
                                input: InputSpec(channels: 3, height: inputSize, width: inputSize),
                                normalization: imageNetNormalization,
                                classes: (0..<classCount).map { "class \($0)" }, layers: layers)
    }

    /// torchvision's `_make_divisible`: round to a multiple of 8, never more than 10% down.
    static func makeDivisible(_ v: Double, _ divisor: Int = 8) -> Int {
        var n = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(n) < 0.9 * v { n += divisor }
        return n
    }

    /// MobileNetV2 (torchvision layout and names) with every convolution except `features.0.0` dynamic.
    public static func mobilenetV2(widthMultiplier: Double = 1.0, routing: Routing = .softmax, kernels: Int = 4,
                                   temperature: Float = 1, classCount: Int = 1000,
                                   inputSize: Int = 224) -> ModelDescription {
        let settings: [(t: Int, c: Int, n: Int, s: Int)] = [
            (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
        ]
        var inC = makeDivisible(32 * widthMultiplier)
        let lastC = makeDivisible(1280 * max(1.0, widthMultiplier))
        var layers: [LayerSpec] = [
            .conv(ConvSpec(name: "features.0.0", inChannels: 3, outChannels: inC, kernel: 3, stride: 2, padding: 1)),
            .batchNorm(BatchNormSpec(name: "features.0.1", channels: inC)),
            .activation(.relu6),
        ]
        var index = 1
        for setting in settings {
            let outC = makeDivisible(Double(setting.c) * widthMultiplier)
            for i in 0..<setting.n {
                let stride = i == 0 ? setting.s : 1
                let hidden = Int((Double(inC) * Double(setting.t)).rounded())
                let p = "features.\(index).conv"
                var body: [LayerSpec] = []
                var j = 0
                if setting.t != 1 {
                    body += [
                        .conv(conv("\(p).0.0", inC, hidden, kernel: 1, routing: routing, kernels: kernels,
                                   temperature: temperature)),
                        .batchNorm(BatchNormSpec(name: "\(p).0.1", channels: hidden)),
                        .activation(.relu6),
                    ]
                    j = 1
                }
                body += [
                    .conv(conv("\(p).\(j).0", hidden, hidden, kernel: 3, stride: stride, groups: hidden,
                               routing: routing, kernels: kernels, temperature: temperature)),
                    .batchNorm(BatchNormSpec(name: "\(p).\(j).1", channels: hidden)),
                    .activation(.relu6),
                    .conv(conv("\(p).\(j + 1)", hidden, outC, kernel: 1, routing: routing, kernels: kernels,
                               temperature: temperature)),
                    .batchNorm(BatchNormSpec(name: "\(p).\(j + 2)", channels: outC)),
                ]
                if stride == 1 && inC == outC {
                    layers.append(.residual(body: body, shortcut: []))
                } else {
                    layers += body
                }
                inC = outC
                index += 1
            }
        }
        layers += [
            .conv(conv("features.\(index).0", inC, lastC, kernel: 1, routing: routing, kernels: kernels,
                       temperature: temperature)),
            .batchNorm(BatchNormSpec(name: "features.\(index).1", channels: lastC)),
            .activation(.relu6),
            .globalAvgPool,
            .linear(LinearSpec(name: "classifier.1", inFeatures: lastC, outFeatures: classCount)),
        ]
        let width = widthMultiplier == 1 ? "" : "-\(widthMultiplier)"
        return ModelDescription(family: prefixed("mobilenetv2", routing) + width,
                                input: InputSpec(channels: 3, height: inputSize, width: inputSize),
                                normalization: imageNetNormalization,
                                classes: (0..<classCount).map { "class \($0)" }, layers: layers)
    }

    static func prefixed(_ base: String, _ routing: Routing) -> String {
        switch routing {
        case .softmax: return "dy-\(base)"
        case .sigmoid: return "condconv-\(base)"
        case .static: return base
        }
    }

    /// The family names `named(_:)` accepts.
    public static let available: [String] = [
        "dycnn", "dycnn-static", "dycnn-condconv", "dycnn-small",
        "dyresnet", "dyresnet-static", "dyresnet-condconv",
        "dy-resnet18", "resnet18", "condconv-resnet18",
        "dy-mobilenetv2", "dy-mobilenetv2-0.5", "dy-mobilenetv2-0.35", "mobilenetv2", "condconv-mobilenetv2",
    ]

    /// The description of a family by name (see `available`).
    public static func named(_ name: String) throws -> ModelDescription {
        switch name {
        case "dycnn": return dycnn()
        case "dycnn-static": return dycnn(routing: .static)
        case "dycnn-condconv": return dycnn(routing: .sigmoid)
        case "dycnn-small": return dycnn(widths: [8, 16, 32])
        case "dyresnet": return dyresnet()
        case "dyresnet-static": return dyresnet(routing: .static)
        case "dyresnet-condconv": return dyresnet(routing: .sigmoid)
        case "dy-resnet18": return resnet18()
        case "resnet18": return resnet18(routing: .static)
        case "condconv-resnet18": return resnet18(routing: .sigmoid)
        case "dy-mobilenetv2": return mobilenetV2()
        case "dy-mobilenetv2-0.5": return mobilenetV2(widthMultiplier: 0.5)
        case "dy-mobilenetv2-0.35": return mobilenetV2(widthMultiplier: 0.35)
        case "mobilenetv2": return mobilenetV2(routing: .static)
        case "condconv-mobilenetv2": return mobilenetV2(routing: .sigmoid)
        default:
            throw ModelDescriptionError("unknown model family '\(name)'; known: \(available.joined(separator: ", "))")
        }
    }
}
