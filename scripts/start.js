#!/usr/bin/env node
// `npm start`: builds dist/ if needed, then runs the service in this very process. Not
// `ensure-built && node dist/main.js` in the npm script: the shell between npm and node
// would take SIGTERM and leave the service running; here the signal reaches main.ts.
require('./ensure-built.js');
require('../dist/main.js');
