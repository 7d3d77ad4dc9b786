/**
 * Freeing a buffer's memory at once, instead of when V8 next finds it dead: for buffers outside
 * V8's heap that a caller knows nothing else uses (an upload's stored chunk, a pool's surplus
 * buffer), so the memory goes back to the allocator while the next ones are being made.
 */

/**
 * A closed port: posting to it detaches what is transferred and drops the message at once,
 * freeing the ArrayBuffers' memory (Node serializes a message to a closed port all the same, as
 * the spec asks of transfers). Made on first use; closed ports hold nothing open.
 */
let drain: MessagePort | undefined;

function closedPort(): MessagePort {
  if (!drain) {
    const channel = new MessageChannel();
    channel.port1.close();
    channel.port2.close();
    drain = channel.port1;
  }
  return drain;
}

/**
 * Frees `buffer`'s memory now by detaching it: every view of it is empty afterwards. Nothing may
 * use it any more, nor any other view of the same memory. A buffer Node keeps for itself (the
 * pool small Buffers are cut from) cannot be detached and is left as it is.
 */
export function freeNow(buffer: ArrayBuffer): void {
  closedPort().postMessage(undefined, [buffer]);
}
