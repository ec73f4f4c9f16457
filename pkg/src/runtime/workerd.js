// Resolved through the package's `#runtime` import under the `workerd` condition: the package
// was bundled for workerd (wrangler, Miniflare, the Workers Vitest pool). A build-time fact,
// so nothing a request carries can change it; edge.js also checks the running runtime.
export const BUILT_FOR_WORKERD = true;
