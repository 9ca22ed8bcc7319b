import DyConvEngine

/// kaijieshi7/Dynamic-convolution-Pytorch `dynamic_models/dy_resnet.py`: torchvision's ResNet
/// whose `conv3x3` and `conv1x1` are `Dynamic_conv2d` (bias=False, K = 4, ratio 0.25), so every
/// block convolution and every `downsample.0` is dynamic; the stem `conv1` stays a static
/// 7×7 `nn.Conv2d` (bias=False), `fc` an `nn.Linear`. τ starts at 34 and `update_temperature()`
/// (called once per epoch by its `main.py`) lowers it by 3 down to 1, so a trained model runs at
/// τ = 1: the default here. Widths and the class count come from the tensors.
enum KaijieshiResNet {
    static let resnet18 = preset(name: "kaijieshi7-resnet18", blocks: [2, 2, 2, 2], code: "dy_resnet.resnet18")
    static let resnet34 = preset(name: "kaijieshi7-resnet34", blocks: [3, 4, 6, 3], code: "dy_resnet.resnet34")

    private static func preset(name: String, blocks: [Int], code: String) -> ImportPreset {
        ImportPreset(
            name: name,
            summary: "kaijieshi7/Dynamic-convolution-Pytorch \(code) (Dynamic_conv2d blocks and downsample, static 7×7 stem, fc)",
            defaultTemperature: 1
        ) { (b: inout ModelBuilder, options: ImportOptions) throws(ImportError) -> [LayerSpec] in
            if let routing = options.routing, routing != .softmax {
                throw ImportError(.invalidOption, file: "--routing",
                    "\(name): kaijieshi7's attention2d is a softmax; --routing \(routing.rawValue) does not apply")
            }
            let convs = ResNetLayout.Convs(layout: .kaijieshi7, requireDynamic: true, routing: .softmax,
                                           temperature: options.temperature ?? 1)
            return try ResNetLayout.basic(&b, blocks: blocks, convs: convs)
        }
    }
}
