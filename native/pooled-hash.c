/*
 * Message digests that hash on libuv's thread pool (src/kit/running-digest.ts): an upload's bytes are
 * hashed while the event loop reads the next ones, instead of on the loop's own thread, where the
 * SHA-256 of a large upload took a third of Berth's CPU and bounded its upload rate.
 *
 * Digest(algorithm[, state]): "sha256" or "sha512", with OpenSSL's SHA functions (the copy inside
 * the `node` binary, whose symbols it exports to addons; the same SHA extensions code Node's crypto
 * uses). Their contexts are plain structures, so a SHA-256 state can be saved and resumed in
 * another process: a replica continuing an upload another one started hashes only the new bytes.
 * - update(buffer): hashes now, on the calling thread;
 * - updateLater(buffers): hashes the buffers in order on the pool; a promise of nothing. The
 *   array (and so its buffers) is kept alive until it settles; neither may change before then;
 * - copy(): a new Digest in the same state; digest(): the lowercase hex digest, once;
 * - state(): a SHA-256 digest's state as a Buffer (STATE_TAG, the eight hash words, the count of
 *   bytes taken, the bytes of the unfinished block — every integer big-endian), which
 *   Digest("sha256", state) resumes; a malformed state is refused.
 * While an updateLater runs, every other call throws: the JavaScript side queues its calls.
 */
/* The SHA functions are deprecated in OpenSSL 3 in favour of EVP, whose state is opaque. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SHA256_ALGORITHM, SHA512_ALGORITHM } algorithm_t;

typedef struct {
  algorithm_t algorithm;
  union {
    SHA256_CTX sha256;
    SHA512_CTX sha512;
  } context;
  int busy;     /* an updateLater is running on the pool */
  int finished; /* digest() was called */
} digest_t;

/* The first bytes of a saved SHA-256 state (the format's version is its last character). */
static const char STATE_TAG[8] = {'s', 'h', 'a', '2', '5', '6', '/', '1'};
/* The tag, eight 32-bit words and a 64-bit count: the unfinished block's bytes follow. */
#define STATE_HEAD (sizeof STATE_TAG + 8 * 4 + 8)

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref self;
  digest_t *digest;
  uint32_t count;
  napi_ref keep; /* the array of buffers, which keeps them alive */
  const unsigned char **data;
  size_t *length;
  int failed;
} later_t;

#define THROW(message)                         \
  do {                                         \
    napi_throw_error(env, NULL, (message));    \
    return NULL;                               \
  } while (0)

static void finalize_digest(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* Hashes `length` bytes at `data` into `digest`; 1 on success. */
static int take_bytes(digest_t *digest, const void *data, size_t length) {
  if (length == 0) return 1;
  return digest->algorithm == SHA256_ALGORITHM ? SHA256_Update(&digest->context.sha256, data, length)
                                               : SHA512_Update(&digest->context.sha512, data, length);
}

static void put_be32(unsigned char *at, uint32_t value) {
  for (int i = 0; i < 4; i++) at[i] = (unsigned char)(value >> (24 - 8 * i));
}

static uint32_t get_be32(const unsigned char *at) {
  return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

/* Sets `context` to the saved SHA-256 state of `length` bytes at `saved`; 1 when well formed. */
static int resume_sha256(SHA256_CTX *context, const unsigned char *saved, size_t length) {
  if (length < STATE_HEAD || memcmp(saved, STATE_TAG, sizeof STATE_TAG) != 0) return 0;
  const unsigned char *words = saved + sizeof STATE_TAG;
  uint64_t count = (uint64_t)get_be32(words + 32) << 32 | get_be32(words + 36);
  /* The count is of bytes; the context counts bits in two words, so it must fit in 61 bits. */
  if (count >> 61 != 0 || length != STATE_HEAD + count % SHA256_CBLOCK) return 0;
  SHA256_Init(context);
  for (int i = 0; i < 8; i++) context->h[i] = get_be32(words + 4 * i);
  context->Nl = (SHA_LONG)(count << 3);
  context->Nh = (SHA_LONG)(count >> 29);
  context->num = (unsigned int)(count % SHA256_CBLOCK);
  memcpy(context->data, saved + STATE_HEAD, context->num);
  return 1;
}

/* The Digest `this` wraps, ready for a call: NULL (an exception pending) when busy or finished. */
static digest_t *ready_digest(napi_env env, napi_value self) {
  digest_t *digest = NULL;
  if (napi_unwrap(env, self, (void **)&digest) != napi_ok || digest == NULL) {
    napi_throw_error(env, NULL, "not a Digest");
    return NULL;
  }
  if (digest->busy) {
    napi_throw_error(env, NULL, "the digest is hashing on the pool");
    return NULL;
  }
  if (digest->finished) {
    napi_throw_error(env, NULL, "the digest was already finished");
    return NULL;
  }
  return digest;
}

static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  napi_valuetype saved_type = napi_undefined;
  char name[16] = "";
  size_t name_length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length) != napi_ok)
    THROW("Digest(algorithm): an algorithm name is needed");
  if (argc > 1 && napi_typeof(env, argv[1], &saved_type) != napi_ok) return NULL;
  digest_t *digest = calloc(1, sizeof *digest);
  if (digest == NULL) THROW("out of memory");
  if (strcmp(name, "sha256") == 0) {
    digest->algorithm = SHA256_ALGORITHM;
    SHA256_Init(&digest->context.sha256);
  } else if (strcmp(name, "sha512") == 0 && saved_type == napi_undefined) {
    digest->algorithm = SHA512_ALGORITHM;
    SHA512_Init(&digest->context.sha512);
  } else {
    free(digest);
    THROW("Digest(algorithm[, state]): sha256 or sha512 (only sha256 resumes a state)");
  }
  if (saved_type != napi_undefined) {
    void *saved = NULL;
    size_t saved_length = 0;
    if (napi_get_buffer_info(env, argv[1], &saved, &saved_length) != napi_ok ||
        !resume_sha256(&digest->context.sha256, saved, saved_length)) {
      free(digest);
      THROW("Digest(\"sha256\", state): not a saved SHA-256 state");
    }
  }
  if (napi_wrap(env, self, digest, finalize_digest, NULL, NULL) != napi_ok) {
    free(digest);
    THROW("the digest could not start");
  }
  return self;
}

