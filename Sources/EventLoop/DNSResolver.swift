@preconcurrency import CLibUV
import Glibc

/// Name resolution on the loop: `uv_getaddrinfo` runs getaddrinfo(3) on libuv's thread pool and
/// calls back on the loop, so a slow resolver never blocks other connections.
public enum DNSResolver {
    /// Resolves `host` (a name or an address literal) to TCP addresses on `port`, in the order the
    /// system prefers. An empty answer is reported as `UV_EAI_NONAME`.
    public static func resolve(loop: EventLoop, host: String, port: Int,
                               completion: @escaping (Result<[SocketAddress], UVError>) -> Void) {
        let req = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        let context = Context(port: port, completion: completion)
        req.pointee.data = Unmanaged.passRetained(context).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(loop.uv, req, { req, status, result in
            let context = Unmanaged<Context>.fromOpaque(req!.pointee.data).takeRetainedValue()
            req!.deallocate()
            defer { uv_freeaddrinfo(result) }
            guard status == 0 else { return context.completion(.failure(UVError(status))) }
            var addresses: [SocketAddress] = []
            var cursor = result
            while let info = cursor, addresses.count < 16 {
                if let sa = info.pointee.ai_addr, info.pointee.ai_family == AF_INET || info.pointee.ai_family == AF_INET6 {
                    var storage = sockaddr_storage()
                    withUnsafeMutableBytes(of: &storage) { dst in
                        dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(info.pointee.ai_addrlen)))
                    }
                    let resolved = SocketAddress(storage: storage)
                    if let withPort = try? SocketAddress(host: resolved.host, port: context.port) { addresses.append(withPort) }
                }
                cursor = info.pointee.ai_next
            }
            context.completion(addresses.isEmpty ? .failure(UVError(Int32(UV_EAI_NONAME.rawValue))) : .success(addresses))
        }, host, nil, &hints)
        if rc < 0 {
            Unmanaged<Context>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            completion(.failure(UVError(rc)))
        }
    }

    private final class Context {
        let port: Int
        let completion: (Result<[SocketAddress], UVError>) -> Void
        init(port: Int, completion: @escaping (Result<[SocketAddress], UVError>) -> Void) {
            self.port = port
            self.completion = completion
        }
    }
}
