/*
 * Zero-copy sends Node 20 cannot ask for: sendFile(socketFd, fileFd, offset, length) hands bytes
 * of a file to a non-blocking socket with sendfile(2), so a cached blob goes from the page cache
 * to the connection without passing through Berth's memory (src/http/zero-copy.ts). The caller
 * waits for the socket to drain through Node's own writes; nothing here blocks on the socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/types.h>

/* The most one sendfile(2) call moves (Linux caps a call a little below 2 GiB). */
#define MOST_PER_CALL ((int64_t)0x7ffff000)

/* sendFile(socketFd, fileFd, offset, length): bytes sent (> 0) until the socket is full or the
 * range is sent; 0 when the file ends at `offset`; minus the error number otherwise (-EAGAIN: the
 * socket is full and nothing was sent). An error after some bytes were sent is reported by the
 * next call. */
static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_value result;
  int32_t socket_fd = -1, file_fd = -1;
  int64_t offset = -1, length = -1;
  int64_t answer = -EINVAL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 4 &&
      napi_get_value_int32(env, argv[0], &socket_fd) == napi_ok &&
      napi_get_value_int32(env, argv[1], &file_fd) == napi_ok &&
      napi_get_value_int64(env, argv[2], &offset) == napi_ok &&
      napi_get_value_int64(env, argv[3], &length) == napi_ok && socket_fd >= 0 && file_fd >= 0 &&
      offset >= 0 && length > 0) {
    int64_t sent = 0;
    answer = 0;
    while (sent < length) {
      off_t position = (off_t)(offset + sent);
      int64_t rest = length - sent;
      ssize_t done = sendfile(socket_fd, file_fd, &position, (size_t)(rest < MOST_PER_CALL ? rest : MOST_PER_CALL));
      if (done > 0) {
        sent += done;
        continue;
      }
      if (done < 0 && errno == EINTR) continue;
      if (sent == 0 && done < 0) answer = -(int64_t)errno;
      break; /* the file ended (done == 0), the socket is full, or an error */
    }
    if (sent > 0) answer = sent;
  }
  napi_create_int64(env, answer, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, send_file, NULL, &fn);
  napi_set_named_property(env, exports, "sendFile", fn);
  return exports;
}
