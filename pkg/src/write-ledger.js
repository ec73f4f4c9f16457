// What an isolate remembers of its own writes of pushed sets to the store (Workers KV, see
// push.js): the newest set it wrote, or began to write, and how many of its writes timed out
// and have not answered yet ("in doubt"). While one is in doubt, the newest set's text is kept:
// a late write landing over a newer set is undone by writing the newer set again (KV has no
// compare-and-swap), and only its text can do that.
//
// What is kept, and for how long:
// - The text is the very string the isolate's key set source keeps anyway (to recognise an
//   unchanged source on its next read; `push` hands it over), and every write of that set
//   writes it: while the isolate serves that set, the doubt costs no copy of it.
// - Once the isolate serves a newer set (read from the store: another isolate pushed it), the
//   text is let go: a late write is only ever undone with the set still in use, never with one
//   the isolate has since replaced (that could overwrite the newer set in the store). The text
//   could never be written again, so letting it go changes nothing that is written.
// - A doubt is never given up after a time. A write's late answer is the only moment the
//   isolate can undo it, and outside workerd nothing bounds when that answer comes (a user's
//   store in Node may answer minutes later): a doubt given up at a time limit whose write then
//   landed over the newer set would leave the older one in the store with nothing to undo it,
//   the rollback this ledger exists to prevent. In workerd the answer cannot come once the
//   platform has cut the push's `waitUntil` (about 30 s after its answer), but by then nothing
//   is held for it: the text is the source's own (above), and the count is a number.

export class WriteLedger {
  /** `{ revision, text }`: the newest set written here; `text` is null unless a write is in doubt. */
  #newest = null;
  #doubtful = 0;

  /** The newest set written here, `{ revision, text }` (`text` null when none is kept), or null. */
  get newest() {
    return this.#newest;
  }

  /** A write of `set` (`{ revision, text }`, the set in use) begins. */
  begin(set) {
    this.#newest = { revision: set.revision, text: this.#doubtful > 0 ? set.text : null };
  }

  /** A write timed out: its outcome stays unknown until its late answer (`settled`). */
  doubt() {
    this.#doubtful++;
  }

  /** The late answer of a write in doubt came; once none is left, the text is let go. */
  settled() {
    if (--this.#doubtful === 0) this.#forget();
  }

  /** The isolate now serves `revision` (read from the store): the text of an older set is let go. */
  serving(revision) {
    if (this.#newest && this.#newest.revision !== revision) this.#forget();
  }

  #forget() {
    if (this.#newest?.text != null) this.#newest = { revision: this.#newest.revision, text: null };
  }
}
