/// Seeded random parameters, for benchmarks, tests and untrained demos.
extension Model {
    /// A model with reproducible random weights: Kaiming-normal (fan-out) convolutions and attention
    /// FCs, BatchNorm γ = 1, β = 0 with running mean 0 and variance 1, PyTorch-default linear layers.
    public static func seededRandom(_ description: ModelDescription, seed: UInt64) -> Model {
        // A description from `Families` always validates; a bad hand-made one is a programming error.
        try! Model(description: description, parameters: seededParameters(description, seed: seed))
    }

    /// The parameter dictionary `seededRandom` uses.
    public static func seededParameters(_ description: ModelDescription, seed: UInt64) -> [String: Tensor] {
        var rng = SeededGenerator(seed: seed)
        var p: [String: Tensor] = [:]
        func normal(_ shape: [Int], std: Float) -> Tensor {
            var t = Tensor.zeros(shape)
            for i in 0..<t.count { t.data[i] = rng.nextNormal() * std }
            return t
        }
        func uniform(_ shape: [Int], bound: Float) -> Tensor {
            var t = Tensor.zeros(shape)
            for i in 0..<t.count { t.data[i] = (rng.nextUnitFloat() * 2 - 1) * bound }
            return t
        }
        func visit(_ layers: [LayerSpec]) {
            for layer in layers {
                switch layer {
                case .conv(let c):
                    let kernelShape = [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]
                    let std = (2 / Float(c.outChannels * c.kernel * c.kernel)).squareRoot()
                    if c.isDynamic, let a = c.attention {
                        p["\(c.name).weight"] = normal([c.kernels] + kernelShape, std: std)
                        if c.bias { p["\(c.name).bias"] = .zeros([c.kernels, c.outChannels]) }
                        p["\(c.name).attention.fc1.weight"] = normal([a.hidden, c.inChannels],
                                                                     std: (2 / Float(a.hidden)).squareRoot())
                        if a.fc1Bias { p["\(c.name).attention.fc1.bias"] = .zeros([a.hidden]) }
                        p["\(c.name).attention.fc2.weight"] = normal([c.kernels, a.hidden],
                                                                     std: (2 / Float(c.kernels)).squareRoot())
                        p["\(c.name).attention.fc2.bias"] = .zeros([c.kernels])
                    } else {
                        p["\(c.name).weight"] = normal(kernelShape, std: std)
                        if c.bias { p["\(c.name).bias"] = .zeros([c.outChannels]) }
                    }
                case .batchNorm(let b):
                    p["\(b.name).weight"] = Tensor(shape: [b.channels], repeating: 1)
                    p["\(b.name).bias"] = .zeros([b.channels])
                    p["\(b.name).running_mean"] = .zeros([b.channels])
                    p["\(b.name).running_var"] = Tensor(shape: [b.channels], repeating: 1)
                case .linear(let l):
                    let bound = 1 / Float(l.inFeatures).squareRoot()
                    p["\(l.name).weight"] = uniform([l.outFeatures, l.inFeatures], bound: bound)
                    if l.bias { p["\(l.name).bias"] = uniform([l.outFeatures], bound: bound) }
                case .residual(let body, let shortcut):
                    visit(body); visit(shortcut)
                case .activation, .maxPool, .avgPool, .globalAvgPool:
                    break
                }
            }
        }
        visit(description.layers)
        return p
    }
}
