#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Where the simplex panel puts a coefficient vector, for every K: pure math, no drawing, so
// what the panel promises (exactness for K ≤ 3, a rotatable regular tetrahedron for K = 4, a
// documented radial plot for K > 4) is tested here directly.
//
// Screen coordinates are unit-scaled, x to the right, y downwards; `depth` grows towards the
// viewer (0 for the flat shapes). A vector c is always placed as c / Σc: for softmax π that is
// π itself; for CondConv's sigmoid r (a point of the cube [0, 1]^K, not of the simplex) it is
// the direction r / Σr, and Σr must be shown apart (the panel's gauge and ◉ mark), never folded
// into the position — otherwise r = (.5, .5, .5, .5), Σr = 2, would sit where uniform π sits
// and look like it.

/// The K vertices of a regular polygon, vertex 1 at the top, clockwise, unit circumradius:
/// the triangle for K = 3, a vertical segment for K = 2, and the spoke directions of the
/// radial plot for K > 4.
public func simplexVertices(_ k: Int) -> [(x: Double, y: Double)] {
    guard k > 0 else { return [] }
    return (0..<k).map { i in
        let a = 2 * Double.pi * Double(i) / Double(k)
        return (x: sin(a), y: -cos(a))
    }
}

/// Whether a coefficient vector is on the probability simplex (non-negative, Σ = 1 within `tolerance`).
func isOnSimplex<C: Collection>(_ c: C, tolerance: Float = 0.02) -> Bool where C.Element == Float {
    var sum: Float = 0
    for v in c { if v < -1e-6 { return false }; sum += v }
    return abs(sum - 1) <= tolerance
}

/// Σ_k c_k in double precision (NaN when any value is NaN; ±inf passes through).
func coefficientSum<C: Collection>(_ c: C) -> Double where C.Element == Float {
    var s = 0.0
    for v in c { s += Double(v) }
    return s
}

/// A point in 3D: x right, y up, z towards the viewer.
public struct Point3: Equatable, Sendable {
    public var x, y, z: Double
    public init(_ x: Double, _ y: Double, _ z: Double) { self.x = x; self.y = y; self.z = z }

    /// Euclidean distance.
    public func distance(to o: Point3) -> Double {
        let dx = x - o.x, dy = y - o.y, dz = z - o.z
        return (dx * dx + dy * dy + dz * dz).squareRoot()
    }
}

/// A point on screen (unit scale, y down) and its depth (towards the viewer; 0 when flat).
public struct ProjectedPoint: Equatable, Sendable {
    public var x, y, depth: Double
    public init(x: Double, y: Double, depth: Double = 0) { self.x = x; self.y = y; self.depth = depth }
}

/// How the K kernels are laid out.
public enum SimplexShape: Equatable, Sendable {
    /// K = 1: π₁ = 1 always, nothing to show.
    case single
    /// K = 2: the segment from vertex 1 (top) to vertex 2 (bottom); exact.
    case segment
    /// K = 3: an equilateral triangle, barycentric; exact.
    case triangle
    /// K = 4: a regular tetrahedron in 3D, rotated and projected orthographically.
    case tetrahedron
    /// K > 4: one spoke per kernel, πₖ as the distance along spoke k (0 centre, 1 tip), with a
    /// ring at 1/K where every spoke point of uniform π lies.
    ///
    /// What it preserves: every πₖ exactly, so the current image's polygon (its K spoke points
    /// joined) determines π; a peaked π has one long spoke, a flat one sits on the ring, and no
    /// two different π draw the same polygon. Its single mark (●) is the tip of its largest
    /// share, max πₖ along spoke argmax — flat at 1/K, peaked far out. The cloud draws each
    /// image's K spoke points: the per-kernel distributions, not which dots belong together.
    case radial

    public init(kernels k: Int) {
        switch k {
        case ...1: self = .single
        case 2: self = .segment
        case 3: self = .triangle
        case 4: self = .tetrahedron
        default: self = .radial
        }
    }
}