static napi_value update(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  void *data = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  digest_t *digest = ready_digest(env, self);
  if (digest == NULL) return NULL;
  if (argc < 1 || napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok)
    THROW("update(buffer): a Buffer is needed");
  if (!take_bytes(digest, data, length)) THROW("the digest could not take the bytes");
  return NULL;
}

static void hash_on_pool(napi_env env, void *data) {
  (void)env;
  later_t *later = data;
  for (uint32_t i = 0; i < later->count && !later->failed; i++)
    if (!take_bytes(later->digest, later->data[i], later->length[i])) later->failed = 1;
}

static void free_later(napi_env env, later_t *later) {
  if (later->keep != NULL) napi_delete_reference(env, later->keep);
  if (later->self != NULL) napi_delete_reference(env, later->self);
  if (later->work != NULL) napi_delete_async_work(env, later->work);
  free(later->data);
  free(later->length);
  free(later);
}

static void hashed_on_pool(napi_env env, napi_status status, void *data) {
  later_t *later = data;
  later->digest->busy = 0;
  napi_value outcome;
  if (status == napi_ok && !later->failed) {
    napi_get_undefined(env, &outcome);
    napi_resolve_deferred(env, later->deferred, outcome);
  } else {
    napi_value message;
    napi_create_string_utf8(env, "the digest could not take the bytes", NAPI_AUTO_LENGTH,
                            &message);
    napi_create_error(env, NULL, message, &outcome);
    napi_reject_deferred(env, later->deferred, outcome);
  }
  free_later(env, later);
}

static napi_value update_later(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, promise, resource_name;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  digest_t *digest = ready_digest(env, self);
  if (digest == NULL) return NULL;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok)
    THROW("updateLater(buffers): an array of Buffers is needed");
  later_t *later = calloc(1, sizeof *later);
  if (later == NULL) THROW("out of memory");
  later->digest = digest;
  later->data = calloc(count + 1, sizeof *later->data);
  later->length = calloc(count + 1, sizeof *later->length);
  if (later->data == NULL || later->length == NULL ||
      napi_create_reference(env, argv[0], 1, &later->keep) != napi_ok) {
    free_later(env, later);
    THROW("out of memory");
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value buffer;
    void *bytes = NULL;
    size_t length = 0;
    if (napi_get_element(env, argv[0], i, &buffer) != napi_ok ||
        napi_get_buffer_info(env, buffer, &bytes, &length) != napi_ok) {
      free_later(env, later);
      THROW("updateLater(buffers): an array of Buffers is needed");
    }
    later->data[i] = bytes;
    later->length[i] = length;
    later->count = i + 1;
  }
  if (napi_create_reference(env, self, 1, &later->self) != napi_ok ||
      napi_create_string_utf8(env, "berth.digest", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, hash_on_pool, hashed_on_pool, later,
                             &later->work) != napi_ok ||
      napi_create_promise(env, &later->deferred, &promise) != napi_ok) {
    free_later(env, later);
    THROW("the digest could not queue its work");
  }
  if (napi_queue_async_work(env, later->work) != napi_ok) {
    /* The deferred is left unsettled: the promise is never returned, so nothing waits on it. */
    free_later(env, later);
    THROW("the digest could not queue its work");
  }
  digest->busy = 1;
  return promise;
}

