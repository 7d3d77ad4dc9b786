import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  decodePlainSegment,
  decodeSegmentRecord,
  encodePlainSegment,
  encodeSegmentRecord,
  partNumberFor,
  recordedBytes,
  type SegmentRecord,
} from './s3-segment-record.js';

const MiB = 1024 * 1024;

it('a record reads back as written, equal consecutive parts kept as one run', () => {
  const record: SegmentRecord = {
    uploadId: 'abc.def',
    base: 12 * MiB,
    serialBase: 4,
    named: true,
    parts: [
      { number: 1, size: 8 * MiB },
      { number: 2, size: 8 * MiB },
      { number: 3, size: 8 * MiB },
      { number: 5, size: 8 * MiB },
      { number: 6, size: 6 * MiB },
    ],
  };
  const stored = encodeSegmentRecord(record);
  assert.deepEqual(JSON.parse(stored.toString()).p, [
    [1, 3, 8 * MiB],
    [5, 1, 8 * MiB],
    [6, 1, 6 * MiB],
  ]);
  assert.deepEqual(decodeSegmentRecord(stored), record);
  assert.equal(recordedBytes(record), 38 * MiB);
  // A thousand parts of one size stay a few bytes.
  const many = {
    ...record,
    parts: Array.from({ length: 1000 }, (_, i) => ({ number: i + 1, size: 5 * MiB })),
  };
  assert.ok(encodeSegmentRecord(many).length < 100);
  assert.deepEqual(decodeSegmentRecord(encodeSegmentRecord(many)), many);
});

it('a part is numbered by its claim counted from the claim that started the multipart upload', () => {
  assert.equal(partNumberFor(7, 7), 1);
  assert.equal(partNumberFor(7, 9), 3);
});

it('anything but a well-formed record reads as none', () => {
  const bad = [
    'not json',
    '{}',
    JSON.stringify({ u: 1, b: 0, s: 1, p: [] }),
    JSON.stringify({ u: 'x', b: -1, s: 1, p: [] }),
    JSON.stringify({ u: 'x', b: 0, s: 1, p: [[1, 1]] }),
    JSON.stringify({ u: 'x', b: 0, s: 1, p: [[0, 1, 5]] }),
    JSON.stringify({
      u: 'x',
      b: 0,
      s: 1,
      p: [
        [2, 1, 5],
        [1, 1, 5],
      ],
    }),
    JSON.stringify({ u: 'x', b: 0, s: 1, p: [[9999, 3, 5]] }),
    JSON.stringify({ u: 'x', b: 0, s: 1, p: [[1, 1e9, 5]] }),
  ];
  for (const text of bad) assert.equal(decodeSegmentRecord(Buffer.from(text)), undefined, text);
  assert.equal(decodeSegmentRecord(undefined), undefined);
});

it('a record from before segments were named by serial reads as not named', () => {
  const stored = Buffer.from(JSON.stringify({ u: 'x', b: 0, s: 3, p: [[1, 1, 5]] }));
  assert.equal(decodeSegmentRecord(stored)?.named, false);
});

it("a plain segment's record reads back as written, and neither kind reads as the other", () => {
  const plain = { base: 0, serial: 12, size: 3000 };
  const stored = encodePlainSegment(plain);
  assert.deepEqual(decodePlainSegment(stored), plain);
  assert.equal(decodeSegmentRecord(stored), undefined);
  const parted = encodeSegmentRecord({
    uploadId: 'u',
    base: 0,
    serialBase: 1,
    named: true,
    parts: [{ number: 1, size: 5 }],
  });
  assert.equal(decodePlainSegment(parted), undefined);
  for (const text of ['x', '{}', JSON.stringify({ o: 0, k: -1, z: 3 })])
    assert.equal(decodePlainSegment(Buffer.from(text)), undefined, text);
  assert.equal(decodePlainSegment(undefined), undefined);
});
