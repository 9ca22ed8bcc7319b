import DyConvData
import DyConvEngine

// Writing IDX files, for tests and fuzz seeds only: dyconv reads IDX, it never writes it.

extension IDXFile {
    /// The file's bytes: magic, big-endian dimensions, data.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 + 4 * dimensions.count + data.count)
        func appendUInt32(_ value: UInt32) {
            for shift in [24, 16, 8, 0] as [UInt32] { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        appendUInt32(magic)
        for d in dimensions { appendUInt32(UInt32(d)) }
        bytes.append(contentsOf: data)
        return bytes
    }

    /// Writes the file atomically (`Files.writeAtomically`); gzip-compressed (reproducibly,
    /// mtime 0) when `compressed` is `true`.
    ///
    /// - Throws: `DataError(.io)` naming `path` when the write fails.
    public func write(path: String, compressed: Bool) throws {
        let bytes = compressed ? Gzip.compress(encoded(), level: 9) : encoded()
        do { try Files.writeAtomically(bytes, to: path) } catch { throw DataError(error) }
    }
}
