/**
 * Hands out producer ids from blocks the controller allocates (Kafka's
 * ProducerIdManager over AllocateProducerIds). The controller persists the
 * end of every block before returning it, so an id is never handed out
 * twice, across restarts too; the ids left in a block when the broker stops
 * are simply skipped. The next block is fetched in the background once 90 %
 * of the current one is used, so InitProducerId rarely waits for it.
 *
 * The first block is fetched when the manager is made (at start-up), as
 * Kafka's ZooKeeper-mode broker does: idempotent producers can then start
 * while the store behind the controller (ZooKeeper) is briefly unreachable,
 * instead of waiting for it to return.
 */
import type { Controller, ProducerIdBlock } from '../../controller/types.js';

const PREFETCH_AT = 0.9;

export class ProducerIdManager {
  private current: ProducerIdBlock | null = null;
  private next = 0;
  private prefetched: Promise<ProducerIdBlock> | null = null;

  constructor(
    private readonly brokerId: number,
    private readonly allocate: (brokerId: number) => Promise<ProducerIdBlock>,
  ) {
    this.prefetch();
  }

  /** The next unused producer id. */
  async generate(): Promise<number> {
    for (;;) {
      const block = this.current;
      if (block !== null && this.next < block.firstProducerId + block.size) {
        const id = this.next++;
        if (this.prefetched === null && this.next - block.firstProducerId >= block.size * PREFETCH_AT) this.prefetch();
        return id;
      }
      if (this.prefetched === null) this.prefetch();
      const pending = this.prefetched!;
      let fresh: ProducerIdBlock;
      try {
        fresh = await pending;
      } finally {
        if (this.prefetched === pending) this.prefetched = null;
      }
      // Another caller may have installed it while this one waited.
      if (this.current !== fresh) {
        this.current = fresh;
        this.next = fresh.firstProducerId;
      }
    }
  }

  private prefetch(): void {
    // Deferred, so a controller that cannot allocate yet fails this fetch, not the constructor.
    const pending = Promise.resolve(this.brokerId).then((id) => this.allocate(id));
    // A failed fetch is dropped: the next generate() that needs a block asks again.
    pending.catch(() => {
      if (this.prefetched === pending) this.prefetched = null;
    });
    this.prefetched = pending;
  }
}

const managers = new WeakMap<Controller, ProducerIdManager>();

/** The broker's one manager over `controller` (shared by InitProducerId and the transaction coordinator). */
export function producerIdManagerFor(controller: Controller, brokerId: number): ProducerIdManager {
  let manager = managers.get(controller);
  if (manager === undefined) {
    manager = new ProducerIdManager(brokerId, (id) => controller.allocateProducerIds(id));
    managers.set(controller, manager);
  }
  return manager;
}
