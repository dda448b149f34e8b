// jest's stand-in for normalize-package-data (jest.config.js, scripts/deferred-modules.js)
module.exports = require("../../scripts/deferred-modules").installedStandIn("normalize-package-data");