/// The regular tetrahedron, unit circumradius, centred at the origin: vertex 1 straight up,
/// vertices 2–4 around the base (y = −1/3) at 0°, 120°, 240° from the viewer's side.
///
/// Every edge is √(8/3) long. Vertex 1 up makes the yaw keys turn the tetrahedron about the
/// axis through vertex 1, and the opposite-edge axes (the lines through uniform π and the
/// midpoints such as (.5, 0, .5, 0)) stand 54.7° from it: a view pitched by 15° is never
/// along one of them, so at the default pitch no yaw maps an edge midpoint onto uniform π.
public let tetrahedronVertices: [Point3] = {
    let r = 8.0.squareRoot() / 3
    return [Point3(0, 1, 0)] + (0..<3).map { j in
        let a = 2 * Double.pi * Double(j) / 3
        return Point3(r * sin(a), -1.0 / 3, r * cos(a))
    }
}()

/// `p` turned by `yaw` about the vertical axis, then tilted by `pitch` about the horizontal
/// screen axis (positive pitch: the top comes towards the viewer, i.e. seen from above).
public func rotate(_ p: Point3, yaw: Double, pitch: Double) -> Point3 {
    let cy = cos(yaw), sy = sin(yaw)
    let x = p.x * cy + p.z * sy
    let z1 = -p.x * sy + p.z * cy
    let cp = cos(pitch), sp = sin(pitch)
    return Point3(x, p.y * cp - z1 * sp, p.y * sp + z1 * cp)
}

/// The projection of one layer's K-simplex for one view: where its vertices and any
/// coefficient vector land on screen.
public struct SimplexProjection: Sendable {
    public let kernels: Int
    public let shape: SimplexShape
    /// For the tetrahedron, the vertices after rotation (3D, before projection); else empty.
    public let rotatedVertices: [Point3]
    /// The vertices on screen (the spoke tips for the radial plot).
    public let vertices: [ProjectedPoint]
    /// The tilt of the tetrahedron (radians), which its bounds depend on.
    public let pitch: Double

    /// The projection of K kernels, the tetrahedron turned by `yaw` and `pitch` (radians).
    public init(kernels k: Int, yaw: Double = 0, pitch: Double = 0) {
        kernels = max(k, 0)
        shape = SimplexShape(kernels: k)
        self.pitch = pitch
        switch shape {
        case .single:
            rotatedVertices = []
            vertices = kernels == 1 ? [ProjectedPoint(x: 0, y: 0)] : []
        case .segment, .triangle, .radial:
            rotatedVertices = []
            vertices = simplexVertices(kernels).map { ProjectedPoint(x: $0.x, y: $0.y) }
        case .tetrahedron:
            let r = tetrahedronVertices.map { rotate($0, yaw: yaw, pitch: pitch) }
            rotatedVertices = r
            vertices = r.map { ProjectedPoint(x: $0.x, y: -$0.y, depth: $0.z) }
        }
    }

    /// The projection for a view of the panel (`SimplexView`'s yaw and pitch).
    public init(kernels k: Int, view: SimplexView) {
        self.init(kernels: k, yaw: view.yawRadians, pitch: view.pitchRadians)
    }

    /// The unit-scale box the shape is fitted by. For the tetrahedron, the box of every yaw at
    /// this pitch, so turning it (r R) never rescales or shifts it: vertex 1 is on the yaw axis
    /// at height cos(pitch); the base vertices run round a circle of radius √8/3 at height −1/3,
    /// seen at heights −cos(pitch)/3 ± (√8/3)·|sin(pitch)|, across x ∈ [−√8/3, √8/3].
    public var bounds: (minX: Double, maxX: Double, minY: Double, maxY: Double) {
        switch shape {
        case .single: return (-1, 1, -1, 1)
        case .segment: return (0, 0, -1, 1)
        case .triangle: return (-(3.0.squareRoot()) / 2, 3.0.squareRoot() / 2, -1, 0.5)
        case .radial: return (-1, 1, -1, 1)
        case .tetrahedron:
            let r = 8.0.squareRoot() / 3, c = cos(pitch), s = abs(sin(pitch))
            let top = max(c, -c / 3 + r * s), bottom = min(c, -c / 3 - r * s)
            return (-r, r, -top, -bottom)
        }
    }

