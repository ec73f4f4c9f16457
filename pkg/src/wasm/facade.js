// The facade every loader (node.js, workerd.js, browser.js) hands out once it has
// instantiated the module: one object, so a bundler that honours "sideEffects": false keeps
// the loader (and its init) whenever the package uses any of it.
export function facade(glue) {
  return Object.freeze({
    WasmBodyHasher: glue.WasmBodyHasher,
    WasmVerifier: glue.WasmVerifier,
    checkKeySet: glue.checkKeySet,
    envelopePayload: glue.envelopePayload,
    generateApiKey: glue.generateApiKey,
    generateSigningKey: glue.generateSigningKey,
    hashApiKey: glue.hashApiKey,
    signEnvelope: glue.signEnvelope,
    signRequest: glue.signRequest,
    signatureBase: glue.signatureBase,
    resetWasm: glue.__wbg_reset_state,
  });
}
