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

    /// Walks the layers with the input shape and checks that every layer fits.
    ///
    /// - Returns: the output shape per sample (`[classes]` for a classifier).
    /// - Throws: `ModelDescriptionError` naming the first layer that does not fit.
    @discardableResult
    public func validate() throws -> [Int] {
        guard input.channels > 0, input.height > 0, input.width > 0 else {
            throw ModelDescriptionError("input shape must be positive, got \(input)")
        }
        guard normalization.mean.count == input.channels, normalization.std.count == input.channels,
              normalization.std.allSatisfy({ $0 > 0 && $0.isFinite }),
              normalization.mean.allSatisfy({ $0.isFinite }) else {
            throw ModelDescriptionError("normalization needs \(input.channels) finite mean/std values with std > 0")
        }
        var names = Set<String>()
        for p in parameterShapes() {
            guard names.insert(p.name).inserted else {
                throw ModelDescriptionError("parameter '\(p.name)' is defined twice")
            }
        }
        let outShape = try Self.walk(layers, [input.channels, input.height, input.width])
        if outShape.count == 1 && !classes.isEmpty && outShape[0] != classes.count {
            throw ModelDescriptionError("model outputs \(outShape[0]) values but has \(classes.count) class names")
        }
        return outShape
    }

    /// Output shape per sample of `layers` on an input of shape `shape` (`[C,H,W]` or `[F]`).
    static func walk(_ layers: [LayerSpec], _ start: [Int]) throws -> [Int] {
        var shape = start
        for layer in layers {
            switch layer {
            case .conv(let c):
                guard shape.count == 3 else { throw ModelDescriptionError("conv '\(c.name)' needs an image input, got \(shape)") }
                guard c.inChannels == shape[0] else {
                    throw ModelDescriptionError("conv '\(c.name)' expects \(c.inChannels) input channels, gets \(shape[0])")
                }
                guard c.groups >= 1, c.inChannels % c.groups == 0, c.outChannels % c.groups == 0 else {
                    throw ModelDescriptionError("conv '\(c.name)': groups \(c.groups) must divide in \(c.inChannels) and out \(c.outChannels)")
                }
                guard c.kernel >= 1, c.stride >= 1, c.padding >= 0, c.outChannels >= 1 else {
                    throw ModelDescriptionError("conv '\(c.name)': kernel, stride must be ≥ 1 and padding ≥ 0")
                }
                if c.isDynamic {
                    guard let a = c.attention, a.hidden >= 1, c.kernels >= 1,
                          a.temperature > 0, a.temperature.isFinite else {
                        throw ModelDescriptionError("dynamic conv '\(c.name)' needs kernels ≥ 1 and an attention spec (hidden ≥ 1, temperature > 0)")
                    }
                } else if c.kernels != 1 || c.attention != nil {
                    throw ModelDescriptionError("static conv '\(c.name)' must have kernels = 1 and no attention")
                }
                let h = (shape[1] + 2 * c.padding - c.kernel) / c.stride + 1
                let w = (shape[2] + 2 * c.padding - c.kernel) / c.stride + 1
                guard shape[1] + 2 * c.padding >= c.kernel, shape[2] + 2 * c.padding >= c.kernel, h > 0, w > 0 else {
                    throw ModelDescriptionError("conv '\(c.name)': kernel \(c.kernel) larger than padded input \(shape)")
                }
                shape = [c.outChannels, h, w]
            case .batchNorm(let b):
                guard shape.count == 3, b.channels == shape[0] else {
                    throw ModelDescriptionError("batchnorm '\(b.name)' has \(b.channels) channels, input is \(shape)")
                }
                guard b.eps > 0, b.eps.isFinite else { throw ModelDescriptionError("batchnorm '\(b.name)': eps must be a finite number > 0") }
            case .activation:
                break
            case .maxPool(let p), .avgPool(let p):
                guard shape.count == 3, p.kernel >= 1, p.stride >= 1, p.padding >= 0, p.padding * 2 <= p.kernel,
                      shape[1] + 2 * p.padding >= p.kernel, shape[2] + 2 * p.padding >= p.kernel else {
                    throw ModelDescriptionError("pool \(p) does not fit input \(shape)")
                }
                shape = [shape[0], (shape[1] + 2 * p.padding - p.kernel) / p.stride + 1,
                         (shape[2] + 2 * p.padding - p.kernel) / p.stride + 1]
            case .globalAvgPool:
                guard shape.count == 3 else { throw ModelDescriptionError("gap needs an image input, got \(shape)") }
                shape = [shape[0]]
            case .linear(let l):
                let features = shape.reduce(1, *)
                guard l.inFeatures == features, l.outFeatures >= 1 else {
                    throw ModelDescriptionError("linear '\(l.name)' expects \(l.inFeatures) inputs, gets \(features)")
                }
                shape = [l.outFeatures]
            case .residual(let body, let shortcut):
                let a = try walk(body, shape)
                let b = try walk(shortcut, shape)
                guard a == b else {
                    throw ModelDescriptionError("residual block: body gives \(a), shortcut gives \(b)")
                }
                shape = a
            }
        }
        return shape
    }
}

/// A description that does not describe a runnable network.
public struct ModelDescriptionError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
