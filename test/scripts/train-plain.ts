// A plain script that trains with a loader thread and awaits the result: the process must stay
// alive until run() resolves (node test/scripts/train-plain.ts <codec> <out>).
import { Trainer } from '../../lib/unimrg/trainer';

const [codec, out] = process.argv.slice(2);
const t = new Trainer({ codec, out, steps: 40, batch: { size: 4, mode: 'mixed' }, data: { count: 32, workers: 1 } });
t.run().then((r) => { console.log(`resolved at step ${r.step}`); t.dispose(); });
