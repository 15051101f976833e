"use strict";
// What undici gets for require("node:assert") in the bundle (scripts/bundle.mjs,
// undiciAssertOnFailure). undici calls only assert(value[, message]), 154 times, to check its
// own invariants; node:assert itself is loaded the first time one of them fails, and then
// throws its AssertionError as before. Loading node:assert at start-up cost every fetch
// ~4 ms on Node 24 (docs/bench.md, "Eleventh round"), for checks that pass.
module.exports = function assert(value, message) {
  if (!value) require("node:assert")(value, message);
};
