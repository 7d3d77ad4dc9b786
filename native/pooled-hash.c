/*
 * Message digests that hash on libuv's thread pool (src/kit/running-digest.ts): an upload's bytes are
 * hashed while the event loop reads the next ones, instead of on the loop's own thread, where the
 * SHA-256 of a large upload took a third of Berth's CPU and bounded its upload rate.
 *
 * Digest(algorithm): "sha256" or "sha512", with OpenSSL's EVP API (the copy inside the `node`
 * binary, whose symbols it exports to addons; the same SHA extensions code Node's crypto uses).
 * - update(buffer): hashes now, on the calling thread;
 * - updateLater(buffers): hashes the buffers in order on the pool; a promise of nothing. The
 *   array (and so its buffers) is kept alive until it settles; neither may change before then;
 * - copy(): a new Digest in the same state; digest(): the lowercase hex digest, once.
 * While an updateLater runs, every other call throws: the JavaScript side queues its calls.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  EVP_MD_CTX *context;
  int busy;     /* an updateLater is running on the pool */
  int finished; /* digest() was called */
} digest_t;

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

static const EVP_MD *named_algorithm(const char *name) {
  if (strcmp(name, "sha256") == 0) return EVP_sha256();
  if (strcmp(name, "sha512") == 0) return EVP_sha512();
  return NULL;
}

static void finalize_digest(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  digest_t *digest = data;
  EVP_MD_CTX_free(digest->context);
  free(digest);
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
  size_t argc = 1;
  napi_value argv[1], self;
  char name[16] = "";
  size_t name_length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length) != napi_ok)
    THROW("Digest(algorithm): an algorithm name is needed");
  const EVP_MD *algorithm = named_algorithm(name);
  if (algorithm == NULL) THROW("Digest(algorithm): sha256 or sha512");
  digest_t *digest = calloc(1, sizeof *digest);
  if (digest == NULL) THROW("out of memory");
  digest->context = EVP_MD_CTX_new();
  if (digest->context == NULL || EVP_DigestInit_ex(digest->context, algorithm, NULL) != 1) {
    EVP_MD_CTX_free(digest->context);
    free(digest);
    THROW("the digest could not start");
  }
  if (napi_wrap(env, self, digest, finalize_digest, NULL, NULL) != napi_ok) {
    EVP_MD_CTX_free(digest->context);
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
  if (length > 0 && EVP_DigestUpdate(digest->context, data, length) != 1)
    THROW("the digest could not take the bytes");
  return NULL;
}

static void hash_on_pool(napi_env env, void *data) {
  (void)env;
  later_t *later = data;
  for (uint32_t i = 0; i < later->count && !later->failed; i++)
    if (later->length[i] > 0 &&
        EVP_DigestUpdate(later->digest->context, later->data[i], later->length[i]) != 1)
      later->failed = 1;
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
      /* Any algorithm: EVP_MD_CTX_copy_ex gives the new context this one's algorithm and state. */
      napi_create_string_utf8(env, "sha256", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_new_instance(env, constructor, 1, &name, &twin) != napi_ok)
    return NULL;
  digest_t *copied = NULL;
  if (napi_unwrap(env, twin, (void **)&copied) != napi_ok ||
      EVP_MD_CTX_copy_ex(copied->context, digest->context) != 1)
    THROW("the digest could not be copied");
  return twin;
}

static napi_value finish(napi_env env, napi_callback_info info) {
  napi_value self, result;
  unsigned char bytes[EVP_MAX_MD_SIZE];
  char hex[EVP_MAX_MD_SIZE * 2 + 1];
  unsigned int length = 0;
  static const char digits[] = "0123456789abcdef";
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok) return NULL;
  digest_t *digest = ready_digest(env, self);
  if (digest == NULL) return NULL;
  digest->finished = 1;
  if (EVP_DigestFinal_ex(digest->context, bytes, &length) != 1) THROW("the digest failed");
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
