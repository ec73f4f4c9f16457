// Node: read the module from disk next to the glue and instantiate it synchronously, once,
// when the package is first imported.
import { readFileSync } from 'node:fs';
import * as glue from '../../wasm/keygate.js';
import { facade } from './facade.js';

glue.initSync({ module: readFileSync(new URL('../../wasm/keygate_bg.wasm', import.meta.url)) });

export const wasm = facade(glue);
