import DyConvEngine

/// TArdelean/DynamicConvolution (`models/resnet.py`, `models/mobilenetv2.py`,
/// `dynamic_convolutions.py`): `ResNet10`, `ResNet18` and `MobileNetV2` built with its
/// `DynamicConvolution`, as its `train.py` saves them (`{"model": state_dict, "optimizer": …}`).
///
/// Their containers are `CustomSequential`s that keep their children in `.layers`, hence names
/// such as `layer2.layers.0.shortcut.layers.0.kernels_weights` and
/// `features.layers.3.conv.layers.6.attention.to_scores.2.bias`. The models take the conv class
/// as an argument: `DynamicConvolution` for the dynamic runs, `Conv2dWrapper` (a plain
/// `nn.Conv2d`, `weight`) for their "Vanilla" baselines; each convolution is read as whichever
/// the file holds. π = softmax(scores / τ) with τ an argument of `forward` (their scheduler ends
/// every config at τ = 1, the default here). Widths, K, groups, hidden sizes and the class count
/// come from the tensors; strides, paddings and the block counts are the code's.
enum TArdeleanPresets {
    static let resnet10 = resnet(name: "tardelean-resnet10", code: "ResNet10", blocks: [1, 1, 1, 1])
    static let resnet18 = resnet(name: "tardelean-resnet18", code: "ResNet18", blocks: [2, 2, 2, 2])
    static let mobilenetV2 = preset(
        "tardelean-mobilenetv2",
        "TArdelean/DynamicConvolution MobileNetV2 (DynamicConvolution in every block and the last 1×1, static stride-2 stem, classifier)"
    ) { (b: inout ModelBuilder, convs: inout Convs) throws(ImportError) -> [LayerSpec] in
        try mobileNetV2(&b, &convs)
    }

    /// τ without `--tau`: where every temperature schedule of their configs ends.
    static let defaultTemperature: Float = 1

    /// A preset whose `body` reads the network through `Convs`, which checks the attention widths
    /// of the whole network once it is read. Their AttentionLayer is a softmax: `--routing
    /// sigmoid` does not describe it.
    private static func preset(_ name: String, _ summary: String,
                               _ body: @escaping @Sendable (inout ModelBuilder, inout Convs) throws(ImportError) -> [LayerSpec]) -> ImportPreset {
        ImportPreset(name: name, summary: summary, defaultTemperature: defaultTemperature) {
            (b: inout ModelBuilder, options: ImportOptions) throws(ImportError) -> [LayerSpec] in
            if let routing = options.routing, routing != .softmax {
                throw ImportError(.invalidOption, file: "--routing",
                    "\(name): TArdelean's AttentionLayer is a softmax; --routing \(routing.rawValue) does not apply")
            }
            var convs = Convs(temperature: options.temperature ?? defaultTemperature)
            let layers = try body(&b, &convs)
            try convs.checkReduction(b.file)
            return layers
        }
    }

    // MARK: ResNet

    private static func resnet(name: String, code: String, blocks: [Int]) -> ImportPreset {
        preset(name, "TArdelean/DynamicConvolution \(code) (CIFAR-style 3×3 stem, DynamicConvolution blocks and shortcuts, linear, log-softmax)") {
            (b: inout ModelBuilder, convs: inout Convs) throws(ImportError) -> [LayerSpec] in
            try resnet(&b, &convs, preset: name, blocks: blocks)
        }
    }

