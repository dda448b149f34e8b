/**
 * One scratch directory per jest run, named in NORTHSTACK_TEST_CACHE, which the workers inherit: the
 * shared plans (test/helpers/shared-plan.ts) and the initialised PostgreSQL data directory that
 * clusters are copied from (test/helpers/pg-cluster.ts) live there, made by the first test that
 * needs them. test/global-teardown.js deletes it, so nothing carries over to the next run.
 */
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

module.exports = async function globalSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-jest-"));
  // The postgres OS user runs initdb in here (test/helpers/pg-cluster.ts): it must get through.
  fs.chmodSync(dir, 0o711);
  process.env.NORTHSTACK_TEST_CACHE = dir;
};
