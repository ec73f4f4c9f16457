// keygate/coordinator outside workerd. KeygateCoordinator is a Durable Object class
// (coordinator/workerd.js, the "workerd" export condition), built on `cloudflare:workers`,
// which only the Workers runtime has (Cloudflare, wrangler dev, Miniflare). Importing it
// elsewhere works (so shared modules and type checks do); creating one does not.

export class KeygateCoordinator {
  constructor() {
    throw new TypeError(
      'KeygateCoordinator is a Durable Object class: it runs only in the Workers runtime (workerd: Cloudflare, wrangler dev, Miniflare)',
    );
  }
}