static napi_value copy(napi_env env, napi_callback_info info) {
  napi_value self, constructor, name, twin;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  digest_t *digest = ready_digest(env, self);
  if (digest == NULL) return NULL;
  napi_ref *constructor_ref = NULL;
  if (napi_get_instance_data(env, (void **)&constructor_ref) != napi_ok ||
      constructor_ref == NULL ||
      napi_get_reference_value(env, *constructor_ref, &constructor) != napi_ok ||
      /* Any algorithm: the copy below gives the new digest this one's algorithm and state. */
      napi_create_string_utf8(env, "sha256", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_new_instance(env, constructor, 1, &name, &twin) != napi_ok)
    return NULL;
  digest_t *copied = NULL;
  if (napi_unwrap(env, twin, (void **)&copied) != napi_ok || copied == NULL)
    THROW("the digest could not be copied");
  copied->algorithm = digest->algorithm;
  copied->context = digest->context;
  return twin;
}

static napi_value save_state(napi_env env, napi_callback_info info) {
  napi_value self, result;
  void *bytes = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  digest_t *digest = ready_digest(env, self);
  if (digest == NULL) return NULL;
  if (digest->algorithm != SHA256_ALGORITHM) THROW("state(): only a SHA-256 state is saved");
  const SHA256_CTX *context = &digest->context.sha256;
  uint64_t count = ((uint64_t)context->Nh << 32 | context->Nl) >> 3;
  if (napi_create_buffer(env, STATE_HEAD + context->num, &bytes, &result) != napi_ok) return NULL;
  unsigned char *out = bytes;
  memcpy(out, STATE_TAG, sizeof STATE_TAG);
  for (int i = 0; i < 8; i++) put_be32(out + sizeof STATE_TAG + 4 * i, context->h[i]);
  put_be32(out + sizeof STATE_TAG + 32, (uint32_t)(count >> 32));
  put_be32(out + sizeof STATE_TAG + 36, (uint32_t)count);
  memcpy(out + STATE_HEAD, context->data, context->num);
  return result;
}

static napi_value finish(napi_env env, napi_callback_info info) {
  napi_value self, result;
  unsigned char bytes[SHA512_DIGEST_LENGTH];
  char hex[SHA512_DIGEST_LENGTH * 2 + 1];
  unsigned int length = 0;
  static const char digits[] = "0123456789abcdef";
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  digest_t *digest = ready_digest(env, self);
  if (digest == NULL) return NULL;
  digest->finished = 1;
  if (digest->algorithm == SHA256_ALGORITHM) {
    if (SHA256_Final(bytes, &digest->context.sha256) != 1) THROW("the digest failed");
    length = SHA256_DIGEST_LENGTH;
  } else {
    if (SHA512_Final(bytes, &digest->context.sha512) != 1) THROW("the digest failed");
    length = SHA512_DIGEST_LENGTH;
  }
  for (unsigned int i = 0; i < length; i++) {
    hex[2 * i] = digits[bytes[i] >> 4];
    hex[2 * i + 1] = digits[bytes[i] & 15];
  }
  napi_create_string_latin1(env, hex, 2 * length, &result);
  return result;
}

static void finalize_constructor(napi_env env, void *data, void *hint) {
  (void)hint;
  napi_ref *constructor_ref = data;
  napi_delete_reference(env, *constructor_ref);
  free(constructor_ref);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"update", NULL, update, NULL, NULL, NULL, napi_default, NULL},
      {"updateLater", NULL, update_later, NULL, NULL, NULL, napi_default, NULL},
      {"copy", NULL, copy, NULL, NULL, NULL, napi_default, NULL},
      {"digest", NULL, finish, NULL, NULL, NULL, napi_default, NULL},
      {"state", NULL, save_state, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value constructor;
  if (napi_define_class(env, "Digest", NAPI_AUTO_LENGTH, construct, NULL,
                        sizeof methods / sizeof methods[0], methods, &constructor) != napi_ok)
    return NULL;
  napi_ref *constructor_ref = malloc(sizeof *constructor_ref);
  if (constructor_ref == NULL ||
      napi_create_reference(env, constructor, 1, constructor_ref) != napi_ok ||
      napi_set_instance_data(env, constructor_ref, finalize_constructor, NULL) != napi_ok)
    return NULL;
  napi_set_named_property(env, exports, "Digest", constructor);
  return exports;
}
