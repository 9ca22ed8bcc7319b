/// The tensors a description needs, and a shape walk that validates it.
extension ModelDescription {
    /// Every parameter tensor the model needs, in a stable order, with its shape.
    ///
    /// Names follow PyTorch `state_dict` conventions (see `docs/CHECKPOINT.md`).
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        func visit(_ layers: [LayerSpec]) {
            for layer in layers {
                switch layer {
                case .conv(let c):
                    let kernelShape = [c.outChannels, c.inChannels / max(c.groups, 1), c.kernel, c.kernel]
                    if c.isDynamic, let a = c.attention {
                        out.append(("\(c.name).weight", [c.kernels] + kernelShape))
                        if c.bias { out.append(("\(c.name).bias", [c.kernels, c.outChannels])) }
                        out.append(("\(c.name).attention.fc1.weight", [a.hidden, c.inChannels]))
                        if a.fc1Bias { out.append(("\(c.name).attention.fc1.bias", [a.hidden])) }
                        out.append(("\(c.name).attention.fc2.weight", [c.kernels, a.hidden]))
                        out.append(("\(c.name).attention.fc2.bias", [c.kernels]))
                    } else {
                        out.append(("\(c.name).weight", kernelShape))
                        if c.bias { out.append(("\(c.name).bias", [c.outChannels])) }
                    }
                case .batchNorm(let b):
                    for suffix in ["weight", "bias", "running_mean", "running_var"] {
                        out.append(("\(b.name).\(suffix)", [b.channels]))
                    }
                case .linear(let l):
                    out.append(("\(l.name).weight", [l.outFeatures, l.inFeatures]))
                    if l.bias { out.append(("\(l.name).bias", [l.outFeatures])) }
                case .residual(let body, let shortcut):
                    visit(body); visit(shortcut)
                case .activation, .maxPool, .avgPool, .globalAvgPool:
                    break
                }
            }
        }
        visit(layers)
        return out
    }

    /// All dynamic (softmax or sigmoid routed) convolutions, in execution order.
    public var dynamicConvolutions: [ConvSpec] {
        var out: [ConvSpec] = []
        func visit(_ layers: [LayerSpec]) {
            for layer in layers {
                switch layer {
                case .conv(let c) where c.isDynamic: out.append(c)
                case .residual(let body, let shortcut): visit(body); visit(shortcut)
                default: break
                }
            }
        }
        visit(layers)
        return out
    }

    /// Walks the layers with the input shape and checks that every layer fits and every size is
    /// bounded (`Limits`), then that one image's forward pass fits in `Limits.memoryBudget`.
    ///
    /// Every number comes from an untrusted file, so the bounds are checked before any size is
    /// computed from them and every product is overflow-checked: after `validate()`, the
    /// geometry of every layer (`ConvGeometry`, pooling, scratch sizes) is exact in `Int`.
    ///
    /// - Returns: the output shape per sample (`[classes]` for a classifier, `[C, H, W]` for a
    ///   network that ends in an image).
    /// - Throws: `ModelDescriptionError` naming the first layer or field that does not fit.
    @discardableResult
    public func validate() throws -> [Int] {
        let side = 1...Limits.maxImageSide
        guard (1...Limits.maxChannels).contains(input.channels), side.contains(input.height), side.contains(input.width) else {
            throw ModelDescriptionError("input shape [\(input.channels), \(input.height), \(input.width)] must be [C, H, W] with C from 1 to \(Limits.maxChannels) and sides from 1 to \(Limits.maxImageSide)")
        }
        try Self.checkElements([input.channels, input.height, input.width], "the input")
        guard normalization.mean.count == input.channels, normalization.std.count == input.channels,
              normalization.std.allSatisfy({ $0 > 0 && $0.isFinite }),
              normalization.mean.allSatisfy({ $0.isFinite }) else {
            throw ModelDescriptionError("normalization needs \(input.channels) finite mean/std values with std > 0")
        }
        guard classes.count <= Limits.maxChannels else {
            throw ModelDescriptionError("\(classes.count) class names are more than the limit of \(Limits.maxChannels)")
        }
        var layerCount = 0
        let outShape = try Self.walk(layers, [input.channels, input.height, input.width], depth: 0, layerCount: &layerCount)
        var names = Set<String>()
        for p in parameterShapes() {
            guard names.insert(p.name).inserted else {
                throw ModelDescriptionError("parameter '\(p.name)' is defined twice")
            }
        }
        // A network that ends in an image is headless whatever `classes` holds (see `isClassifier`).
        if outShape.count == 1 && !classes.isEmpty && outShape[0] != classes.count {
            throw ModelDescriptionError("model outputs \(outShape[0]) values but has \(classes.count) class names")
        }
        do {
            try Limits.checkMemory(estimatedInferenceBytes(batch: 1), for: "one image through this model")
        } catch {
            throw ModelDescriptionError(String(describing: error))
        }
        return outShape
    }

    /// The output shape per sample: `[classes]` for a classifier, `[C, H, W]` for a network that
    /// ends in an image. Call it on a description that passed `validate()`.
    public var outputShape: [Int] {
        (try? Self.walk(layers, [input.channels, input.height, input.width])) ?? []
    }

    /// Whether the network is a classifier: it ends in a vector and names its values (`classes`
    /// not empty, as long as the vector). Otherwise it is headless (`classes: []`, or it ends in
    /// an image, whose class names, if any, name nothing and are ignored): the forward pass gives
    /// its raw output and no class probabilities.
    public var isClassifier: Bool {
        !classes.isEmpty && outputShape == [classes.count]
    }

    /// `walk` for a description already validated (no layer-count or nesting bound to report).
    static func walk(_ layers: [LayerSpec], _ start: [Int]) throws -> [Int] {
        var count = 0
        return try walk(layers, start, depth: 0, layerCount: &count)
    }

    /// Output shape per sample of `layers` on an input of shape `shape` (`[C,H,W]` or `[F]`).
    ///
    /// `depth` is the residual nesting of `layers`, checked against `Limits.maxNesting` before
    /// recursing; `layerCount` counts every layer seen so far (nested ones included).
    static func walk(_ layers: [LayerSpec], _ start: [Int], depth: Int, layerCount: inout Int) throws -> [Int] {
        var shape = start
        for layer in layers {
            layerCount += 1
            guard layerCount <= Limits.maxLayers else {
                throw ModelDescriptionError("the model has more than \(Limits.maxLayers) layers")
            }
            switch layer {
            case .conv(let c):
                guard shape.count == 3 else { throw ModelDescriptionError("conv '\(c.name)' needs an image input, got \(shape)") }
                guard c.inChannels == shape[0] else {
                    throw ModelDescriptionError("conv '\(c.name)' expects \(c.inChannels) input channels, gets \(shape[0])")
                }
                guard (1...Limits.maxChannels).contains(c.outChannels) else {
                    throw ModelDescriptionError("conv '\(c.name)': outChannels \(c.outChannels) must be from 1 to \(Limits.maxChannels)")
                }
                guard c.groups >= 1, c.inChannels % c.groups == 0, c.outChannels % c.groups == 0 else {
                    throw ModelDescriptionError("conv '\(c.name)': groups \(c.groups) must divide in \(c.inChannels) and out \(c.outChannels)")
                }
                if c.isDynamic {
                    guard let a = c.attention else {
                        throw ModelDescriptionError("dynamic conv '\(c.name)' needs an attention spec (hidden, fc1Bias, temperature)")
                    }
                    guard (1...Limits.maxKernels).contains(c.kernels) else {
                        throw ModelDescriptionError("dynamic conv '\(c.name)': kernels \(c.kernels) must be from 1 to \(Limits.maxKernels)")
                    }
                    guard (1...Limits.maxChannels).contains(a.hidden) else {
                        throw ModelDescriptionError("dynamic conv '\(c.name)': attention hidden \(a.hidden) must be from 1 to \(Limits.maxChannels)")
                    }
                    guard Limits.isValidTemperature(a.temperature) else {
                        throw ModelDescriptionError("dynamic conv '\(c.name)': temperature \(a.temperature) is out of range (\(Limits.temperatureRangeText))")
                    }
                    try checkElements([a.hidden, c.inChannels], "conv '\(c.name)' attention fc1")
                    try checkElements([c.kernels, a.hidden], "conv '\(c.name)' attention fc2")
                } else if c.kernels != 1 || c.attention != nil {
                    throw ModelDescriptionError("static conv '\(c.name)' must have kernels = 1 and no attention")
                }
                let h = try slidingOutput(shape[1], kernel: c.kernel, stride: c.stride, padding: c.padding, "conv '\(c.name)'")
                let w = try slidingOutput(shape[2], kernel: c.kernel, stride: c.stride, padding: c.padding, "conv '\(c.name)'")
                try checkElements([c.kernels, c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel], "conv '\(c.name)' weight")
                shape = [c.outChannels, h, w]
                try checkElements(shape, "conv '\(c.name)' output")
            case .batchNorm(let b):
                guard shape.count == 3, b.channels == shape[0] else {
                    throw ModelDescriptionError("batchnorm '\(b.name)' has \(b.channels) channels, input is \(shape)")
                }
                guard b.eps > 0, b.eps.isFinite else { throw ModelDescriptionError("batchnorm '\(b.name)': eps must be a finite number > 0") }
            case .activation:
                break
            case .maxPool(let p), .avgPool(let p):
                guard shape.count == 3 else { throw ModelDescriptionError("pool \(p) needs an image input, got \(shape)") }
                let h = try slidingOutput(shape[1], kernel: p.kernel, stride: p.stride, padding: p.padding, "pool \(p)")
                let w = try slidingOutput(shape[2], kernel: p.kernel, stride: p.stride, padding: p.padding, "pool \(p)")
                guard p.padding <= p.kernel / 2 else {   // 2·padding ≤ kernel, as PyTorch requires
                    throw ModelDescriptionError("pool \(p): padding must be at most kernel / 2")
                }
                shape = [shape[0], h, w]
            case .globalAvgPool:
                guard shape.count == 3 else { throw ModelDescriptionError("gap needs an image input, got \(shape)") }
                shape = [shape[0]]
            case .linear(let l):
                // The shape's product was bounded when the shape was made.
                let features = shape.reduce(1, *)
                guard l.inFeatures == features else {
                    throw ModelDescriptionError("linear '\(l.name)' expects \(l.inFeatures) inputs, gets \(features)")
                }
                guard (1...Limits.maxChannels).contains(l.outFeatures) else {
                    throw ModelDescriptionError("linear '\(l.name)': outFeatures \(l.outFeatures) must be from 1 to \(Limits.maxChannels)")
                }
                try checkElements([l.outFeatures, l.inFeatures], "linear '\(l.name)' weight")
                shape = [l.outFeatures]
            case .residual(let body, let shortcut):
                guard depth < Limits.maxNesting else {
                    throw ModelDescriptionError("residual blocks nest deeper than \(Limits.maxNesting) levels")
                }
                let a = try walk(body, shape, depth: depth + 1, layerCount: &layerCount)
                let b = try walk(shortcut, shape, depth: depth + 1, layerCount: &layerCount)
                guard a == b else {
                    throw ModelDescriptionError("residual block: body gives \(a), shortcut gives \(b)")
                }
                shape = a
            }
        }
        return shape
    }

    /// The output size ⌊(size + 2·padding − kernel) / stride⌋ + 1 of a convolution or pool along
    /// one axis, after checking kernel, stride and padding against `Limits.maxImageSide` (so
    /// nothing overflows) and that the result is a side from 1 to `Limits.maxImageSide`.
    private static func slidingOutput(_ size: Int, kernel: Int, stride: Int, padding: Int,
                                      _ what: @autoclosure () -> String) throws -> Int {
        let bound = Limits.maxImageSide
        for (name, value, lowest) in [("kernel", kernel, 1), ("stride", stride, 1), ("padding", padding, 0)]
        where !(lowest...bound).contains(value) {
            throw ModelDescriptionError("\(what()): \(name) \(value) is outside \(lowest)…\(bound)")
        }
        // size ≤ maxImageSide (checked on the previous layer), so this stays far below Int.max.
        let padded = size + 2 * padding
        guard padded >= kernel else {
            throw ModelDescriptionError("\(what()): kernel \(kernel) larger than the padded input side \(padded)")
        }
        let out = (padded - kernel) / stride + 1
        guard out <= bound else {
            throw ModelDescriptionError("\(what()): output side \(out) is more than the limit of \(bound)")
        }
        return out
    }

    /// Throws unless the product of `shape` is at most `Limits.maxTensorElements` (overflow-checked).
    private static func checkElements(_ shape: [Int], _ what: @autoclosure () -> String) throws {
        guard let n = CheckedSize.product(shape), n <= Limits.maxTensorElements else {
            let count = CheckedSize.product(shape).map { "\($0) elements" } ?? "more elements than can be counted"
            throw ModelDescriptionError("\(what()) \(shape) has \(count), more than the limit of \(Limits.maxTensorElements)")
        }
    }
}

/// A description that does not describe a runnable network.
public struct ModelDescriptionError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
