/** The storage room: the content store contract and its drivers. */
export type {
  ContentStore,
  ByteRange,
  ReceivedBlob,
  SmallBlobTable,
  UploadNote,
} from './driver.js';
export { InlineSmallBlobs } from './inline-blobs.js';
export { FsContentStore } from './fs-driver.js';
export type { S3Settings } from './s3-driver.js';
export { openS3Store } from './s3-open.js';
export { batchedFileSink, type FileSink } from './batched-file-sink.js';
export { BackgroundWork } from './background-work.js';
export { directFileSink, type DirectFileHandles } from './direct-file-sink.js';
