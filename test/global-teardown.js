/** Deletes the run's scratch directory that test/global-setup.js made. */
"use strict";
const fs = require("fs");

module.exports = async function globalTeardown() {
  const dir = process.env.NORTHSTACK_TEST_CACHE;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
};
