// initWasm (keygate/init): the application instantiates the wasm module itself, for runtimes
// where the default entries' import-time loading breaks: a dev server's dependency
// pre-bundling moves the code away from the .wasm file its URL points to, and edge runtimes
// forbid compiling wasm from bytes at run time (they need the WebAssembly.Module their
// bundler imports).
import { KeygateError, describe, invalidOptions } from '../errors.js';
import { instantiate, wasmReady } from './facade.js';

// Exports the glue cannot work without: a module lacking them is not keygate's.
const REQUIRED_EXPORTS = ['memory', '__wbindgen_start', 'checkKeySet', 'wasmverifier_new', 'wasmverifier_run'];
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const EXPECTED = "a WebAssembly.Module, the module's bytes, a Response, or the module's URL (or a promise of one)";

let pending = null;

/**
 * Instantiates the wasm module from `source`; resolves once the package is usable. Calls
 * while one is under way share it; after a failure a new call may try again; once the module
 * is instantiated (by this or by a default entry's loader) it resolves at once.
 */
export function initWasm(source) {
  if (wasmReady()) return Promise.resolve();
  if (pending === null) {
    pending = load(source).then(
      () => undefined,
      (e) => {
        pending = null;
        throw e;
      },
    );
  }
  return pending;
}

function failed(message, cause) {
  return new KeygateError('ERR_WASM_INIT_FAILED', `initWasm: ${message}`, cause === undefined ? {} : { cause });
}

const tag = (v) => Object.prototype.toString.call(v);
const isModule = (v) => typeof WebAssembly !== 'undefined' && (v instanceof WebAssembly.Module || tag(v) === '[object WebAssembly.Module]');
const isResponse = (v) => (typeof Response === 'function' && v instanceof Response) || tag(v) === '[object Response]';
const isBytes = (v) => ArrayBuffer.isView(v) || v instanceof ArrayBuffer || tag(v) === '[object ArrayBuffer]';
const isUrl = (v) => typeof v === 'string' || v instanceof URL || (typeof Request === 'function' && v instanceof Request);

async function load(source) {
  if (source === undefined || source === null) {
    throw invalidOptions(`initWasm: expected ${EXPECTED}, got ${source === undefined ? 'nothing' : 'null'}`);
  }
  const module = await compile(await source);
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((n) => !names.has(n));
  if (missing.length > 0) {
    throw failed(`this WebAssembly.Module is not keygate's wasm module (it lacks the exports ${missing.join(', ')})`);
  }
  try {
    await instantiate(module);
  } catch (e) {
    throw failed(`could not instantiate the module (is it the keygate_bg.wasm of this keygate version?): ${e?.message ?? e}`, e);
  }
}

async function compile(source) {
  if (isModule(source)) return source;
  if (isBytes(source)) return compileBytes(source);
  if (isResponse(source)) return compileResponse(source);
  if (isUrl(source)) {
    const url = typeof Request === 'function' && source instanceof Request ? source.url : String(source);
    if (url.startsWith('file:')) {
      throw invalidOptions(`initWasm: fetch cannot read ${url}; in Node pass the bytes: initWasm(await readFile(path))`);
    }
    let response;
    try {
      response = await fetch(source);
    } catch (e) {
      throw failed(`could not fetch ${url}: ${e?.message ?? e}`, e);
    }
    return compileResponse(response);
  }
  throw invalidOptions(`initWasm: expected ${EXPECTED}, got ${describe(source)}`);
}

async function compileBytes(source) {
  const bytes = source instanceof ArrayBuffer || tag(source) === '[object ArrayBuffer]'
    ? new Uint8Array(source)
    : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (bytes.length < 4 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const start = new TextDecoder().decode(bytes.subarray(0, 16)).replace(/[^\x20-\x7e]/g, '.');
    const html = start.trimStart().startsWith('<') ? '; an HTML page where the module should be: is the URL right?' : '';
    throw failed(`these bytes are not a wasm module (they start with ${JSON.stringify(start)}${html})`);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw failed(
      `could not compile the module from bytes (${e?.message ?? e}); where compiling wasm at run time is not allowed (Cloudflare Workers and other edge runtimes), pass the WebAssembly.Module the bundler makes of \`import wasm from 'keygate/keygate.wasm'\``,
      e,
    );
  }
}

async function compileResponse(response) {
  if (!response.ok) {
    throw failed(`fetching ${response.url || 'the module'} answered ${response.status} ${response.statusText}`.trimEnd());
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response);
    } catch (e) {
      throw failed(`could not compile the module fetched from ${response.url || 'the response'}: ${e?.message ?? e}`, e);
    }
  }
  let bytes;
  try {
    bytes = await response.arrayBuffer();
  } catch (e) {
    throw failed(`could not read the response body: ${e?.message ?? e}`, e);
  }
  return compileBytes(bytes);
}
