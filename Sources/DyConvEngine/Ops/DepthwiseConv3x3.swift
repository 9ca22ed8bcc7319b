/// Depthwise 3×3 convolutions (padding 1, stride 1 or 2, one output channel per input channel:
/// MobileNetV2's middle layers) with all nine taps accumulated in registers.
///
/// The general depthwise kernel (`depthwiseConv2dSample`) adds one scaled input row to the
/// output row per tap, so every output row is loaded and stored nine times, and a stride-2 tap
/// reads every other float one at a time. Here each channel is first copied into a zero-bordered
/// plane — for stride 2 split into its even and odd columns, so that every tap reads consecutive
/// floats — and each group of eight outputs is then computed as
/// `act(b + Σ_taps w · x)` in one pass, in the general kernel's order of taps (row by row), so
/// the sums are the same.
enum DepthwiseConv3x3 {
    /// Whether `g` runs here.
    static func applies(_ g: ConvGeometry) -> Bool {
        g.isDepthwise && g.groupOut == 1 && g.kernel == 3 && g.padding == 1 && (g.stride == 1 || g.stride == 2)
    }

    /// y = act(depthwise(x, w) + bias) for the channels of `g` (see `depthwiseConv2dSample`).
    static func convolve(_ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                         bias: UnsafePointer<Float>?, activation: ActivationKind?, y: UnsafeMutablePointer<Float>) {
        let (h, wd, s) = (g.height, g.width, g.stride)
        let (ho, wo) = (g.outHeight, g.outWidth)
        // Padded rows: stride 1 keeps one row of wd + 2 floats; stride 2 an even half (padded
        // columns 0, 2, …) and an odd half (1, 3, …), each `half` floats. 8 floats of slack.
        let half = (wd + 3) / 2
        let rowLength = (s == 1 ? wd + 2 : 2 * half) + 8
        let plane = UnsafeMutablePointer<Float>.allocate(capacity: (h + 2) * rowLength)
        defer { plane.deallocate() }
        plane.update(repeating: 0, count: (h + 2) * rowLength)   // borders stay zero: only pixels are written
        for c in 0..<g.outChannels {
            let src = x + c * h * wd
            for r in 0..<h {
                let row = plane + (r + 1) * rowLength
                if s == 1 {
                    Vec.copy(src + r * wd, row + 1, count: wd)
                } else {
                    // Padded column j + 1 holds pixel j: odd padded columns are the even pixels.
                    let even = row, odd = row + half
                    var j = 0
                    while j + 1 < wd { odd[j / 2] = src[r * wd + j]; even[j / 2 + 1] = src[r * wd + j + 1]; j += 2 }
                    if j < wd { odd[j / 2] = src[r * wd + j] }
                }
            }
            let k = w + c * 9
            let (w0, w1, w2) = (Vec.V(repeating: k[0]), Vec.V(repeating: k[1]), Vec.V(repeating: k[2]))
            let (w3, w4, w5) = (Vec.V(repeating: k[3]), Vec.V(repeating: k[4]), Vec.V(repeating: k[5]))
            let (w6, w7, w8) = (Vec.V(repeating: k[6]), Vec.V(repeating: k[7]), Vec.V(repeating: k[8]))
            let bv = Vec.V(repeating: bias?[c] ?? 0)
            let out = y + c * ho * wo
            // Tap (ki, kj) of output ow reads padded (oh·s + ki, ow·s + kj): stride 1 at
            // ow + kj; stride 2 at even[ow], odd[ow], even[ow + 1] for kj = 0, 1, 2.
            let (o0, o1, o2) = s == 1 ? (0, 1, 2) : (0, half, 1)
            for oh in 0..<ho {
                let r0 = plane + oh * s * rowLength, r1 = r0 + rowLength, r2 = r1 + rowLength
                let d = out + oh * wo
                @inline(__always) func eight(_ ow: Int) -> Vec.V {
                    var acc = bv
                    acc += w0 * Vec.load(r0 + o0, ow); acc += w1 * Vec.load(r0 + o1, ow); acc += w2 * Vec.load(r0 + o2, ow)
                    acc += w3 * Vec.load(r1 + o0, ow); acc += w4 * Vec.load(r1 + o1, ow); acc += w5 * Vec.load(r1 + o2, ow)
                    acc += w6 * Vec.load(r2 + o0, ow); acc += w7 * Vec.load(r2 + o1, ow); acc += w8 * Vec.load(r2 + o2, ow)
                    return Self.activate(acc, activation)
                }
                var ow = 0
                while ow + Vec.width <= wo {
                    Vec.store(eight(ow), d, ow)
                    ow += Vec.width
                }
                if ow < wo {
                    // The last outputs as one vector: its loads stay inside the row's 8 floats of
                    // slack, and only the lanes that are outputs are stored.
                    let v = eight(ow)
                    for lane in 0..<(wo - ow) { d[ow + lane] = v[lane] }
                }
            }
        }
    }

    /// The activation of eight values (the same functions as `biasActivation`).
    @inline(__always)
    private static func activate(_ v: Vec.V, _ kind: ActivationKind?) -> Vec.V {
        let zero = Vec.V(), six = Vec.V(repeating: 6)
        switch kind {
        case .none: return v
        case .relu?: return v.replacing(with: zero, where: v .< zero)
        case .relu6?: return v.replacing(with: zero, where: v .< zero).replacing(with: six, where: v .> six)
        case .hardswish?:
            var t = v + Vec.V(repeating: 3)
            t = t.replacing(with: zero, where: t .< zero)
            t = t.replacing(with: six, where: t .> six)
            return v * t * Vec.V(repeating: 1.0 / 6.0)
        }
    }
}