    /// The edges drawn: polygon sides, the 6 tetrahedron edges, or the K spokes (as (k, k)).
    public var edges: [(Int, Int)] {
        switch shape {
        case .single: return []
        case .segment: return [(0, 1)]
        case .triangle: return [(0, 1), (1, 2), (2, 0)]
        case .tetrahedron: return [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        case .radial: return (0..<kernels).map { ($0, $0) }
        }
    }

    /// Whether edge (a, b) is seen, i.e. lies on a face turned towards the viewer (always for
    /// the flat shapes). The tetrahedron is centred at the origin, so the face opposite vertex
    /// i has its outward normal along −vᵢ and faces the viewer exactly when vᵢ is behind
    /// (z < 0); an edge is seen when one of its two faces is — those opposite the other two
    /// vertices.
    public func isFrontEdge(_ a: Int, _ b: Int) -> Bool {
        guard shape == .tetrahedron else { return true }
        return (0..<4).contains { i in i != a && i != b && rotatedVertices[i].z < 1e-9 }
    }

    /// Where c / Σc lands: the barycentric point Σ (cₖ/Σc) vₖ for K ≤ 4 (in 3D, then projected,
    /// for the tetrahedron); for the radial plot the point on the spoke of the largest share at
    /// that share. nil when it cannot be placed: a non-finite value, Σc ≤ 0, a length ≠ K.
    public func place<C: Collection>(_ c: C) -> ProjectedPoint? where C.Element == Float {
        if let p = c.withContiguousStorageIfAvailable({ place(buffer: $0) }) { return p }
        return Array(c).withUnsafeBufferPointer { place(buffer: $0) }
    }

    /// `place` of contiguous values: the one implementation, allocation-free for the cloud's
    /// loop over thousands of points per frame.
    public func place(buffer c: UnsafeBufferPointer<Float>) -> ProjectedPoint? {
        guard c.count == kernels, kernels > 0 else { return nil }
        var sum = 0.0, x = 0.0, y = 0.0, z = 0.0
        var best = 0, bestValue = -Double.infinity
        for k in 0..<kernels {
            let v = Double(c[k])
            sum += v
            x += v * vertices[k].x; y += v * vertices[k].y; z += v * vertices[k].depth
            if v > bestValue { best = k; bestValue = v }
        }
        guard sum.isFinite, sum > 1e-12 else { return nil }
        switch shape {
        case .single:
            return ProjectedPoint(x: 0, y: 0)
        case .segment, .triangle, .tetrahedron:
            return ProjectedPoint(x: x / sum, y: y / sum, depth: z / sum)
        case .radial:
            let share = bestValue / sum
            return ProjectedPoint(x: share * vertices[best].x, y: share * vertices[best].y)
        }
    }

    /// The radial plot's K points of c / Σc: (cₖ/Σc) along spoke k. nil as for `place`.
    public func spokePoints<C: Collection>(_ c: C) -> [ProjectedPoint]? where C.Element == Float {
        guard c.count == kernels, kernels > 0 else { return nil }
        let sum = coefficientSum(c)
        guard sum.isFinite, sum > 1e-12 else { return nil }
        return c.enumerated().map { k, v in
            let w = Double(v) / sum
            return ProjectedPoint(x: w * vertices[k].x, y: w * vertices[k].y)
        }
    }
}

/// The mapping of unit-scale screen coordinates onto a braille canvas (dots are square: a
/// cell is 2 × 4 dots and about twice as tall as wide).
struct CanvasFrame {
    let centerX: Double, centerY: Double, scale: Double

