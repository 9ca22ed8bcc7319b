/// The one sequential colour scale of dyconv, for screens and figures alike: viridis
/// (dark violet → blue → green → yellow), which stays ordered in grey-scale and for the common
/// colour-vision deficiencies. The visualizer's `HeatScale` and the report's heat maps both read
/// these stops, so a value has the same colour on the terminal and in an SVG.
public enum Viridis {
    /// viridis at 0, 1/8, …, 1, as 8-bit RGB.
    public static let stops: [(red: UInt8, green: UInt8, blue: UInt8)] = [
        (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
        (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
    ]

    /// The colour of `f` in 0…1 (clamped; NaN → 0), linearly interpolated between the stops.
    public static func rgb(_ f: Double) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let v = f.isFinite ? min(max(f, 0), 1) : 0
        let x = v * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2)
        let t = x - Double(i)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - t) + Double(b) * t).rounded()) }
        let a = stops[i], b = stops[i + 1]
        return (mix(a.red, b.red), mix(a.green, b.green), mix(a.blue, b.blue))
    }
}
