/*
 * Releases the resident pages of a file's read-only mappings in this process
 * (bin/executable-pages.js).
 *
 * Node's executable is about 95 MiB (V8, ICU's data, the built-in modules' source and the start-up
 * snapshot); starting touches some 30-40 MiB of it, most of which a serving process never reads
 * again, yet they stay in its resident set until the kernel needs the memory. Dropping the
 * mappings' pages (MADV_DONTNEED) takes them out of the resident set; the file's pages stay in the
 * page cache, and whatever is read again is mapped again on its next access (a minor fault). Only
 * mappings that cannot be written and hold no private copy of a page (the dynamic linker's
 * relocated read-only data has one: dropping it would bring back the unrelocated file) are
 * released, so what the process reads afterwards is what it read before.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#define MAX_RANGES 64

typedef struct {
  uintptr_t start;
  uintptr_t end;
  long rss_kib;
  long private_kib; /* pages copied on write (Anonymous) or dirtied (Private_Dirty) */
  int candidate;
} mapping;

/* Reads a field line of smaps ("Name:   123 kB") into *value when it names `name`. */
static int field(const char *line, const char *name, long *value) {
  size_t length = strlen(name);
  if (strncmp(line, name, length) != 0 || line[length] != ':') return 0;
  *value = strtol(line + length + 1, NULL, 10);
  return 1;
}

/* Whether a smaps line starts a mapping ("start-end perms offset dev inode [path]"). */
static int parse_header(const char *line, const char *path, mapping *m) {
  unsigned long start, end;
  char perms[8];
  int consumed = 0;
  if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &consumed) != 3) return 0;
  const char *name = line + consumed;
  size_t length = strcspn(name, "\n");
  m->start = start;
  m->end = end;
  m->rss_kib = 0;
  m->private_kib = 0;
  m->candidate = perms[1] != 'w' && consumed > 0 && length == strlen(path) &&
                 strncmp(name, path, length) == 0;
  return 1;
}

/* Adds `m` to `ranges` when it can be released: a mapping of the path, unwritten, resident. */
static void keep_if_releasable(const mapping *m, mapping *ranges, size_t *count) {
  if (m->candidate && m->private_kib == 0 && m->rss_kib > 0 && *count < MAX_RANGES)
    ranges[(*count)++] = *m;
}

/* release(path): drops the resident pages of `path`'s read-only mappings; returns the bytes. */
static napi_value release(napi_env env, napi_callback_info info) {
  double released = 0;
#ifdef __linux__
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t length = 0;
  mapping ranges[MAX_RANGES];
  size_t count = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) == napi_ok &&
      length > 0 && length < sizeof path - 1) {
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (smaps != NULL) {
      char line[4352];
      mapping current = {0, 0, 0, 0, 0};
      long value;
      while (fgets(line, sizeof line, smaps) != NULL) {
        mapping next;
        if (line[0] >= 'A' && line[0] <= 'Z') {
          if (field(line, "Rss", &value)) current.rss_kib = value;
          else if (field(line, "Anonymous", &value) || field(line, "Private_Dirty", &value))
            current.private_kib += value;
          continue;
        }
        if (!parse_header(line, path, &next)) continue;
        keep_if_releasable(&current, ranges, &count);
        current = next;
      }
      keep_if_releasable(&current, ranges, &count);
      fclose(smaps);
    }
    /* Released after reading: smaps is not read while the mappings change under it. */
    for (size_t i = 0; i < count; i += 1)
      if (madvise((void *)ranges[i].start, ranges[i].end - ranges[i].start, MADV_DONTNEED) == 0)
        released += (double)ranges[i].rss_kib * 1024;
  }
#else
  (void)info;
#endif
  napi_value result;
  napi_create_double(env, released, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "release", NAPI_AUTO_LENGTH, release, NULL, &fn);
  napi_set_named_property(env, exports, "release", fn);
  return exports;
}
