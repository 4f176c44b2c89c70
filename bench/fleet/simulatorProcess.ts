// The fleet simulator in its own process, so its CPU is not charged to the collector.
import { startFleetSimulator } from '../../test/fleetSimulator';

void (async () => {
  const agents = Number(process.argv[2] ?? 1000);
  const sim = await startFleetSimulator({ agents, sampleMs: 5000 });
  process.send?.({ url: sim.url, ids: sim.ids });
  process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
})();
