// One operation at a time in a Durable Object. Its input gate holds other requests only while
// storage is awaited, not while it waits for KV or another object: an operation that awaits those
// would interleave with the next request without this queue.

/** A function that runs each `fn` after the previous one has ended (failed or not). */
export function serial() {
  let running = Promise.resolve();
  return (fn) => {
    const run = running.catch(() => {}).then(fn);
    running = run;
    return run;
  };
}
