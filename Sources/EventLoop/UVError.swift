@preconcurrency import CLibUV

/// A libuv error code, translated once here so every layer reports the same names.
public struct UVError: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32

    public init(_ code: Int32) { self.code = code }

    public var name: String { String(cString: uv_err_name(code)) }
    public var description: String { "\(name): \(String(cString: uv_strerror(code)))" }

    public static let eof = UVError(Int32(UV_EOF.rawValue))
    public static let canceled = UVError(Int32(UV_ECANCELED.rawValue))
    public static let tooManyOpenFiles = UVError(Int32(UV_EMFILE.rawValue))
    public static let connectionRefused = UVError(Int32(UV_ECONNREFUSED.rawValue))
    public static let addressNotAvailable = UVError(Int32(UV_EADDRNOTAVAIL.rawValue))
}

@inline(__always)
func uvCheck(_ rc: Int32) throws(UVError) {
    if rc < 0 { throw UVError(rc) }
}