    /// kuangliu's CIFAR ResNet as `models/resnet.py` writes it: a static 3×3 stride-1 `conv1`
    /// (no bias) + `bn1` + ReLU, no max pool; `layerN.layers.M` BasicBlocks (`conv1` 3×3 with the
    /// block's stride, `bn1`, ReLU, `conv2` 3×3, `bn2`; stride 2 at the first block of layers 2–4;
    /// `shortcut.layers.0` 1×1 + `shortcut.layers.1` BatchNorm exactly when the stride or width
    /// changes), ReLU after the sum, adaptive average pool, `linear`. The code ends in
    /// log_softmax; softmax of that is softmax of the logits, so dyconv's probabilities are the same.
    private static func resnet(_ b: inout ModelBuilder, _ convs: inout Convs, preset: String,
                               blocks: [Int]) throws(ImportError) -> [LayerSpec] {
        let stem = try b.conv("conv1", inChannels: b.options.input.channels, stride: 1, padding: 1, bias: false)
        try ResNetLayout.expectKernel(stem, 3, b.file)
        var layers: [LayerSpec] = [
            .conv(stem), .batchNorm(try b.batchNorm("bn1", channels: stem.outChannels)), .activation(.relu),
        ]
        var inC = stem.outChannels
        for (stage, count) in blocks.enumerated() {
            for block in 0..<count {
                let p = "layer\(stage + 1).layers.\(block)"
                let stride = (stage > 0 && block == 0) ? 2 : 1
                let conv1 = try convs.conv(&b, "\(p).conv1", inChannels: inC, kernel: 3, stride: stride, padding: 1)
                let width = conv1.outChannels
                let conv2 = try convs.conv(&b, "\(p).conv2", inChannels: width, kernel: 3, stride: 1, padding: 1)
                try sameWidth(conv2, width, b.file, "conv1 of the block")
                let body: [LayerSpec] = [
                    .conv(conv1), .batchNorm(try b.batchNorm("\(p).bn1", channels: width)), .activation(.relu),
                    .conv(conv2), .batchNorm(try b.batchNorm("\(p).bn2", channels: width)),
                ]
                var shortcut: [LayerSpec] = []
                if stride != 1 || inC != width {
                    let projection = try convs.conv(&b, "\(p).shortcut.layers.0", inChannels: inC, kernel: 1,
                                                    stride: stride, padding: 0)
                    try sameWidth(projection, width, b.file, "the block")
                    shortcut = [.conv(projection),
                                .batchNorm(try b.batchNorm("\(p).shortcut.layers.1", channels: width))]
                }
                layers += [.residual(body: body, shortcut: shortcut), .activation(.relu)]
                inC = width
            }
            // One block more than the code makes: the file is a deeper ResNet. Said here, by the
            // first such tensor, rather than as a list of leftovers at the end.
            let extra = "layer\(stage + 1).layers.\(count)"
            if let key = b.reader.names.first(where: { $0.hasPrefix(extra + ".") }) {
                throw ImportError(.unexpectedTensor, file: b.file, tensor: key,
                    "unexpected: \(preset) has \(count) block\(count == 1 ? "" : "s") in layer\(stage + 1), the file more (their ResNet10 has [1, 1, 1, 1] blocks per stage, ResNet18 [2, 2, 2, 2])")
            }
        }
        layers.append(.globalAvgPool)
        layers.append(.linear(try b.linear("linear", inFeatures: inC, bias: true)))
        return layers
    }

    // MARK: MobileNetV2

    /// Their `cfgs` (t, n, s): expansion, blocks and first stride per stage. The widths c are
    /// read from the tensors (width_multiplier only scales them); t = 1 only in the first stage.
    static let mobileNetStages: [(expand: Int, blocks: Int, stride: Int)] = [
        (1, 1, 1), (6, 2, 2), (6, 3, 2), (6, 4, 2), (6, 3, 1), (6, 3, 2), (6, 1, 1),
    ]

