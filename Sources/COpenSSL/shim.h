#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <stdint.h>

/// scrypt (RFC 7914) through OpenSSL 3's EVP_KDF "SCRYPT". In C because OSSL_PARAM arrays hold
/// pointers to their names and buffers for the whole derivation, which Swift cannot promise.
/// Returns 1 on success, 0 on failure (unknown KDF, parameters refused, out of memory).
static inline int att_scrypt(const unsigned char *pass, size_t pass_len, const unsigned char *salt, size_t salt_len,
                             uint64_t n, uint32_t r, uint32_t p, uint64_t maxmem,
                             unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    static const unsigned char empty = 0;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(pass_len ? pass : &empty), pass_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_len ? salt : &empty), salt_len),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int rc = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return rc == 1 ? 1 : 0;
}

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/err.h>

/// A P-256 public key from its 65-byte uncompressed point (0x04 ‖ x ‖ y), checked to lie on the
/// curve (EVP_PKEY_public_check). NULL when the point is not a valid public key. Free with EVP_PKEY_free.
static inline EVP_PKEY *att_p256_public_key(const unsigned char point[65]) {
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL) return NULL;
    EVP_PKEY *key = NULL;
    if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_CTX_free(ctx);
        return NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!ok) { EVP_PKEY_free(key); return NULL; }
    return key;
}

/// 1 when the point is a valid P-256 public key, else 0.
static inline int att_p256_check(const unsigned char point[65]) {
    EVP_PKEY *key = att_p256_public_key(point);
    if (key == NULL) return 0;
    EVP_PKEY_free(key);
    return 1;
}

/// Verifies a WebCrypto-style ECDSA P-256/SHA-256 signature (64 bytes r ‖ s) over `msg`.
/// r ‖ s is turned into the DER ECDSA-Sig-Value OpenSSL verifies. 1 valid, 0 otherwise.
static inline int att_p256_verify(const unsigned char point[65], const unsigned char *msg, size_t msg_len,
                                  const unsigned char sig[64]) {
    EVP_PKEY *key = att_p256_public_key(point);
    if (key == NULL) return 0;
    int ok = 0;
    unsigned char *der = NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *sv = BN_bin2bn(sig + 32, 32, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (s != NULL && r != NULL && sv != NULL && ECDSA_SIG_set0(s, r, sv) == 1) {
        r = NULL; sv = NULL; /* owned by s now */
        int der_len = i2d_ECDSA_SIG(s, &der);
        if (der_len > 0 && md != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1) {
            static const unsigned char empty = 0;
            ok = EVP_DigestVerify(md, der, (size_t)der_len, msg_len ? msg : &empty, msg_len) == 1;
        }
    }
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    BN_free(r); BN_free(sv);
    ECDSA_SIG_free(s);
    EVP_PKEY_free(key);
    return ok;
}

/// Tests only: a fresh P-256 key pair (free with EVP_PKEY_free) and its 65-byte uncompressed point.
static inline EVP_PKEY *att_p256_generate(unsigned char point[65]) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) return NULL;
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, 65, &len) != 1 || len != 65) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/// Tests only: signs `msg` with ECDSA P-256/SHA-256 and writes r ‖ s (64 bytes), as WebCrypto does.
static inline int att_p256_sign(EVP_PKEY *key, const unsigned char *msg, size_t msg_len, unsigned char sig[64]) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t der_len = sizeof der;
    static const unsigned char empty = 0;
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestSign(md, der, &der_len, msg_len ? msg : &empty, msg_len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) return 0;
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (s == NULL) return 0;
    ok = BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 && BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32;
    ECDSA_SIG_free(s);
    return ok;
}

/// An RSA public key from its big-endian modulus and exponent (a JWK's `n` and `e`), built with
/// OSSL_PARAM_BLD. In C because the builder's parameters point into the BIGNUMs until fromdata ran.
/// NULL when the numbers do not make a key. Free with EVP_PKEY_free.
static inline EVP_PKEY *att_rsa_public_key(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len) {
    EVP_PKEY *key = NULL;
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL), *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn_n != NULL && bn_e != NULL && bld != NULL
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1
        && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL
        && EVP_PKEY_fromdata_init(ctx) == 1) {
        if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    if (key == NULL) ERR_clear_error();  /* a refused key is an answer, not a pending error */
    return key;
}

