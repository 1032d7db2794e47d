/// Redis Cluster's key → slot function: CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the
/// key's hash tag (the bytes between the first `{` and the next `}`, when that is non-empty),
/// modulo 16384. Shard channels (SPUBLISH/SSUBSCRIBE) map to slots the same way.
public enum ClusterSlot {
    public static let count = 16384

    public static func of<Bytes: Collection>(_ key: Bytes) -> Int where Bytes.Element == UInt8, Bytes.Index == Int {
        var start = key.startIndex
        var end = key.endIndex
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
           let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            start = open + 1
            end = close
        }
        var crc: UInt16 = 0
        for i in start..<end { crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ key[i])] }
        return Int(crc) & (count - 1)
    }

    public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
