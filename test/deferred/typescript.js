// jest's stand-in for typescript (jest.config.js, scripts/deferred-modules.js)
module.exports = require("../../scripts/deferred-modules").installedStandIn("typescript");
