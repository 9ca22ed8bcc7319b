import CImageCodecs
import DyConvEngine

/// PNG and JPEG through the C wrappers of `CImageCodecs` (libpng, libjpeg-turbo).
///
/// Each file is parsed twice: the first call reads only the header, so the declared size is
/// checked (`ImageFile.checkedByteCount`) before the output is allocated; the second decodes
/// into that buffer. The libraries' longjmp-based errors stay inside the C functions, which
/// return a status and a one-line message.
enum ImageCodec {
    enum Kind {
        case png
        case jpeg

        var name: String {
            switch self {
            case .png: return "PNG"
            case .jpeg: return "JPEG"
            }
        }
    }

    /// The most scans a progressive JPEG may have. Real encoders write about 10; each scan makes
    /// libjpeg walk the whole coefficient buffer, so a small file of thousands of scans would
    /// take minutes.
    static let maxJPEGScans = 256

    static func decode(_ bytes: [UInt8], as kind: Kind, name: String) throws -> DecodedImage {
        var result = dyconv_image_result()
        try run(kind, bytes, nil, 0, &result, maxMemory: Limits.memoryBudget, name: name)
        let width = Int(result.width), height = Int(result.height), channels = Int(result.channels)
        let count = try ImageFile.checkedByteCount(width: width, height: height, channels: channels,
                                                   format: kind.name, fileBytes: bytes.count, name: name)
        // libjpeg's own working memory (a progressive file's coefficients, about 2 bytes per
        // sample) gets what the budget leaves after the output, its planar copy and the file.
        let left = max(Limits.memoryBudget - 2 * count - bytes.count, 1 << 20)
        var failure: DataError?
        let interleaved = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            do {
                try run(kind, bytes, out.baseAddress, count, &result, maxMemory: left, name: name)
            } catch let error as DataError {
                failure = error
            } catch {
                failure = DataError(.corruptImage, file: name, "\(error)")
            }
            // On failure the bytes may be partly unwritten; the array is discarded below.
            initialized = count
        }
        if let failure { throw failure }
        return DecodedImage(interleaved: interleaved, channels: channels, height: height, width: width)
    }

    /// One call of the C decoder; throws its failure as a `DataError`.
    private static func run(_ kind: Kind, _ bytes: [UInt8], _ out: UnsafeMutablePointer<UInt8>?, _ outSize: Int,
                            _ result: inout dyconv_image_result, maxMemory: Int, name: String) throws {
        let status = bytes.withUnsafeBufferPointer { data in
            switch kind {
            case .png:
                return dyconv_png_decode(data.baseAddress, data.count, out, outSize, &result)
            case .jpeg:
                return dyconv_jpeg_decode(data.baseAddress, data.count, out, outSize, Int32(maxJPEGScans),
                                          maxMemory, &result)
            }
        }
        guard status != DYCONV_IMAGE_OK else { return }
        let message = withUnsafeBytes(of: result.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        switch status {
        case DYCONV_IMAGE_TRUNCATED:
            throw DataError(.truncated, file: name, "truncated \(kind.name): \(message)")
        case DYCONV_IMAGE_UNSUPPORTED:
            // The CMYK refusal is a whole sentence already; libjpeg's texts need the format named.
            throw DataError(.unsupportedType, file: name, message.hasPrefix("CMYK") ? message : "unsupported \(kind.name): \(message)")
        case DYCONV_IMAGE_TOO_LARGE:
            throw DataError(.tooLarge, file: name, "\(kind.name) too large to decode: \(message)")
        default:
            throw DataError(.corruptImage, file: name, "corrupt \(kind.name): \(message)")
        }
    }
}
