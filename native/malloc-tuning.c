/*
 * glibc's allocator settings for a long-running Berth process (bin/malloc-tuning.js).
 *
 * By default glibc raises its mmap threshold each time a large mmapped block is freed (up to
 * 32 MiB), so later large buffers come from the heap and, once freed between live ones, stay
 * resident; and each thread that allocates may get an arena of its own (eight per core). Both are
 * process memory Berth never uses again. Node 20 offers no way to set them, and the environment
 * variables that do must be set before the process starts.
 */
#include <node_api.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static napi_value boolean(napi_env env, int value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

/* configure(arenaMax, mmapThreshold, trimThreshold): true when glibc took all three. */
static napi_value configure(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t values[3] = {0, 0, 0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3)
    return boolean(env, 0);
  for (size_t i = 0; i < 3; i += 1)
    if (napi_get_value_int32(env, argv[i], &values[i]) != napi_ok || values[i] <= 0)
      return boolean(env, 0);
#ifdef __GLIBC__
  int ok = mallopt(M_ARENA_MAX, values[0]) == 1;
  ok = (mallopt(M_MMAP_THRESHOLD, values[1]) == 1) && ok;
  ok = (mallopt(M_TRIM_THRESHOLD, values[2]) == 1) && ok;
  return boolean(env, ok);
#else
  return boolean(env, 0);
#endif
}

/* trim(): returns the free pages of every arena to the system; true when some were. */
static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return boolean(env, malloc_trim(0));
#else
  return boolean(env, 0);
#endif
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn);
  napi_set_named_property(env, exports, "trim", fn);
  napi_create_function(env, "configure", NAPI_AUTO_LENGTH, configure, NULL, &fn);
  napi_set_named_property(env, exports, "configure", fn);
  return exports;
}