    /// The frame fitting `projection`'s bounds into `dotWidth × dotHeight` dots, leaving
    /// `marginX` / `marginY` dots on each side (room for vertex labels).
    init(_ projection: SimplexProjection, dotWidth: Int, dotHeight: Int, marginX: Double, marginY: Double) {
        let b = projection.bounds
        let w = Double(dotWidth - 1) - 2 * marginX, h = Double(dotHeight - 1) - 2 * marginY
        let bw = b.maxX - b.minX, bh = b.maxY - b.minY
        var s = Double.infinity
        if bw > 0 { s = min(s, w / bw) }
        if bh > 0 { s = min(s, h / bh) }
        scale = s.isFinite ? max(s, 0.5) : 1
        centerX = Double(dotWidth - 1) / 2 - (b.minX + b.maxX) / 2 * scale
        centerY = Double(dotHeight - 1) / 2 - (b.minY + b.maxY) / 2 * scale
    }

    /// The dot of a unit-scale point, nil when it cannot be placed (NaN, far off).
    func dot(_ x: Double, _ y: Double) -> (x: Int, y: Int)? {
        guard let dx = plotCoordinate(centerX + x * scale), let dy = plotCoordinate(centerY + y * scale) else { return nil }
        return (dx, dy)
    }

    func dot(_ p: ProjectedPoint) -> (x: Int, y: Int)? { dot(p.x, p.y) }
}

/// The layers shown when `slots` tiles cannot hold all `total`: evenly spaced over depth,
/// always the first and the last, and `selected` in place of the pick nearest to it. Ascending,
/// without repeats; all layers when they fit. (With 2 slots the selected layer replaces the
/// nearer end; with 1 only the selected layer is shown.)
public func smallMultipleLayers(total: Int, slots: Int, selected: Int) -> [Int] {
    guard total > 0, slots > 0 else { return [] }
    let sel = min(max(selected, 0), total - 1)
    if slots >= total { return Array(0..<total) }
    if slots == 1 { return [sel] }
    var picks = (0..<slots).map { i in
        Int((Double(i) * Double(total - 1) / Double(slots - 1)).rounded())
    }
    if !picks.contains(sel) {
        let candidates = slots >= 3 ? Array(1..<(slots - 1)) : [0, slots - 1]
        let j = candidates.min { abs(picks[$0] - sel) < abs(picks[$1] - sel) }!
        picks[j] = sel
    }
    return Array(Set(picks)).sorted()
}

/// How small multiples tile a `width × height` area for `count` layers: the largest tiles
/// (a title row over a square canvas of `canvasRows` rows) of which `count` fit, else the
/// smallest tiles and as many as fit.
struct TileGrid: Equatable {
    var columns: Int, rows: Int, tileWidth: Int, tileHeight: Int
    var slots: Int { columns * rows }

    /// Narrowest tile: room for a layer name and its mean H/lnK.
    static let minimumWidth = 12
    /// Fewest canvas rows in a tile (a 12-dot plot).
    static let minimumCanvasRows = 3

    init(width: Int, height: Int, count: Int) {
        let n = max(count, 1)
        func fit(_ canvasRows: Int) -> (Int, Int) {
            let tileW = max(2 * canvasRows, TileGrid.minimumWidth)
            return (max((width + 1) / (tileW + 1), 0), max(height / (canvasRows + 1), 0))
        }
        var canvasRows = TileGrid.minimumCanvasRows
        for c in stride(from: max(height - 1, TileGrid.minimumCanvasRows), through: TileGrid.minimumCanvasRows, by: -1) {
            let (cols, rows) = fit(c)
            if cols * rows >= n { canvasRows = c; break }
        }
        var (cols, rows) = fit(canvasRows)
        cols = max(cols, 1); rows = max(rows, 1)
        // Fewer tiles needed than fit: drop empty rows, then spread the columns out.
        if cols * rows > n { rows = max((n + cols - 1) / cols, 1) }
        if cols * rows > n && rows == 1 { cols = n }
        columns = cols; self.rows = rows
        tileWidth = max((width + 1) / cols - 1, 1)
        tileHeight = canvasRows + 1
    }
}
