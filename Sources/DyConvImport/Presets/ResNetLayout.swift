import DyConvEngine

/// torchvision's BasicBlock ResNet as code bases that copy it write it: the ImageNet stem
/// (`conv1` 7×7 stride 2 padding 3 without bias, `bn1`, ReLU, 3×3 max pool stride 2 padding 1),
/// four stages `layer1…layer4` of BasicBlocks (`convN` 3×3 padding 1, `bnN`; stride 2 at the first
/// block of stages 2–4; `downsample.0` 1×1 + `downsample.1` BatchNorm when the stride or width
/// changes), global average pooling and `fc`. Which convolutions are dynamic and how their
/// tensors are named is the caller's `layout`; widths come from the tensors.
enum ResNetLayout {
    /// How the block convolutions are made.
    struct Convs {
        /// Tensor names of a dynamic convolution.
        var layout: DynamicConvLayout
        /// Dynamic when the file holds a kernel bank (rank 5) and this allows it; static otherwise.
        /// `requireDynamic` makes a rank-4 weight an error (a code base whose blocks are always dynamic).
        var requireDynamic: Bool
        var routing: Routing
        var temperature: Float
    }

    /// The layers of a BasicBlock ResNet with `blocks[s]` blocks in stage s + 1.
    static func basic(_ b: inout ModelBuilder, blocks: [Int], convs: Convs) throws(ImportError) -> [LayerSpec] {
        let stem = try b.conv("conv1", inChannels: b.options.input.channels, stride: 2, padding: 3, bias: false)
        try expectKernel(stem, 7, b.file)
        var layers: [LayerSpec] = [
            .conv(stem),
            .batchNorm(try b.batchNorm("bn1", channels: stem.outChannels)),
            .activation(.relu),
            .maxPool(PoolSpec(kernel: 3, stride: 2, padding: 1)),
        ]
        var inC = stem.outChannels
        for (stage, count) in blocks.enumerated() {
            for block in 0..<count {
                let name = "layer\(stage + 1).\(block)"
                let stride = (stage > 0 && block == 0) ? 2 : 1
                let conv1 = try blockConv(&b, "\(name).conv1", inChannels: inC, kernel: 3, stride: stride, padding: 1, convs)
                let width = conv1.outChannels
                let conv2 = try blockConv(&b, "\(name).conv2", inChannels: width, kernel: 3, stride: 1, padding: 1, convs)
                guard conv2.outChannels == width else {
                    throw ImportError(.inconsistent, file: b.file, tensor: "\(name).conv2.\(convs.layout.weight)",
                        "gives \(conv2.outChannels) channels, but conv1 of the block gives \(width) (a BasicBlock keeps its width)")
                }
                let body: [LayerSpec] = [
                    .conv(conv1), .batchNorm(try b.batchNorm("\(name).bn1", channels: width)), .activation(.relu),
                    .conv(conv2), .batchNorm(try b.batchNorm("\(name).bn2", channels: width)),
                ]
                var shortcut: [LayerSpec] = []
                // The code's rule (`_make_layer`): a projection exactly when stride or width changes.
                if stride != 1 || inC != width {
                    let down = try blockConv(&b, "\(name).downsample.0", inChannels: inC, kernel: 1, stride: stride, padding: 0, convs)
                    guard down.outChannels == width else {
                        throw ImportError(.inconsistent, file: b.file, tensor: "\(name).downsample.0.\(convs.layout.weight)",
                            "gives \(down.outChannels) channels, but the block gives \(width)")
                    }
                    shortcut = [.conv(down), .batchNorm(try b.batchNorm("\(name).downsample.1", channels: width))]
                }
                layers.append(.residual(body: body, shortcut: shortcut))
                layers.append(.activation(.relu))
                inC = width
            }
        }
        layers.append(.globalAvgPool)
        layers.append(.linear(try b.linear("fc", inFeatures: inC, bias: true)))
        return layers
    }

    /// A block convolution: dynamic for a rank-5 weight, else static (unless `requireDynamic`).
    static func blockConv(_ b: inout ModelBuilder, _ module: String, inChannels: Int, kernel: Int, stride: Int,
                          padding: Int, _ convs: Convs) throws(ImportError) -> ConvSpec {
        let weightKey = "\(module).\(convs.layout.weight)"
        let spec: ConvSpec
        if convs.requireDynamic || b.reader.shape(of: weightKey)?.count == 5 {
            spec = try b.dynamicConv(module, layout: convs.layout, inChannels: inChannels, stride: stride, padding: padding,
                                     bias: nil, routing: convs.routing, temperature: convs.temperature)
        } else {
            spec = try b.conv(module, inChannels: inChannels, stride: stride, padding: padding, bias: nil)
        }
        try expectKernel(spec, kernel, b.file, key: weightKey)
        return spec
    }

    /// Throws unless `spec` has the kernel size the code gives it (padding is the code's too).
    static func expectKernel(_ spec: ConvSpec, _ kernel: Int, _ file: String, key: String? = nil) throws(ImportError) {
        guard spec.kernel == kernel else {
            throw ImportError(.shapeMismatch, file: file, tensor: key ?? "\(spec.name).weight",
                "has a \(spec.kernel)×\(spec.kernel) kernel; this layout's \(spec.name) is \(kernel)×\(kernel)")
        }
    }
}
