/*
 * File I/O that Node 20 cannot ask for:
 * - misalignment (src/storage/aligned-buffers.ts): a write with O_DIRECT must come from an address
 *   aligned to the device's block, and a Buffer's address is not visible from JavaScript;
 * - cachedPages (src/http/file-reads.ts): how much of a byte range the page cache holds, so a
 *   download reads cold bytes around the cache instead of filling it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

/* misalignment(buffer, alignment): how far the buffer's first byte lies past an `alignment`
 * boundary (0 when aligned); -1 for a bad argument. */
static napi_value misalignment(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value result;
  void *data = NULL;
  size_t length = 0;
  int32_t alignment = 0;
  int64_t answer = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 2 &&
      napi_get_buffer_info(env, argv[0], &data, &length) == napi_ok &&
      napi_get_value_int32(env, argv[1], &alignment) == napi_ok && alignment > 0)
    answer = (int64_t)((uintptr_t)data % (uintptr_t)alignment);
  napi_create_int64(env, answer, &result);
  return result;
}

#ifndef __NR_cachestat
#if defined(__x86_64__) || defined(__aarch64__)
#define __NR_cachestat 451
#endif
#endif

struct berth_cachestat_range {
  uint64_t off;
  uint64_t len;
};

struct berth_cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

/* cachedPages(fd, offset, length): how many pages of the file's byte range the page cache holds
 * (cachestat(2), Linux 6.5: no side effects, unlike a read with RWF_NOWAIT, which starts the
 * kernel's read-ahead), or minus the error number (-ENOSYS on older kernels). */
static napi_value cached_pages(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value result;
  int32_t fd = -1;
  int64_t offset = -1, length = -1;
  int64_t answer = -EINVAL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 3 &&
      napi_get_value_int32(env, argv[0], &fd) == napi_ok &&
      napi_get_value_int64(env, argv[1], &offset) == napi_ok &&
      napi_get_value_int64(env, argv[2], &length) == napi_ok && fd >= 0 && offset >= 0 &&
      length >= 0) {
#ifdef __NR_cachestat
    struct berth_cachestat_range range = {(uint64_t)offset, (uint64_t)length};
    struct berth_cachestat stat = {0, 0, 0, 0, 0};
    long done = syscall(__NR_cachestat, fd, &range, &stat, 0);
    answer = done == 0 ? (int64_t)stat.nr_cache : -(int64_t)errno;
#else
    answer = -ENOSYS;
#endif
  }
  napi_create_int64(env, answer, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "cachedPages", NAPI_AUTO_LENGTH, cached_pages, NULL, &fn);
  napi_set_named_property(env, exports, "cachedPages", fn);
  napi_create_function(env, "misalignment", NAPI_AUTO_LENGTH, misalignment, NULL, &fn);
  napi_set_named_property(env, exports, "misalignment", fn);
  return exports;
}
