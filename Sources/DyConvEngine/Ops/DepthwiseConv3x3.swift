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
            let taps = (0..<9).map { Vec.V(repeating: k[$0]) }
            let b = bias?[c] ?? 0
            let bv = Vec.V(repeating: b)
            let out = y + c * ho * wo
            for oh in 0..<ho {
                let r0 = plane + oh * s * rowLength, r1 = r0 + rowLength, r2 = r1 + rowLength
                let d = out + oh * wo
                // Tap (ki, kj) of output ow reads padded (oh·s + ki, ow·s + kj): stride 1 at
                // ow + kj; stride 2 at even[ow], odd[ow], even[ow + 1] for kj = 0, 1, 2.
                let (o0, o1, o2) = s == 1 ? (0, 1, 2) : (0, half, 1)
                var ow = 0
                while ow + Vec.width <= wo {
                    var acc = bv
                    acc += taps[0] * Vec.load(r0 + o0, ow); acc += taps[1] * Vec.load(r0 + o1, ow)
                    acc += taps[2] * Vec.load(r0 + o2, ow)
                    acc += taps[3] * Vec.load(r1 + o0, ow); acc += taps[4] * Vec.load(r1 + o1, ow)
                    acc += taps[5] * Vec.load(r1 + o2, ow)
                    acc += taps[6] * Vec.load(r2 + o0, ow); acc += taps[7] * Vec.load(r2 + o1, ow)
                    acc += taps[8] * Vec.load(r2 + o2, ow)
                    Vec.store(Self.activate(acc, activation), d, ow)
                    ow += Vec.width
                }
                while ow < wo {
                    var acc = b
                    acc += k[0] * r0[o0 + ow]; acc += k[1] * r0[o1 + ow]; acc += k[2] * r0[o2 + ow]
                    acc += k[3] * r1[o0 + ow]; acc += k[4] * r1[o1 + ow]; acc += k[5] * r1[o2 + ow]
                    acc += k[6] * r2[o0 + ow]; acc += k[7] * r2[o1 + ow]; acc += k[8] * r2[o2 + ow]
                    d[ow] = Self.activate(Vec.V(repeating: acc), activation)[0]
                    ow += 1
                }
            }
        }
    }

    /// The activation of eight values (the same functions as `biasActivation`).
    @inline(__always)
    static func activate(_ v: Vec.V, _ kind: ActivationKind?) -> Vec.V {
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
