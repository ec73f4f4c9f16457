// What the steps share. Secrets (the API key, the HMAC secret, the Ed25519 private key) live
// only here, in this page's memory; nothing is stored or sent anywhere except the key set
// entries a user pushes and the requests a user sends.

export const state = {
  /**
   * Step 1's output: { id, apiKey, scopes, hmac: { id, secret, signing },
   * ed25519: { id, privateKey, signing } }.
   */
  generated: null,
  /** The demo publisher key (DEMO ONLY): { private_key, signing: { public_key } }. */
  publisher: null,
  /** The revision the gateway last reported (GET or PUT), or null when unknown. */
  gatewayRevision: null,
  /**
   * Step 3's output: { draft (the request as sent), unsigned (before signing), sign (the
   * signing options, or null), base (the signature base, or null) }.
   */
  signed: null,
  /** True when step 3's inputs changed since the last signing. */
  dirty: true,
};

// DEMO ONLY: these keys are published (demo/README.md); the local gateway runs the demo set.
export const DEMO_KEYS = {
  'demo-reader': 'kg_demo_sShpJC3TNbwKN9OeKaxNThwrEUHyPMufAZRt6Q8yapa2m9M5j',
  'demo-admin': 'kg_demo_g7g4GsaIPwpNZdV9KXcRfL7DEAKwv9De3dPK2skBqe61RN5UT',
  'demo-expired': 'kg_demo_9ZmWBeSOLDjwVqd13WfvGGI0Aj4UrShQOkp2fhLiuDk3tXIui',
  'demo-disabled': 'kg_demo_u8og7eB0kWBFlS3UcsxNN3WCPyftSRl0lSMR5PL5BlD0taPFQ',
};