/// Verifies an RS256 JWS signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) with the key of
/// modulus `n` and exponent `e`. Keys under `min_bits` bits are refused. 1 valid, 0 otherwise.
static inline int att_rs256_verify(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len, int min_bits,
                                   const unsigned char *msg, size_t msg_len, const unsigned char *sig, size_t sig_len) {
    EVP_PKEY *key = att_rsa_public_key(n, n_len, e, e_len);
    if (key == NULL) return 0;
    int ok = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    static const unsigned char empty = 0;
    if (EVP_PKEY_get_bits(key) >= min_bits && md != NULL
        && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) == 1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) {
        ok = EVP_DigestVerify(md, sig_len ? sig : &empty, sig_len, msg_len ? msg : &empty, msg_len) == 1;
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    ERR_clear_error();  /* a bad signature leaves errors that a later TLS call would misread */
    return ok;
}

/// Tests only: a fresh RSA key pair of `bits` bits. Free with EVP_PKEY_free.
static inline EVP_PKEY *att_rsa_generate(unsigned int bits) {
    return EVP_RSA_gen(bits);
}

/// Tests only: writes the big-endian bytes of an RSA key's modulus (`which` 0) or exponent (1) into
/// `out` (capacity `cap`); returns the length, 0 on failure.
static inline size_t att_rsa_component(EVP_PKEY *key, int which, unsigned char *out, size_t cap) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(key, which == 0 ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_RSA_E, &bn) != 1) return 0;
    size_t len = (size_t)BN_num_bytes(bn);
    if (len > cap) { BN_free(bn); return 0; }
    BN_bn2bin(bn, out);
    BN_free(bn);
    return len;
}

/// Tests only: an RS256 signature of `msg` into `sig` (capacity `*sig_len`, updated). 1 on success.
static inline int att_rs256_sign(EVP_PKEY *key, const unsigned char *msg, size_t msg_len, unsigned char *sig, size_t *sig_len) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    static const unsigned char empty = 0;
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1
        && EVP_DigestSign(md, sig, sig_len, msg_len ? msg : &empty, msg_len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/// A TLS client context: TLS 1.2 or later, peer verification on, trusting `ca_file` when given and
/// the system's default store otherwise. NULL when the CA file cannot be loaded. Free with SSL_CTX_free.
static inline SSL_CTX *att_tls_client_context(const char *ca_file) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file != NULL ? SSL_CTX_load_verify_file(ctx, ca_file) : SSL_CTX_set_default_verify_paths(ctx);
    ERR_clear_error();
    if (loaded != 1) { SSL_CTX_free(ctx); return NULL; }
    return ctx;
}

/// A client session on `ctx` that reads from and writes to memory BIOs (the caller moves the bytes
/// over its own socket), sends `host` as SNI and checks the certificate names it (an IP address
/// literal is checked against the certificate's IP addresses and sent without SNI). NULL on failure.
static inline SSL *att_tls_client_session(SSL_CTX *ctx, const char *host, int host_is_ip) {
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) return NULL;
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    if (in == NULL || out == NULL) { BIO_free(in); BIO_free(out); SSL_free(ssl); return NULL; }
    BIO_set_mem_eof_return(in, -1);  /* an empty input BIO means "want more", not EOF */
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    int ok;
    if (host_is_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
    } else {
        ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
    }
    if (!ok) { SSL_free(ssl); return NULL; }
    return ssl;
}

/// Pushes bytes received from the socket into the session. Returns the count taken, or -1.
static inline int att_tls_feed(SSL *ssl, const void *bytes, int len) {
    return BIO_write(SSL_get_rbio(ssl), bytes, len);
}

/// Takes up to `cap` bytes the session wants sent; 0 when there are none.
static inline int att_tls_drain(SSL *ssl, void *out, int cap) {
    BIO *bio = SSL_get_wbio(ssl);
    if (BIO_ctrl_pending(bio) == 0) return 0;
    int n = BIO_read(bio, out, cap);
    return n > 0 ? n : 0;
}

/// The most recent error on this thread as text (and the queue cleared); `buf` gets at least a NUL.
static inline void att_tls_error_text(char *buf, size_t cap) {
    unsigned long code = ERR_peek_last_error();
    if (code == 0) { if (cap) buf[0] = 0; }
    else ERR_error_string_n(code, buf, cap);
    ERR_clear_error();
}
