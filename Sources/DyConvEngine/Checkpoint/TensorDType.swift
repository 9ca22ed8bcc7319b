/// The floating-point element types dyconv reads from and writes to safetensors files.
///
/// Tensors are always `Float` (binary32) in memory; the dtype only says how their
/// elements are stored on disk. Reading widens F16 and BF16 exactly and rounds F64 to
/// nearest (F64 values beyond F32's range become ±inf, which a checkpoint then rejects
/// as non-finite, as it rejects a non-finite F32). Writing rounds to nearest, ties to
/// even. Non-finite values keep their class in every direction: ±inf stays ±inf, NaN
/// stays NaN (the container does not judge values; `Checkpoint` does).
///
/// The conversions are written out on the bit patterns rather than with `Float16`, which
/// Swift does not provide on every platform dyconv builds on (macOS on Intel).
public enum TensorDType: String, Sendable, CaseIterable {
    /// IEEE-754 binary32 (the in-memory type).
    case f32 = "F32"
    /// IEEE-754 binary16: 5 exponent bits, 10 fraction bits, largest finite 65504.
    case f16 = "F16"
    /// bfloat16: the upper half of a binary32 (F32's range, 7 fraction bits).
    case bf16 = "BF16"
    /// IEEE-754 binary64.
    case f64 = "F64"

    /// Bytes per element on disk.
    public var byteWidth: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .f64: 8
        }
    }

    // MARK: Decoding

    /// The little-endian elements in `bytes` (a whole number of elements) as `Float`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, as type: TensorDType) -> [Float] {
        let count = bytes.count / type.byteWidth
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch type {
            case .f32:
                UnsafeMutableRawBufferPointer(out).copyMemory(from: bytes)
                #if _endian(big)
                for k in 0..<count { out[k] = Float(bitPattern: UInt32(littleEndian: out[k].bitPattern)) }
                #endif
            case .f16:
                for k in 0..<count { out[k] = float(fromHalf: UInt16(bytes[2 * k]) | UInt16(bytes[2 * k + 1]) << 8) }
            case .bf16:
                for k in 0..<count { out[k] = float(fromBFloat16: UInt16(bytes[2 * k]) | UInt16(bytes[2 * k + 1]) << 8) }
            case .f64:
                for k in 0..<count {
                    var bits: UInt64 = 0
                    for b in 0..<8 { bits |= UInt64(bytes[8 * k + b]) << (8 * UInt64(b)) }
                    out[k] = Float(Double(bitPattern: bits))
                }
            }
            initialized = count
        }
    }

    /// The binary32 value of a binary16 bit pattern (exact: every binary16 is a binary32).
    static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let fraction = UInt32(h & 0x3FF)
        switch exponent {
        case 0x1F:  // ±inf, NaN (the payload moves to the top of the binary32 fraction)
            return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
        case 0:     // ±0 and subnormals: fraction · 2⁻²⁴, exact in binary32
            let magnitude = Float(fraction) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        default:    // rebias the exponent from 15 to 127
            return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
        }
    }

    /// The binary32 value of a bfloat16 bit pattern (its upper 16 bits; exact).
    static func float(fromBFloat16 b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    // MARK: Encoding

    /// `values` as the little-endian elements of `type` (rounded to nearest, ties to even).
    public static func encode(_ values: [Float], as type: TensorDType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * type.byteWidth)
        switch type {
        case .f32:
            for (k, v) in values.enumerated() { store(UInt64(v.bitPattern), bytes: 4, at: 4 * k, in: &out) }
        case .f16:
            for (k, v) in values.enumerated() { store(UInt64(halfBits(v)), bytes: 2, at: 2 * k, in: &out) }
        case .bf16:
            for (k, v) in values.enumerated() { store(UInt64(bfloat16Bits(v)), bytes: 2, at: 2 * k, in: &out) }
        case .f64:
            for (k, v) in values.enumerated() { store(Double(v).bitPattern, bytes: 8, at: 8 * k, in: &out) }
        }
        return out
    }

    private static func store(_ bits: UInt64, bytes: Int, at offset: Int, in out: inout [UInt8]) {
        for b in 0..<bytes { out[offset + b] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(b))) }
    }

    /// The binary16 bit pattern nearest to `x` (ties to even); beyond 65504 rounds to ±inf,
    /// below 2⁻²⁵ to ±0, NaN stays a (quiet) NaN.
    static func halfBits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: b >> 16) & 0x8000
        let exponent = Int((b >> 23) & 0xFF)
        let fraction = b & 0x7F_FFFF
        if exponent == 0xFF {
            return sign | 0x7C00 | (fraction == 0 ? 0 : 0x200 | UInt16(truncatingIfNeeded: fraction >> 13))
        }
        let e = exponent - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal (or zero) in binary16: the significand with its implicit bit, in
            // units of 2⁻²⁴, is significand >> (14 − e).
            let shift = 14 - e
            guard shift <= 24 else { return sign }  // under half the smallest subnormal
            let significand = fraction | (exponent == 0 ? 0 : 0x80_0000)
            return sign | UInt16(roundShift(significand, by: shift))
        }
        // Normal: keep 10 fraction bits; a carry out of the fraction bumps the exponent
        // (and 65520 and above become inf, as they must).
        let kept = UInt32(e) << 10 | fraction >> 13
        let rest = fraction & 0x1FFF
        let rounded = rest > 0x1000 || (rest == 0x1000 && kept & 1 == 1) ? kept + 1 : kept
        return sign | UInt16(rounded)
    }

    /// `value >> shift` rounded to nearest, ties to even (1 ≤ shift ≤ 31).
    private static func roundShift(_ value: UInt32, by shift: Int) -> UInt32 {
        let kept = value >> UInt32(shift)
        let rest = value & ((1 << UInt32(shift)) - 1)
        let half: UInt32 = 1 << UInt32(shift - 1)
        return rest > half || (rest == half && kept & 1 == 1) ? kept + 1 : kept
    }

    /// The bfloat16 bit pattern nearest to `x` (ties to even); NaN stays a (quiet) NaN.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    // MARK: Fit

    /// Whether storing `values` as this type keeps them usable: no finite value becomes
    /// infinite, and with `relativePrecision` no nonzero value falls below the type's normal
    /// range (F16: |x| < 2⁻¹⁴ after rounding), where it would keep only a few significant
    /// bits or become zero. Without it, small values round to the nearest subnormal or to
    /// zero, an absolute error of at most half the smallest subnormal (2⁻²⁵ for F16), which
    /// is harmless for a weight but not for a divisor. `Checkpoint.write(path:dtype:)` applies
    /// this per tensor before narrowing it.
    public func holds(_ values: [Float], relativePrecision: Bool) -> Bool {
        // Exponent field and all-ones exponent of the narrow type's bit pattern.
        let narrow: (Float) -> UInt16
        let exponentMask: UInt16
        switch self {
        case .f32, .f64: return true
        case .f16: narrow = Self.halfBits; exponentMask = 0x7C00
        case .bf16: narrow = Self.bfloat16Bits; exponentMask = 0x7F80
        }
        for v in values where v.isFinite {
            let exponent = narrow(v) & exponentMask
            if exponent == exponentMask { return false }
            if relativePrecision && exponent == 0 && v != 0 { return false }
        }
        return true
    }
}
