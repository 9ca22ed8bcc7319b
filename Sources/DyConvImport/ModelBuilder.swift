import DyConvEngine

/// Builds a dyconv description and its parameters layer by layer from a `StateDictReader`.
///
/// A dyconv layer is named by its PyTorch module path (`layer1.0.conv1`), so every layer a user
/// sees in `dyconv inspect` or the TUI traces back to their code; its tensors get dyconv's
/// suffixes (`weight`, `bias`, `attention.fc1.weight`, …, `running_var`), FC weights stored 2-D.
///
/// Widths, K, groups, kernel size and attention hidden sizes come from the tensors and are
/// cross-checked (the caller passes the channels flowing in; a mismatch is reported by tensor);
/// stride, padding and which convolutions are dynamic come from the preset, which knows the code.
public struct ModelBuilder {
    /// The tensors of the source file.
    public var reader: StateDictReader
    /// The tensors taken so far, under their dyconv names.
    public private(set) var parameters: [String: Tensor] = [:]
    /// What the user said on the command line.
    public let options: ImportOptions

    /// A builder over `reader` with the user's options.
    public init(reader: StateDictReader, options: ImportOptions) {
        self.reader = reader
        self.options = options
    }

    /// The source file, for messages.
    public var file: String { reader.file }

    // MARK: Layers

