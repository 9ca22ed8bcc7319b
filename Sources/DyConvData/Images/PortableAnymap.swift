import DyConvEngine

/// PPM and PGM (Netpbm): P5/P6 binary and P2/P3 ASCII.
///
/// Layout: `P5`, then width, height and maxval as ASCII decimals separated by whitespace, with
/// `#` comments (to the end of the line) allowed between them; one whitespace byte; then the
/// raster, row after row (RGB interleaved for P3/P6). Binary samples are 1 byte when maxval is
/// below 256, else 2 bytes big-endian. maxval must be 1…65535 and no sample may exceed it;
/// samples are scaled to 0…255 as round(v · 255 / maxval), halves up. Bytes after the raster
/// (a second image, padding) are ignored. PBM bitmaps (P1/P4) and PAM (P7) are refused by name.
enum PortableAnymap {
    static func decode(_ bytes: [UInt8], name: String) throws -> DecodedImage {
        var reader = Reader(bytes: bytes, name: name)
        let kind = bytes.count >= 2 ? bytes[1] : 0
        let channels: Int, ascii: Bool, format: String
        switch kind {
        case UInt8(ascii: "2"): (channels, ascii, format) = (1, true, "PGM")
        case UInt8(ascii: "3"): (channels, ascii, format) = (3, true, "PPM")
        case UInt8(ascii: "5"): (channels, ascii, format) = (1, false, "PGM")
        case UInt8(ascii: "6"): (channels, ascii, format) = (3, false, "PPM")
        case UInt8(ascii: "1"), UInt8(ascii: "4"):
            throw DataError(.unsupportedType, file: name, "PBM bitmaps (P1/P4) are not supported; dyconv reads PGM (P2/P5) and PPM (P3/P6)")
        default:
            throw DataError(.unsupportedType, file: name, "PAM (P7) is not supported; dyconv reads PGM (P2/P5) and PPM (P3/P6)")
        }
        reader.position = 2
        guard reader.position < bytes.count else {
            throw DataError(.truncated, file: name, "truncated PPM/PGM header: the file ends before the width")
        }
        guard Reader.isSpace(bytes[reader.position]) || bytes[reader.position] == UInt8(ascii: "#") else {
            throw DataError(.badMagic, file: name, "not a PPM/PGM image: \"P\(Character(UnicodeScalar(kind)))\" is not followed by whitespace")
        }
        let width = try reader.headerNumber("width")
        let height = try reader.headerNumber("height")
        let maxval = try reader.headerNumber("maxval")
        guard (1...65535).contains(maxval) else {
            throw DataError(.corruptImage, file: name, "\(format) maxval \(maxval) must be from 1 to 65535")
        }
        let count = try ImageFile.checkedByteCount(width: width, height: height, channels: channels, format: format,
                                                   fileBytes: bytes.count, name: name)
        // The single whitespace byte that ends the header (a comment there ends with its newline).
        try reader.skipRasterDelimiter(format: format)
        let scale = SampleScale(maxval: maxval)
        let samples: [UInt8]
        if ascii {
            // Each sample takes at least one byte: a raster too short for that is refused before allocating.
            guard bytes.count - reader.position >= count else {
                throw DataError(.truncated, file: name, "truncated \(format): the header says \(count) samples, the file has \(bytes.count - reader.position) bytes left")
            }
            var out = [UInt8](repeating: 0, count: count)
            for i in 0..<count {
                guard let value = try reader.rasterNumber(maxval: maxval) else {
                    throw DataError(.truncated, file: name, "truncated \(format): the raster ends after \(i) of \(count) samples")
                }
                out[i] = scale.apply(value)
            }
            samples = out
        } else {
            let width = maxval < 256 ? 1 : 2
            let needed = count * width  // count ≤ 3 · 2²⁸: no overflow
            let available = bytes.count - reader.position
            guard available >= needed else {
                throw DataError(.truncated, file: name, "truncated \(format): the header says \(needed) raster bytes, the file has \(available)")
            }
            samples = try bytes.withUnsafeBufferPointer { raw in
                let base = reader.position
                var out = [UInt8](repeating: 0, count: count)
                for i in 0..<count {
                    let value = width == 1 ? Int(raw[base + i]) : Int(raw[base + 2 * i]) << 8 | Int(raw[base + 2 * i + 1])
                    guard value <= maxval else {
                        throw DataError(.corruptImage, file: name, "\(format) sample \(value) at index \(i) exceeds maxval \(maxval)")
                    }
                    out[i] = scale.apply(value)
                }
                return out
            }
        }
        return DecodedImage(interleaved: samples, channels: channels, height: height, width: width)
    }

