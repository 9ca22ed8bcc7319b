import DyConvEngine

/// The tensor names of one public dynamic-convolution module, relative to the module's path,
/// and what its code says about the attention branch.
///
/// dyconv's own names are `weight [K, out, in/g, k, k]`, `bias [K, out]`,
/// `attention.fc1.weight [hidden, in]`, `attention.fc1.bias`, `attention.fc2.weight [K, hidden]`,
/// `attention.fc2.bias [K]`; a layout says where each lives in another code base. FC weights may
/// be Linear `[o, i]` or 1×1-conv `[o, i, 1, 1]`: both are read, and stored 2-D.
public struct DynamicConvLayout: Sendable {
    /// The module's name in messages ("kaijieshi7 Dynamic_conv2d").
    public var module: String
    /// The kernel bank `[K, out, in/groups, k, k]`.
    public var weight: String
    /// The per-kernel bias `[K, out]` (when the module has one).
    public var bias: String
    /// The attention's first layer, `[hidden, in]` or `[hidden, in, 1, 1]`.
    public var fc1Weight: String
    /// Its bias `[hidden]`.
    public var fc1Bias: String
    /// The attention's second layer, `[K, hidden]` or `[K, hidden, 1, 1]`.
    public var fc2Weight: String
    /// Its bias `[K]` (every layout here has one; the engine needs it).
    public var fc2Bias: String
    /// Whether the code's FC1 has a bias: true or false is enforced, nil is read from the file.
    public var fc1HasBias: Bool?
    /// The hidden width the code gives for `in` channels and K kernels, checked against the
    /// tensors; nil when the code has no fixed rule.
    public var hidden: (@Sendable (_ inChannels: Int, _ kernels: Int) -> Int)?
    /// How `hidden` reads, for the message when it disagrees ("int(in·0.25)+1, K for in = 3").
    public var hiddenRule: String

    public init(module: String, weight: String, bias: String, fc1Weight: String, fc1Bias: String,
                fc2Weight: String, fc2Bias: String, fc1HasBias: Bool?,
                hidden: (@Sendable (Int, Int) -> Int)?, hiddenRule: String) {
        self.module = module; self.weight = weight; self.bias = bias
        self.fc1Weight = fc1Weight; self.fc1Bias = fc1Bias; self.fc2Weight = fc2Weight; self.fc2Bias = fc2Bias
        self.fc1HasBias = fc1HasBias; self.hidden = hidden; self.hiddenRule = hiddenRule
    }

    /// dyconv's own names (tools/dyconv_torch.py `DynamicConv2d`, the engine's checkpoints):
    /// FC1's bias is optional (`fc1Bias` in the description), the hidden width free.
    public static let dyconv = DynamicConvLayout(
        module: "dyconv DynamicConv2d", weight: "weight", bias: "bias",
        fc1Weight: "attention.fc1.weight", fc1Bias: "attention.fc1.bias",
        fc2Weight: "attention.fc2.weight", fc2Bias: "attention.fc2.bias",
        fc1HasBias: nil, hidden: nil, hiddenRule: "")

    /// kaijieshi7/Dynamic-convolution-Pytorch `Dynamic_conv2d` with its `attention2d`: FC1 a 1×1
    /// conv without bias, FC2 a 1×1 conv with bias, hidden = int(in·ratio)+1 with the default
    /// ratio 0.25, except K when in = 3 (an RGB input).
    public static let kaijieshi7 = DynamicConvLayout(
        module: "kaijieshi7 Dynamic_conv2d", weight: "weight", bias: "bias",
        fc1Weight: "attention.fc1.weight", fc1Bias: "attention.fc1.bias",
        fc2Weight: "attention.fc2.weight", fc2Bias: "attention.fc2.bias",
        fc1HasBias: false,
        hidden: { inChannels, kernels in inChannels == 3 ? kernels : Int(Double(inChannels) * 0.25) + 1 },
        hiddenRule: "int(in·0.25)+1, or K when in = 3")
}