    /// A static `nn.Conv2d` at `module` (`module.weight [out, in/groups, k, k]`, optional
    /// `module.bias [out]`) fed `inChannels` channels. `bias`: true requires it, false leaves any
    /// to be reported as unexpected, nil takes it when present.
    public mutating func conv(_ module: String, inChannels: Int, stride: Int, padding: Int,
                              bias: Bool?) throws(ImportError) -> ConvSpec {
        let what = "nn.Conv2d needs weight [out, in/groups, k, k]"
        let key = "\(module).weight"
        let weight = try reader.take(key, rank: 4, what: what)
        let (out, perGroup, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        let groups = try self.groups(key, inChannels: inChannels, perGroup: perGroup, out: out)
        try square(key, weight.shape[2], weight.shape[3])
        parameters["\(module).weight"] = weight
        let hasBias = try takeBias(module, key: "\(module).bias", shape: [out], wanted: bias,
                                   what: "nn.Conv2d bias [out]")
        return ConvSpec(name: module, inChannels: inChannels, outChannels: out, kernel: k, stride: stride,
                        padding: padding, groups: groups, bias: hasBias)
    }

    /// A dynamic convolution at `module` in `layout`'s names, fed `inChannels` channels.
    ///
    /// K is the kernel bank's first dimension; the attention's hidden width is FC1's output,
    /// checked against FC2 and against the layout's rule; `temperature` is the τ to record
    /// (from `--tau` or the preset's default, the state_dict has none).
    public mutating func dynamicConv(_ module: String, layout: DynamicConvLayout, inChannels: Int,
                                     stride: Int, padding: Int, bias: Bool?, routing: Routing,
                                     temperature: Float) throws(ImportError) -> ConvSpec {
        let p = "\(module)."
        let weightKey = p + layout.weight
        let weight = try reader.take(weightKey, rank: 5, what: "\(layout.module) needs \(layout.weight) [K, out, in/groups, k, k]")
        let (kernels, out, perGroup, k) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        guard kernels >= 1 else {
            throw ImportError(.inconsistent, file: file, tensor: weightKey, "has K = 0 kernels")
        }
        let groups = try self.groups(weightKey, inChannels: inChannels, perGroup: perGroup, out: out)
        try square(weightKey, weight.shape[3], weight.shape[4])
        parameters["\(module).weight"] = weight

        let hasBias = try takeBias(module, key: p + layout.bias, shape: [kernels, out], wanted: bias,
                                   what: "\(layout.module) bias [K, out]")
        // FC1 gives the hidden width; its input must be the conv's input.
        let fc1Key = p + layout.fc1Weight
        guard let fc1Shape = reader.shape(of: fc1Key), let hidden = fc1Shape.first, hidden >= 1 else {
            _ = try reader.take(fc1Key, rank: 2, what: "\(layout.module) needs \(layout.fc1Weight) [hidden, in] or [hidden, in, 1, 1]")
            throw ImportError(.shapeMismatch, file: file, tensor: fc1Key, "is empty")
        }
        if let rule = layout.hidden, rule(inChannels, kernels) != hidden {
            throw ImportError(.inconsistent, file: file, tensor: fc1Key,
                "has hidden width \(hidden), but \(layout.module) with \(inChannels) input channels and K = \(kernels) makes \(rule(inChannels, kernels)) (\(layout.hiddenRule))")
        }
        let what1 = "\(layout.module) attention FC1 [hidden, in] for in = \(inChannels)"
        parameters["\(module).attention.fc1.weight"] = try reader.take(
            fc1Key, oneOf: [[hidden, inChannels], [hidden, inChannels, 1, 1]], what: what1)
        let fc1Bias: Bool
        switch layout.fc1HasBias {
        case .some(true): fc1Bias = true
        case .some(false): fc1Bias = false
        case .none: fc1Bias = reader.has(p + layout.fc1Bias)
        }
        if fc1Bias {
            parameters["\(module).attention.fc1.bias"] = try reader.take(p + layout.fc1Bias, shape: [hidden],
                                                                         what: "\(layout.module) attention FC1 bias [hidden]")
        }
        parameters["\(module).attention.fc2.weight"] = try reader.take(
            p + layout.fc2Weight, oneOf: [[kernels, hidden], [kernels, hidden, 1, 1]],
            what: "\(layout.module) attention FC2 [K, hidden] with K = \(kernels) from \(layout.weight), hidden = \(hidden) from FC1")
        parameters["\(module).attention.fc2.bias"] = try reader.take(
            p + layout.fc2Bias, shape: [kernels], what: "\(layout.module) attention FC2 bias [K] with K = \(kernels)")

        guard routing != .static else {
            throw ImportError(.inconsistent, file: file, tensor: weightKey, "is a kernel bank, but the routing asked for is static")
        }
        guard Limits.isValidTemperature(temperature) else {
            throw ImportError(.invalidOption, file: "--tau", Limits.temperatureRangeText)
        }
        return ConvSpec(name: module, inChannels: inChannels, outChannels: out, kernel: k, stride: stride,
                        padding: padding, groups: groups, bias: hasBias, routing: routing, kernels: kernels,
                        attention: AttentionSpec(hidden: hidden, fc1Bias: fc1Bias, temperature: temperature))
    }

    /// `nn.BatchNorm2d` at `module` over `channels` channels: `weight`, `bias`, `running_mean`,
    /// `running_var`, each `[channels]` (`num_batches_tracked` was skipped by the reader).
    public mutating func batchNorm(_ module: String, channels: Int, eps: Float = 1e-5) throws(ImportError) -> BatchNormSpec {
        for suffix in ["weight", "bias", "running_mean", "running_var"] {
            let t = try reader.take("\(module).\(suffix)", shape: [channels],
                                    what: "nn.BatchNorm2d after \(channels) channels needs \(suffix) [\(channels)]")
            if suffix == "running_var", let bad = t.data.first(where: { !($0 >= 0) }) {
                throw ImportError(.inconsistent, file: file, tensor: "\(module).running_var",
                                  "holds \(bad); a variance is never negative")
            }
            parameters["\(module).\(suffix)"] = t
        }
        return BatchNormSpec(name: module, channels: channels, eps: eps)
    }

    /// `nn.Linear` at `module` on `inFeatures` inputs; the output width comes from the weight.
    public mutating func linear(_ module: String, inFeatures: Int, bias: Bool? = nil) throws(ImportError) -> LinearSpec {
        let key = "\(module).weight"
        let weight = try reader.take(key, rank: 2, what: "nn.Linear needs weight [out, in] with in = \(inFeatures)")
        guard weight.shape[1] == inFeatures, weight.shape[0] >= 1 else {
            throw ImportError(.shapeMismatch, file: file, tensor: key,
                "has shape \(ImportError.format(weight.shape)), expected [out, \(inFeatures)] (nn.Linear fed \(inFeatures) features)")
        }
        let out = weight.shape[0]
        parameters[key] = weight
        let hasBias = try takeBias(module, key: "\(module).bias", shape: [out], wanted: bias, what: "nn.Linear bias [out]")
        return LinearSpec(name: module, inFeatures: inFeatures, outFeatures: out, bias: hasBias)
    }

    /// Stores `tensor` as the dyconv parameter `name`.
    mutating func setParameter(_ name: String, _ tensor: Tensor) { parameters[name] = tensor }

    // MARK: Checks

    /// Groups = in / (in per group), which must divide in and out exactly.
    private func groups(_ key: String, inChannels: Int, perGroup: Int, out: Int) throws(ImportError) -> Int {
        guard inChannels >= 1, perGroup >= 1, inChannels % perGroup == 0, out >= 1, out % (inChannels / perGroup) == 0 else {
            throw ImportError(.inconsistent, file: file, tensor: key,
                "takes \(perGroup) input channels per group and gives \(out), but the layer before gives \(inChannels) channels")
        }
        return inChannels / perGroup
    }

    private func square(_ key: String, _ a: Int, _ b: Int) throws(ImportError) {
        guard a == b, a >= 1 else {
            throw ImportError(.shapeMismatch, file: file, tensor: key, "has a \(a)×\(b) kernel; dyconv runs square kernels")
        }
    }

    /// Takes an optional bias by the rule of `wanted` (see `conv`); returns whether there is one.
    private mutating func takeBias(_ module: String, key: String, shape: [Int], wanted: Bool?,
                                   what: String) throws(ImportError) -> Bool {
        let take = wanted ?? reader.has(key)
        if take { parameters["\(module).bias"] = try reader.take(key, shape: shape, what: what) }
        return take
    }
}
