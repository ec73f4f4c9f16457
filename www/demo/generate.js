// Step 1: an API key, an HMAC-SHA256 secret and an Ed25519 key pair, and their key set entries.
//
// The entries show that one caller can hold a set of codes: the API key's entry also carries
// the Ed25519 public key (with require_signature false, so the key works with or without a
// signature), and the HMAC secret gets an entry of its own ("<id>-hmac").

import { generateApiKey, generateSigningKey } from 'keygate';
import { $, isoNow } from './ui.js';
import { state } from './state.js';
import { addEntries } from './keyset.js';

const LIFETIME_DAYS = 30;

function scopesInput() {
  return $('gen-scopes').value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** The key set entries for what was generated (no secret but the HMAC one, which is shared). */
export function entries(g) {
  const expires = isoNow(Date.now() + LIFETIME_DAYS * 86_400_000);
  return [
    {
      id: g.id,
      api_key_hash: g.apiKeyHash,
      signing: g.ed25519.signing,
      require_signature: false,
      scopes: g.scopes,
      expires_at: expires,
      name: 'Generated in the demo page: API key and Ed25519 public key',
    },
    {
      id: g.hmac.id,
      signing: g.hmac.signing,
      scopes: g.scopes,
      expires_at: expires,
      name: 'Generated in the demo page: HMAC-SHA256 shared secret',
    },
  ];
}

function onGenerate(event) {
  event.preventDefault();
  $('gen-error').hidden = true;
  let api;
  let hmac;
  let ed;
  try {
    const id = $('gen-id').value.trim();
    api = generateApiKey({ prefix: $('gen-prefix').value.trim(), ...(id ? { id } : {}) });
    hmac = generateSigningKey({ alg: 'hmac-sha256' });
    ed = generateSigningKey({ alg: 'ed25519' });
  } catch (e) {
    $('gen-error').textContent = e.message;
    $('gen-error').hidden = false;
    return;
  }
  const id = api.entry.id;
  state.generated = {
    id,
    apiKey: api.key,
    apiKeyHash: api.entry.api_key_hash,
    scopes: scopesInput(),
    hmac: { id: `${id}-hmac`, secret: hmac.key, signing: hmac.signing },
    ed25519: { id, privateKey: ed.key, signing: ed.signing },
  };
  $('gen-key').value = api.key;
  $('gen-hmac').value = hmac.key;
  $('gen-ed-public').value = ed.signing.public_key ?? JSON.stringify(ed.signing.jwk);
  $('gen-entry').textContent = entries(state.generated).map((e) => JSON.stringify(e, null, 2)).join(',\n');
  $('gen-out').hidden = false;

  const apiOption = $('req-key').querySelector('option[value="generated"]');
  apiOption.disabled = false;
  apiOption.textContent = `generated: ${id}`;
  const hmacOption = $('req-sig').querySelector('option[value="hmac-sha256"]');
  hmacOption.disabled = false;
  hmacOption.textContent = `HMAC-SHA256: ${state.generated.hmac.id}`;
  const edOption = $('req-sig').querySelector('option[value="ed25519"]');
  edOption.disabled = false;
  edOption.textContent = `Ed25519: ${id}`;
  state.dirty = true;
  $('gen-key').focus();
  $('gen-key').select();
}

function onAdd() {
  if (!state.generated) return;
  if (addEntries(entries(state.generated))) {
    $('req-key').value = 'generated';
    $('req-sig').value = 'ed25519';
    state.dirty = true;
  }
}

export function setupGenerate() {
  $('gen-form').addEventListener('submit', onGenerate);
  $('gen-add').addEventListener('click', onAdd);
  $('gen-button').disabled = false;
}