    /// round(v · 255 / maxval), halves up: exact integer arithmetic, identity for maxval 255.
    struct SampleScale {
        let maxval: Int
        func apply(_ value: Int) -> UInt8 {
            maxval == 255 ? UInt8(value) : UInt8((value * 255 + maxval / 2) / maxval)
        }
    }

    /// A cursor over the header and the ASCII raster.
    struct Reader {
        let bytes: [UInt8]
        let name: String
        var position = 0

        static func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || (0x09...0x0D).contains(byte)
        }

        /// Skips whitespace and `#` comments.
        mutating func skipSpaceAndComments() {
            while position < bytes.count {
                let byte = bytes[position]
                if Reader.isSpace(byte) {
                    position += 1
                } else if byte == UInt8(ascii: "#") {
                    while position < bytes.count, bytes[position] != 0x0A, bytes[position] != 0x0D { position += 1 }
                } else {
                    return
                }
            }
        }

        /// The next decimal digits, or nil at the end of the data; throws on anything but a digit.
        /// Values above 2³¹ are refused as they are read, so no header number can overflow.
        mutating func number(what: String) throws -> Int? {
            skipSpaceAndComments()
            guard position < bytes.count else { return nil }
            var value = 0
            var digits = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                guard value <= Int(Int32.max) else {
                    throw DataError(.corruptImage, file: name, "PPM/PGM \(what) is too large (over \(Int32.max))")
                }
                digits += 1
                position += 1
            }
            guard digits > 0 else {
                throw DataError(.corruptImage, file: name, "PPM/PGM \(what): expected a decimal number, found \(Reader.describe(bytes[position]))")
            }
            // A number must end at whitespace, a comment or the end of the data ("12x" is not 12).
            if position < bytes.count, !Reader.isSpace(bytes[position]), bytes[position] != UInt8(ascii: "#") {
                throw DataError(.corruptImage, file: name, "PPM/PGM \(what): expected a decimal number, found \(Reader.describe(bytes[position])) after \(value)")
            }
            return value
        }

        mutating func headerNumber(_ what: String) throws -> Int {
            guard let value = try number(what: what) else {
                throw DataError(.truncated, file: name, "truncated PPM/PGM header: the file ends before the \(what)")
            }
            return value
        }

        mutating func rasterNumber(maxval: Int) throws -> Int? {
            guard let value = try number(what: "sample") else { return nil }
            guard value <= maxval else {
                throw DataError(.corruptImage, file: name, "PPM/PGM sample \(value) exceeds maxval \(maxval)")
            }
            return value
        }

        mutating func skipRasterDelimiter(format: String) throws {
            guard position < bytes.count else {
                throw DataError(.truncated, file: name, "truncated \(format): the file ends after the header")
            }
            if bytes[position] == UInt8(ascii: "#") {
                while position < bytes.count, bytes[position] != 0x0A, bytes[position] != 0x0D { position += 1 }
                guard position < bytes.count else {
                    throw DataError(.truncated, file: name, "truncated \(format): the file ends after the header")
                }
            }
            position += 1
        }

        static func describe(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
        }
    }
}
