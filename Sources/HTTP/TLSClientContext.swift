import COpenSSL

/// The trust settings of outgoing TLS connections: an OpenSSL SSL_CTX that verifies the peer's
/// chain against the system's CA store, or only against a configured CA file (a school's private
/// CA, or a test's). One per loop; every connection's session is made from it.
public final class TLSClientContext {
    let ctx: OpaquePointer

    /// Nil when `caFile` cannot be read as PEM certificates (or OpenSSL cannot make a context).
    public init?(caFile: String? = nil) {
        guard let ctx = att_tls_client_context(caFile) else { return nil }
        self.ctx = ctx
    }

    deinit { SSL_CTX_free(ctx) }
}

@available(*, unavailable)
extension TLSClientContext: Sendable {}