    /// `models/mobilenetv2.py`: `features.layers.0` = `conv_3x3_bn` (static 3×3 stride 2, `layers.0`
    /// conv, `layers.1` BatchNorm, ReLU6), then 17 `InvertedResidual`s `features.layers.i` whose
    /// `conv.layers.j` are, for t = 1: 0 depthwise 3×3, 1 BN, 2 ReLU6, 3 pointwise, 4 BN; else:
    /// 0 pointwise expand, 1 BN, 2 ReLU6, 3 depthwise 3×3 with the stride, 4 BN, 5 ReLU6,
    /// 6 pointwise project, 7 BN — every conv the model's conv class, no bias; the input is added
    /// when the stride is 1 and the width unchanged. Then `conv.layers.{0,1}` (1×1 + BN, ReLU6),
    /// average pool, `classifier`; raw logits.
    private static func mobileNetV2(_ b: inout ModelBuilder, _ convs: inout Convs) throws(ImportError) -> [LayerSpec] {
        let stem = try b.conv("features.layers.0.layers.0", inChannels: b.options.input.channels,
                              stride: 2, padding: 1, bias: false)
        try ResNetLayout.expectKernel(stem, 3, b.file)
        var layers: [LayerSpec] = [
            .conv(stem), .batchNorm(try b.batchNorm("features.layers.0.layers.1", channels: stem.outChannels)),
            .activation(.relu6),
        ]
        var inC = stem.outChannels
        var index = 1
        for stage in mobileNetStages {
            for i in 0..<stage.blocks {
                let p = "features.layers.\(index).conv.layers"
                let stride = i == 0 ? stage.stride : 1
                var body: [LayerSpec] = []
                var hidden = inC
                var next = 0
                if stage.expand != 1 {
                    let expand = try convs.conv(&b, "\(p).0", inChannels: inC, kernel: 1, stride: 1, padding: 0)
                    hidden = expand.outChannels
                    body += [.conv(expand), .batchNorm(try b.batchNorm("\(p).1", channels: hidden)), .activation(.relu6)]
                    next = 3
                }
                let depthwise = try convs.conv(&b, "\(p).\(next)", inChannels: hidden, kernel: 3, stride: stride, padding: 1)
                guard depthwise.groups == hidden, depthwise.outChannels == hidden else {
                    throw ImportError(.inconsistent, file: b.file, tensor: Convs.weightKey(depthwise),
                        "is a \(depthwise.groups)-group conv \(hidden) → \(depthwise.outChannels); MobileNetV2's depthwise conv has groups = in = out = \(hidden)")
                }
                let project = try convs.conv(&b, "\(p).\(next + 3)", inChannels: hidden, kernel: 1, stride: 1, padding: 0)
                let outC = project.outChannels
                body += [
                    .conv(depthwise), .batchNorm(try b.batchNorm("\(p).\(next + 1)", channels: hidden)), .activation(.relu6),
                    .conv(project), .batchNorm(try b.batchNorm("\(p).\(next + 4)", channels: outC)),
                ]
                layers += stride == 1 && inC == outC ? [.residual(body: body, shortcut: [])] : body
                inC = outC
                index += 1
            }
        }
        if let key = b.reader.names.first(where: { $0.hasPrefix("features.layers.\(index).") }) {
            throw ImportError(.unexpectedTensor, file: b.file, tensor: key,
                "unexpected: MobileNetV2's features hold \(index) modules (the stem and 17 inverted residuals of its cfgs); the file has more")
        }
        let last = try convs.conv(&b, "conv.layers.0", inChannels: inC, kernel: 1, stride: 1, padding: 0)
        layers += [
            .conv(last), .batchNorm(try b.batchNorm("conv.layers.1", channels: last.outChannels)), .activation(.relu6),
            .globalAvgPool,
            .linear(try b.linear("classifier", inFeatures: last.outChannels, bias: true)),
        ]
        return layers
    }

    // MARK: Convolutions

    /// Reads the model's convolutions (their `ConvLayer`) and checks the attention widths of the
    /// dynamic ones against hidden = max(1, in // reduce) for one `reduce` over the whole network
    /// (`opt.reduce`, 4 in every config of theirs, is a training option, not in the file).
    struct Convs {
        let temperature: Float
        /// The `reduce` values that fit every dynamic conv read so far (nil before the first).
        private var reduce: ClosedRange<Int>?
        /// The first conv that did not fit the others' `reduce`, with its message.
        private var misfit: (key: String, reason: String)?

        init(temperature: Float) { self.temperature = temperature }

        /// The conv at `module`: a `DynamicConvolution` (`kernels_weights`, …) unless the file holds
        /// only `module.weight` (their `Conv2dWrapper`, a plain `nn.Conv2d`). A conv missing
        /// altogether is reported as a missing `kernels_weights`.
        mutating func conv(_ b: inout ModelBuilder, _ module: String, inChannels: Int, kernel: Int,
                           stride: Int, padding: Int) throws(ImportError) -> ConvSpec {
            let spec: ConvSpec
            let weightKey = "\(module).\(DynamicConvLayout.tardelean.weight)"
            if !b.reader.has(weightKey) && b.reader.has("\(module).weight") {
                spec = try b.conv(module, inChannels: inChannels, stride: stride, padding: padding, bias: nil)
            } else {
                spec = try b.dynamicConv(module, layout: .tardelean, inChannels: inChannels, stride: stride,
                                         padding: padding, bias: nil, routing: .softmax, temperature: temperature)
                if let hidden = spec.attention?.hidden {
                    note(hidden: hidden, inChannels: inChannels, key: "\(module).\(DynamicConvLayout.tardelean.fc1Weight)")
                }
            }
            try ResNetLayout.expectKernel(spec, kernel, b.file, key: Self.weightKey(spec))
            return spec
        }

