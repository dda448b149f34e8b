// jest's stand-in for @npmcli/arborist (jest.config.js, scripts/deferred-modules.js)
module.exports = require("../../../scripts/deferred-modules").installedStandIn("@npmcli/arborist");
