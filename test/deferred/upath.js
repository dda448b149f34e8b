// jest's stand-in for upath (jest.config.js, scripts/deferred-modules.js)
module.exports = require("../../scripts/deferred-modules").installedStandIn("upath");