        /// The name of the tensor holding `spec`'s kernel, for messages.
        static func weightKey(_ spec: ConvSpec) -> String {
            spec.isDynamic ? "\(spec.name).\(DynamicConvLayout.tardelean.weight)" : "\(spec.name).weight"
        }

        /// Narrows the `reduce` values that give `hidden` for `inChannels`.
        private mutating func note(hidden: Int, inChannels: Int, key: String) {
            guard misfit == nil, let fits = Self.reductions(giving: hidden, from: inChannels) else {
                if misfit == nil {
                    misfit = (key, "has an attention of \(hidden) hidden units for \(inChannels) input channels; DynamicConvolution makes max(1, in // reduce), never that")
                }
                return
            }
            guard let known = reduce else { reduce = fits; return }
            let lower = max(known.lowerBound, fits.lowerBound), upper = min(known.upperBound, fits.upperBound)
            guard lower <= upper else {
                misfit = (key, "has an attention of \(hidden) hidden units for \(inChannels) input channels, which needs reduce in \(Self.text(fits)); the convs before it need \(Self.text(known)) (hidden = max(1, in // reduce), one reduce per model)")
                return
            }
            reduce = lower...upper
        }

        private static func text(_ r: ClosedRange<Int>) -> String {
            r.upperBound == Int.max ? "≥ \(r.lowerBound)" : r.count == 1 ? "= \(r.lowerBound)" : "\(r.lowerBound)…\(r.upperBound)"
        }

        /// The `reduce` ≥ 1 with max(1, in // reduce) = hidden, or nil when there is none.
        static func reductions(giving hidden: Int, from inChannels: Int) -> ClosedRange<Int>? {
            guard inChannels >= 1, hidden >= 1, hidden <= inChannels else { return nil }
            // in // r = h  ⇔  in / (h + 1) < r ≤ in / h; hidden 1 also covers every r > in (in // r = 0).
            let upper = hidden == 1 ? Int.max : inChannels / hidden
            let lower = inChannels / (hidden + 1) + 1
            return lower <= upper ? lower...upper : nil
        }

        /// Throws the first misfit found by `conv`.
        func checkReduction(_ file: String) throws(ImportError) {
            if let misfit { throw ImportError(.inconsistent, file: file, tensor: misfit.key, misfit.reason) }
        }
    }

    /// Throws unless `spec` gives `width` channels (the residual sum needs equal widths).
    private static func sameWidth(_ spec: ConvSpec, _ width: Int, _ file: String, _ other: String) throws(ImportError) {
        guard spec.outChannels == width else {
            throw ImportError(.inconsistent, file: file, tensor: Convs.weightKey(spec),
                "gives \(spec.outChannels) channels, but \(other) gives \(width) (a BasicBlock keeps its width)")
        }
    }
}

extension DynamicConvLayout {
    /// TArdelean/DynamicConvolution `DynamicConvolution`: `kernels_weights [K, out, in/groups, k, k]`,
    /// `kernels_bias [K, out]` (bias=True by default, False in their models), and an
    /// `AttentionLayer` whose `to_scores` is Linear(in, hidden) with bias, ReLU, Linear(hidden, K).
    /// hidden = max(1, in // reduce) with `reduce` a training option (checked per model by the preset).
    public static let tardelean = DynamicConvLayout(
        module: "TArdelean DynamicConvolution", weight: "kernels_weights", bias: "kernels_bias",
        fc1Weight: "attention.to_scores.0.weight", fc1Bias: "attention.to_scores.0.bias",
        fc2Weight: "attention.to_scores.2.weight", fc2Bias: "attention.to_scores.2.bias",
        fc1HasBias: true, hidden: nil, hiddenRule: "max(1, in // reduce)")
}
