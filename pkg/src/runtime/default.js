// Resolved through the package's `#runtime` import everywhere but workerd (Node, Bun, Deno,
// browsers, bundlers without the `workerd` condition); see ./workerd.js.
export const BUILT_FOR_WORKERD = false;
