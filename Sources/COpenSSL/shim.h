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
