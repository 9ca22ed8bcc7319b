import XCTest
@testable import DyConvEngine
import DyConvTestSupport

/// A dynamic convolution with K = 1 (the format allows it): the layer still mixes a whole kernel
/// (`per` floats) per sample, so every buffer must be sized for it (issue 8, item 1).
final class KernelCountOneTests: XCTestCase {
    /// conv (K = 1, routing given) → GAP → linear, on `channels` input channels.
    func description(routing: Routing, channels: Int, groups: Int) -> ModelDescription {
        let conv = ConvSpec(name: "dyn", inChannels: channels, outChannels: channels, kernel: 3, padding: 1,
                            groups: groups, bias: true, routing: routing, kernels: 1,
                            attention: routing == .static ? nil : AttentionSpec(hidden: 3, fc1Bias: true))
        return ModelDescription(family: "k1", input: InputSpec(channels: channels, height: 9, width: 8),
                                normalization: Normalization(mean: Array(repeating: 0, count: channels),
                                                             std: Array(repeating: 1, count: channels)),
                                classes: ["a", "b"],
                                layers: [.conv(conv), .activation(.relu), .globalAvgPool,
                                         .linear(LinearSpec(name: "fc", inFeatures: channels, outFeatures: 2))])
    }

    /// Oracle: the naive interpreter (Σ_k π_k conv(x, W_k) with K = 1), and for softmax routing
    /// (π = 1 exactly) the static convolution with the same kernel. 32 channels make the mixed
    /// kernel 9 216 floats, so the old one-float buffer corrupted the heap (SIGABRT / SIGSEGV).
    func testDynamicConvWithOneKernelEqualsNaiveAndStaticConv() throws {
        for (channels, groups) in [(4, 1), (32, 1), (32, 32)] {   // im2col, implicit GEMM, depthwise
            for routing in [Routing.softmax, .sigmoid] {
                let d = description(routing: routing, channels: channels, groups: groups)
                let p = NaiveModel.randomParameters(d, seed: 7)
                let m = try Model(description: d, parameters: p)
                for batch in [1, 3] {
                    let x = randomTensor([batch, channels, 9, 8], seed: 11)
                    let trace = m.forward(x)
                    let ref = NaiveModel.forward(d, p, x)
                    XCTAssertLessThan(trace.logits.maxAbsDifference(ref.logits), 1e-4, "\(routing) \(channels)/\(groups) N=\(batch)")
                    XCTAssertEqual(trace.layers[0].kernels, 1)
                    if routing == .softmax {
                        XCTAssertTrue(trace.layers[0].attention.allSatisfy { $0 == 1 }, "softmax over one kernel is 1")
                        var staticParameters = p
                        for suffix in ["attention.fc1.weight", "attention.fc1.bias", "attention.fc2.weight", "attention.fc2.bias"] {
                            staticParameters["dyn.\(suffix)"] = nil
                        }
                        staticParameters["dyn.weight"] = p["dyn.weight"]!.reshaped(Array(p["dyn.weight"]!.shape.dropFirst()))
                        staticParameters["dyn.bias"] = p["dyn.bias"]!.reshaped([channels])
                        let s = try Model(description: description(routing: .static, channels: channels, groups: groups),
                                          parameters: staticParameters)
                        XCTAssertLessThan(s.forward(x).logits.maxAbsDifference(trace.logits), 1e-5, "static \(channels)/\(groups)")
                    }
                }
            }
        }
    }
}
