// Step 5: one change to the request signed in step 3, decided on both sides. What a signature
// covers cannot change unnoticed; what it does not cover can, and an API key alone covers
// nothing of the request's content.

import { $, busy, el } from './ui.js';
import { coveredComponents, current, signDraft } from './compose.js';
import { decideAtGateway, decideInBrowser } from './verify.js';

const SKEW_MINUTES = 10;
const CREDENTIAL_FIELDS = new Set(['authorization', 'x-api-key', 'signature', 'signature-input', 'content-digest']);

function withHeader(draft, name, value) {
  const headers = draft.headers.map(([n, v]) => [n, n.toLowerCase() === name.toLowerCase() ? value : v]);
  if (!draft.headers.some(([n]) => n.toLowerCase() === name.toLowerCase())) headers.push([name, value]);
  return { ...draft, headers };
}

function coveredNote(s, id) {
  if (!s.sign) return ' The request is not signed.';
  return coveredComponents(s.base).includes(id) ? ` It is covered by the signature (${id}).` : ` It is not covered by the signature.`;
}

const TAMPERS = {
  body(s) {
    if (s.draft.body === null) return { skip: 'This request has no body: choose POST with a body in step 3.' };
    let body;
    try {
      const doc = JSON.parse(s.draft.body);
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
      body = JSON.stringify({ ...doc, qty: typeof doc.qty === 'number' ? doc.qty * 100 : 100 });
    } catch {
      body = `${s.draft.body}!`;
    }
    return {
      draft: { ...s.draft, body },
      what: `Changed the body to ${body}, keeping the signed Content-Digest.${coveredNote(s, 'content-digest')}`,
    };
  },

  header(s) {
    const covered = new Set(coveredComponents(s.base));
    const pick = s.draft.headers.find(([n]) => covered.has(n.toLowerCase()) && !CREDENTIAL_FIELDS.has(n.toLowerCase()))
      ?? s.draft.headers.find(([n]) => !CREDENTIAL_FIELDS.has(n.toLowerCase()))
      ?? ['X-Demo', ''];
    const [name, old] = pick;
    const value = /json/i.test(old) ? 'text/plain' : `${old}tampered`;
    return {
      draft: withHeader(s.draft, name, value),
      what: `Changed the header ${name} from "${old}" to "${value}".${coveredNote(s, name.toLowerCase())}`,
    };
  },

  url(s) {
    const u = new URL(s.draft.url);
    u.searchParams.set('tampered', '1');
    return {
      draft: { ...s.draft, url: u.href },
      what: `Changed the URL to ${u.href}.${coveredNote(s, '@target-uri')}`,
    };
  },

  async slow(s) {
    return skewed(s, -SKEW_MINUTES);
  },

  async fast(s) {
    return skewed(s, SKEW_MINUTES);
  },

  replay(s) {
    return {
      draft: s.draft,
      twice: true,
      what: `Sent the same request twice; the second answer is shown.${
        s.sign?.nonce ? ' Its signature carries a nonce, which each verifier remembers.' : ' Without a nonce, a copy is accepted until the signature is too old.'}`,
    };
  },
};

async function skewed(s, minutes) {
  if (!s.sign) return { skip: 'This request is not signed: there is no signature time to move. Choose a signature in step 3.' };
  const created = Date.now() + minutes * 60_000;
  const again = await signDraft(s.unsigned, s.sign, created);
  const when = new Date(created).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    draft: again.draft,
    what: `Signed again with a client clock ${Math.abs(minutes)} minutes ${minutes < 0 ? 'slow' : 'fast'}: created = ${when}.`,
  };
}

async function tamper(kind) {
  const s = await current();
  if (!s) return;
  let t;
  try {
    t = await TAMPERS[kind](s);
  } catch (e) {
    t = { skip: `Could not tamper: ${e.message}` };
  }
  if (t.skip) {
    $('tamper-what').replaceChildren(el('span', { class: 'warn' }, t.skip));
    return;
  }
  $('tamper-what').textContent = t.what;
  if (t.twice) {
    await decideInBrowser(t.draft, 'tamper-browser', { timed: false });
    await decideAtGateway(t.draft, 'tamper-gateway');
  }
  await decideInBrowser(t.draft, 'tamper-browser', { timed: false });
  await decideAtGateway(t.draft, 'tamper-gateway');
}

export function setupTamper() {
  for (const b of document.querySelectorAll('button.tamper')) {
    b.addEventListener('click', () => busy(b, () => tamper(b.dataset.tamper)));
    b.disabled = false;
  }
}
