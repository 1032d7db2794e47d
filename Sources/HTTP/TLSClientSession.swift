import COpenSSL

/// One TLS client session over memory BIOs: the owner feeds it the bytes its socket read and sends
/// the bytes it drains, so TLS runs over the loop's ordinary TCPConnection without OpenSSL ever
/// touching the socket.
final class TLSClientSession {
    private let ssl: OpaquePointer

    enum Progress: Equatable {
        case needMore
        case done
        case failed(String)
    }

    init?(context: TLSClientContext, url: OutboundURL) {
        guard let ssl = att_tls_client_session(context.ctx, url.host, url.isIPLiteral ? 1 : 0) else { return nil }
        self.ssl = ssl
    }

    deinit { SSL_free(ssl) }

    /// Bytes from the peer; false when OpenSSL could not take them (out of memory).
    func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        return att_tls_feed(ssl, base, Int32(bytes.count)) == Int32(bytes.count)
    }

    /// Bytes the session wants on the wire (handshake records, encrypted requests).
    func drainOutput() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { att_tls_drain(ssl, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[..<Int(n)])
        }
        return out
    }

    /// Advances the handshake; `.failed` names the reason (a certificate the store does not trust,
    /// a name that does not match the host, a protocol error).
    func handshake() -> Progress {
        // SSL_get_error reads the thread's error queue, which must be empty before each call
        // (SSL_get_error(3)); other OpenSSL users on this loop may have left errors in it.
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .done }
        return progress(after: rc)
    }

    /// Encrypts `bytes` for sending (memory BIOs take everything at once).
    func write(_ bytes: [UInt8]) -> Bool {
        ERR_clear_error()
        return bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) == Int32($0.count) }
    }

    /// Decrypts what has arrived and hands it to `body`; `.done` when the peer closed the TLS session.
    func read(_ body: (UnsafeRawBufferPointer) -> Void) -> Progress {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            ERR_clear_error()
            let n = buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n > 0 {
                buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<Int(n)])) }
                continue
            }
            return progress(after: n)
        }
    }

    private func progress(after rc: Int32) -> Progress {
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .needMore
        case SSL_ERROR_ZERO_RETURN:
            return .done
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                ERR_clear_error()
                return .failed("certificate verification failed: " + String(cString: X509_verify_cert_error_string(verify)))
            }
            var text = [CChar](repeating: 0, count: 256)
            att_tls_error_text(&text, text.count)
            let message = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failed(message.isEmpty ? "TLS error" : message)
        }
    }
}

@available(*, unavailable)
extension TLSClientSession: Sendable {}
