{
  "targets": [
    {
      "target_name": "malloc_tuning",
      "sources": ["native/malloc-tuning.c"]
    },
    {
      "target_name": "direct_io",
      "sources": ["native/direct-io.c"]
    },
    {
      "target_name": "send_file",
      "sources": ["native/send-file.c"]
    },
    {
      "target_name": "pooled_hash",
      "sources": ["native/pooled-hash.c"]
    },
    {
      "target_name": "file_pages",
      "sources": ["native/file-pages.c"]
    }
  ]
}
