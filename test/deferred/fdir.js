// jest's stand-in for fdir (jest.config.js, scripts/deferred-modules.js)
module.exports = require("../../scripts/deferred-modules").installedStandIn("fdir");
